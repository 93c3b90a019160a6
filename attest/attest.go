// Package attest is the yearly re-attestation of members: each member has
// a sponsor (the admin who invited them, or unknown) and a due date, one
// attestation period (PORTAL_ATTESTATION_PERIOD, a year by default) after
// joining or after the last confirmed attestation. Thirty and seven days
// before it the member is reminded by mail; the member states that they
// still serve in law enforcement, with organisation, role and country; the
// sponsor, a lead of one of the member's groups or an admin confirms, which
// starts a new period. A member whose period lapses is suspended by Run:
// sessions ended and sign-in refused (account.ErrSuspended, naming whom to
// contact), uploads kept. Admins and leads see who is due, overdue and
// suspended, and may extend a period once, with a reason. Every act is
// audited.
//
// Run is the one pass that reminds and suspends; `portal serve` runs it
// from one goroutine and `portal attestation run` runs it once. It takes
// the time as an argument so that tests set the clock.
package attest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/groups"
	"portal/mail"
)

// Audit actions of this package.
const (
	ActionClaim    = "attestation.claim"
	ActionConfirm  = "attestation.confirm"
	ActionExtend   = "attestation.extend"
	ActionRemind   = "attestation.remind"
	ActionSuspend  = "attestation.suspend"
	ActionRejected = "attestation.reject"
)

// DefaultPeriod is the attestation period when none is configured.
const DefaultPeriod = 365 * 24 * time.Hour

// Reminder times before the due date, and the extension's length.
const (
	FirstReminder  = 30 * 24 * time.Hour
	SecondReminder = 7 * 24 * time.Hour
	Extension      = 30 * 24 * time.Hour
	maxText        = 200
)

// Status is where a member stands.
type Status string

// Statuses.
const (
	Current   Status = "current"   // more than 30 days before the due date
	Due       Status = "due"       // within 30 days of it
	Overdue   Status = "overdue"   // past it, not yet suspended (a reminder's 7 days still run)
	Suspended Status = "suspended" // lapsed
)

// Claim is what a member states when attesting.
type Claim struct {
	Serving      bool   // still serving in law enforcement
	Organisation string // 1–200 bytes
	Role         string
	Country      string // ISO 3166-1 alpha-2
}

// Record is a member's attestation state with what the rules need of the
// member.
type Record struct {
	UserID, Email, DisplayName string
	Role                       account.Role
	Groups                     []string
	Disabled                   bool
	SponsorID                  string // "" when unknown
	Since                      time.Time
	ExtendedUntil              time.Time // zero: not extended in this period
	ExtendedBy, ExtensionNote  string
	Claim                      *Claim // nil: none pending
	ClaimedAt                  time.Time
	Reminded                   int // 0 none, 1 the first reminder, 2 the second
	RemindedAt                 time.Time
	SuspendedAt                time.Time // zero unless suspended
}

// Store keeps attestations. Records lists every member, with the defaults
// (since = joining, sponsor unknown) for members without a stored row.
type Store interface {
	AttestationRecords(ctx context.Context) ([]Record, error)
	AttestationRecord(ctx context.Context, userID string) (Record, error) // account.ErrNotFound
	// SaveAttestation writes r's attestation fields.
	SaveAttestation(ctx context.Context, r *Record) error
	// SwapAttestation writes next only if the stored attestation still
	// has prev's period start, extension, reminders, suspension and
	// account state, and ends the member's sessions in the same
	// transaction when next suspends them. It reports whether it wrote and
	// how many sessions it ended.
	SwapAttestation(ctx context.Context, prev, next *Record) (bool, int, error)
}

// Options configures a Service.
type Options struct {
	Period    time.Duration // default DefaultPeriod
	Now       func() time.Time
	Mail      *mail.Outbox // reminders and suspension notices; nil sends none
	PublicURL string       // for links in mail
	Logger    *slog.Logger
}

// Service is the attestation domain logic.
type Service struct {
	st     Store
	groups *groups.Service
	audit  *audit.Log
	opts   Options
}

// New returns a Service.
func New(st Store, gs *groups.Service, log *audit.Log, opts Options) (*Service, error) {
	if st == nil || gs == nil || log == nil {
		return nil, errors.New("attest: store, groups and audit log are required")
	}
	if opts.Period <= 0 {
		opts.Period = DefaultPeriod
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{st: st, groups: gs, audit: log, opts: opts}, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Round(0) }

// DueAt is when r's period ends: one period after Since, or the
// extension's end.
func (s *Service) DueAt(r Record) time.Time {
	if !r.ExtendedUntil.IsZero() {
		return r.ExtendedUntil
	}
	return r.Since.Add(s.opts.Period)
}

// suspendAt is when Run suspends r: at the due date, but never before the
// last reminder is SecondReminder old, so that nobody is suspended without
// a week's notice (members who joined long before re-attestation existed
// are reminded first, not suspended on the first pass).
func (s *Service) suspendAt(r Record) time.Time {
	at := r.RemindedAt.Add(SecondReminder)
	if due := s.DueAt(r); due.After(at) {
		at = due
	}
	return at
}

// StatusAt says where r stands at now.
func (s *Service) StatusAt(r Record, now time.Time) Status {
	due := s.DueAt(r)
	switch {
	case !r.SuspendedAt.IsZero():
		return Suspended
	case !now.Before(due):
		return Overdue
	case !now.Before(due.Add(-FirstReminder)):
		return Due
	}
	return Current
}

// View is a member's attestation as shown to the member, their sponsor,
// leads and admins.
type View struct {
	UserID, DisplayName, Email string
	Status                     Status
	DueAt                      time.Time
	SponsorID, Sponsor         string // Sponsor: display name, "" when unknown
	Claim                      *Claim
	ClaimedAt                  time.Time
	Extended                   bool
	ExtensionNote              string
	SuspendedAt                time.Time
}

func (s *Service) view(r Record, now time.Time, names map[string]string) View {
	return View{UserID: r.UserID, DisplayName: r.DisplayName, Email: r.Email, Status: s.StatusAt(r, now),
		DueAt: s.DueAt(r), SponsorID: r.SponsorID, Sponsor: names[r.SponsorID], Claim: r.Claim, ClaimedAt: r.ClaimedAt,
		Extended: !r.ExtendedUntil.IsZero(), ExtensionNote: r.ExtensionNote, SuspendedAt: r.SuspendedAt}
}

// Mine returns u's own attestation.
func (s *Service) Mine(ctx context.Context, u *account.User) (View, error) {
	r, err := s.st.AttestationRecord(ctx, u.ID)
	if err != nil {
		return View{}, fmt.Errorf("attest: %w", err)
	}
	names := map[string]string{}
	if r.SponsorID != "" {
		if sp, err := s.st.AttestationRecord(ctx, r.SponsorID); err == nil {
			names[sp.UserID] = sp.DisplayName
		}
	}
	return s.view(r, s.now(), names), nil
}

// overseer reports whether actor may confirm or extend r's attestation:
// an enabled admin, r's sponsor, or a lead of one of r's groups. Nobody
// oversees themselves.
func overseer(actor *account.User, r Record, led []string) bool {
	if actor == nil || actor.Disabled || actor.ID == r.UserID {
		return false
	}
	if actor.Role == account.RoleAdmin || (r.SponsorID != "" && actor.ID == r.SponsorID) {
		return true
	}
	return slices.ContainsFunc(r.Groups, func(g string) bool { return slices.Contains(led, g) })
}

// List returns the attestations actor oversees: every member's for an
// admin, else those of the members of the groups actor leads and of the
// members actor sponsors; by due date.
func (s *Service) List(ctx context.Context, actor *account.User) ([]View, error) {
	led, err := s.groups.Led(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	rs, err := s.st.AttestationRecords(ctx)
	if err != nil {
		return nil, fmt.Errorf("attest: list: %w", err)
	}
	names := map[string]string{}
	for _, r := range rs {
		names[r.UserID] = r.DisplayName
	}
	now := s.now()
	var out []View
	for _, r := range rs {
		if !r.Disabled && overseer(actor, r, led) {
			out = append(out, s.view(r, now, names))
		}
	}
	slices.SortFunc(out, func(a, b View) int { return a.DueAt.Compare(b.DueAt) })
	return out, nil
}

// Attest records u's statement for confirmation.
func (s *Service) Attest(ctx context.Context, u *account.User, cl Claim, c account.Client) (View, error) {
	for field, v := range map[string]*string{"organisation": &cl.Organisation, "role": &cl.Role, "country": &cl.Country} {
		*v = strings.TrimSpace(*v)
		if *v == "" || len(*v) > maxText || !utf8.ValidString(*v) {
			return View{}, &account.InputError{Field: field, Reason: fmt.Sprintf("1 to %d bytes", maxText)}
		}
	}
	if len(cl.Country) != 2 || strings.ToUpper(cl.Country) != cl.Country {
		return View{}, &account.InputError{Field: "country", Reason: "an ISO 3166-1 alpha-2 code in capitals, such as FR"}
	}
	r, err := s.st.AttestationRecord(ctx, u.ID)
	if err != nil {
		return View{}, fmt.Errorf("attest: %w", err)
	}
	r.Claim, r.ClaimedAt = &cl, s.now()
	if err := s.st.SaveAttestation(ctx, &r); err != nil {
		return View{}, fmt.Errorf("attest: claim: %w", err)
	}
	if err := s.record(ctx, u, ActionClaim, u.ID, fmt.Sprintf("serving=%t organisation=%q role=%q country=%s",
		cl.Serving, cl.Organisation, cl.Role, cl.Country), c); err != nil {
		return View{}, err
	}
	return s.Mine(ctx, u)
}

// Confirm confirms member id's attestation and starts a new period; it
// lifts a suspension. The member must have stated that they still serve,
// unless suspended (then they cannot sign in, and the confirmer vouches
// for them, on the record).
func (s *Service) Confirm(ctx context.Context, actor *account.User, id string, c account.Client) (View, error) {
	r, err := s.overseen(ctx, actor, id, ActionConfirm, c)
	if err != nil {
		return View{}, err
	}
	suspended := !r.SuspendedAt.IsZero()
	switch {
	case r.Claim == nil && !suspended:
		return View{}, fmt.Errorf("%w: the member has not attested yet", account.ErrConflict)
	case r.Claim != nil && !r.Claim.Serving:
		return View{}, fmt.Errorf("%w: the member stated they no longer serve in law enforcement", account.ErrConflict)
	}
	now := s.now()
	detail := fmt.Sprintf("new period from %s", now.Format(time.DateOnly))
	if suspended {
		detail += "; suspension lifted"
	}
	if r.Claim == nil {
		detail += "; confirmed without the member's statement"
	}
	r.Since, r.ExtendedUntil, r.ExtendedBy, r.ExtensionNote = now, time.Time{}, "", ""
	r.Claim, r.ClaimedAt, r.Reminded, r.RemindedAt, r.SuspendedAt = nil, time.Time{}, 0, time.Time{}, time.Time{}
	return s.save(ctx, actor, r, ActionConfirm, detail, c)
}

// Extend moves member id's due date Extension later (from now if already
// past), once per period, with a reason; it lifts a suspension.
func (s *Service) Extend(ctx context.Context, actor *account.User, id, reason string, c account.Client) (View, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > maxText || !utf8.ValidString(reason) {
		return View{}, &account.InputError{Field: "reason", Reason: fmt.Sprintf("1 to %d bytes", maxText)}
	}
	r, err := s.overseen(ctx, actor, id, ActionExtend, c)
	if err != nil {
		return View{}, err
	}
	if !r.ExtendedUntil.IsZero() {
		return View{}, fmt.Errorf("%w: this period was extended once already", account.ErrConflict)
	}
	now := s.now()
	until := s.DueAt(r)
	if until.Before(now) {
		until = now
	}
	until = until.Add(Extension)
	lifted := !r.SuspendedAt.IsZero()
	r.ExtendedUntil, r.ExtendedBy, r.ExtensionNote, r.SuspendedAt = until, actor.ID, reason, time.Time{}
	// The reminders start again before the new date.
	r.Reminded, r.RemindedAt = 0, time.Time{}
	detail := fmt.Sprintf("due %s; reason %q", until.Format(time.DateOnly), reason)
	if lifted {
		detail += "; suspension lifted"
	}
	return s.save(ctx, actor, r, ActionExtend, detail, c)
}

func (s *Service) overseen(ctx context.Context, actor *account.User, id, action string, c account.Client) (Record, error) {
	r, err := s.st.AttestationRecord(ctx, id)
	if errors.Is(err, account.ErrNotFound) {
		return Record{}, account.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("attest: %w", err)
	}
	led, err := s.groups.Led(ctx, actor.ID)
	if err != nil {
		return Record{}, err
	}
	if !overseer(actor, r, led) {
		e := audit.Entry{Actor: actor.ID, ActorEmail: actor.Email, Action: audit.ActionAccessDenied, Target: id,
			IP: c.IP, Outcome: audit.OutcomeDenied, Detail: action + ": neither sponsor, lead of the member's groups nor admin"}
		_ = s.audit.Record(ctx, e) // the refusal stands whether or not it is written
		return Record{}, account.ErrForbidden
	}
	return r, nil
}

func (s *Service) save(ctx context.Context, actor *account.User, r Record, action, detail string, c account.Client) (View, error) {
	if err := s.st.SaveAttestation(ctx, &r); err != nil {
		return View{}, fmt.Errorf("attest: %s: %w", action, err)
	}
	if err := s.record(ctx, actor, action, r.UserID, detail, c); err != nil {
		return View{}, err
	}
	return s.view(r, s.now(), map[string]string{}), nil
}

func (s *Service) record(ctx context.Context, actor *account.User, action, target, detail string, c account.Client) error {
	e := audit.Entry{Actor: audit.ActorSystem, Action: action, Target: target, IP: c.IP, Outcome: audit.OutcomeSuccess, Detail: detail}
	if actor != nil {
		e.Actor, e.ActorEmail = actor.ID, actor.Email
	}
	if err := s.audit.Record(ctx, e); err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	return nil
}

// Summary says what one Run did.
type Summary struct {
	Reminded, Suspended int
}

// Run is the pass that reminds and suspends, at now: the first reminder
// FirstReminder before the due date, the second SecondReminder before it,
// and suspension at the due date once the second reminder is a week old.
// Each act is stored before the next member is looked at, so a pass that
// stops half-way is finished by the next one, which sends nothing twice;
// an act is stored only if the member's attestation has not changed since
// the pass read it (SwapAttestation), so two passes at once, or a pass and
// a confirmation, never act twice or on stale state.
func (s *Service) Run(ctx context.Context, now time.Time) (Summary, error) {
	now = now.UTC().Round(0)
	rs, err := s.st.AttestationRecords(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("attest: run: %w", err)
	}
	var (
		sum  Summary
		byID map[string]Record // the records by member, for the contacts of suspensions
	)
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if r.Disabled || !r.SuspendedAt.IsZero() {
			continue
		}
		due := s.DueAt(r)
		next := r
		switch {
		case r.Reminded == 2 && !now.Before(s.suspendAt(r)):
			next.SuspendedAt = now
			written, n, err := s.st.SwapAttestation(ctx, &r, &next)
			if err != nil {
				return sum, fmt.Errorf("attest: suspend %s: %w", r.UserID, err)
			}
			if !written {
				continue // changed since it was read: the next pass decides
			}
			if err := s.record(ctx, nil, ActionSuspend, r.UserID, fmt.Sprintf("due %s; %d sessions ended", due.Format(time.DateOnly), n), account.Client{}); err != nil {
				return sum, err
			}
			if byID == nil {
				byID = make(map[string]Record, len(rs))
				for _, x := range rs {
					byID[x.UserID] = x
				}
			}
			contact, err := s.contact(ctx, byID, r)
			if err != nil {
				return sum, err
			}
			s.send(ctx, suspendedMail(r, contact))
			sum.Suspended++
		case r.Reminded < 2 && !now.Before(due.Add(-SecondReminder)),
			r.Reminded < 1 && !now.Before(due.Add(-FirstReminder)):
			stage := 1
			if !now.Before(due.Add(-SecondReminder)) {
				stage = 2
			}
			next.Reminded, next.RemindedAt = stage, now
			written, _, err := s.st.SwapAttestation(ctx, &r, &next)
			if err != nil {
				return sum, fmt.Errorf("attest: remind %s: %w", r.UserID, err)
			}
			if !written {
				continue
			}
			if err := s.record(ctx, nil, ActionRemind, r.UserID, fmt.Sprintf("reminder %d; due %s", stage, due.Format(time.DateOnly)), account.Client{}); err != nil {
				return sum, err
			}
			s.send(ctx, s.reminderMail(r, due, now))
			sum.Reminded++
		}
	}
	return sum, nil
}

// RunEvery runs Run at start and then every interval until ctx ends; the
// owner of `portal serve` runs it in its one goroutine for this.
func (s *Service) RunEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if sum, err := s.Run(ctx, s.opts.Now()); err != nil && ctx.Err() == nil {
			s.opts.Logger.ErrorContext(ctx, "attestation pass", "error", err)
		} else if sum != (Summary{}) {
			s.opts.Logger.InfoContext(ctx, "attestation pass", "reminded", sum.Reminded, "suspended", sum.Suspended)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// contact says whom the suspended member r should contact: their sponsor
// when known and enabled, else the leads of their groups, else an admin.
// byID holds the pass's records by member.
func (s *Service) contact(ctx context.Context, byID map[string]Record, r Record) (string, error) {
	if sp, ok := byID[r.SponsorID]; ok && !sp.Disabled && sp.SuspendedAt.IsZero() {
		return fmt.Sprintf("%s <%s>, who sponsored your membership", sp.DisplayName, sp.Email), nil
	}
	gs, err := s.groups.List(ctx)
	if err != nil {
		return "", err
	}
	var leads []string
	for _, g := range gs {
		if g.ID == access.Members || !slices.Contains(r.Groups, g.ID) {
			continue
		}
		for _, l := range g.Leads {
			if lr, ok := byID[l]; ok && !lr.Disabled && lr.SuspendedAt.IsZero() {
				leads = append(leads, fmt.Sprintf("%s <%s>", lr.DisplayName, lr.Email))
			}
		}
	}
	slices.Sort(leads)
	if leads = slices.Compact(leads); len(leads) > 0 {
		return strings.Join(leads, " or ") + ", who lead your groups", nil
	}
	return "an administrator of the portal", nil
}

func (s *Service) send(ctx context.Context, m mail.Message) {
	if s.opts.Mail == nil {
		s.opts.Logger.WarnContext(ctx, "attest: no mailer; mail not sent", "subject", m.Subject)
		return
	}
	if err := s.opts.Mail.Enqueue(context.WithoutCancel(ctx), m); err != nil {
		s.opts.Logger.ErrorContext(ctx, "attest: queue mail", "subject", m.Subject, "error", err)
	}
}

func (s *Service) reminderMail(r Record, due, now time.Time) mail.Message {
	days := int(due.Sub(now).Hours() / 24)
	when := fmt.Sprintf("on %s (in %d days)", due.Format("2 January 2006"), days)
	if !now.Before(due) {
		when = fmt.Sprintf("on %s, which has passed; you will be suspended in 7 days without it", due.Format("2 January 2006"))
	}
	return mail.Message{To: r.Email, Subject: "Your yearly attestation is due",
		Text: fmt.Sprintf("Hello %s,\n\nYour yearly attestation of membership is due %s.\n\n"+
			"Please sign in and confirm that you still serve in law enforcement, with your organisation, role and country:\n%s/en/account/\n\n"+
			"Your sponsor or a lead of one of your groups then confirms it. Without it, your membership is suspended at the due date; your uploads are kept.\n",
			r.DisplayName, when, strings.TrimRight(s.opts.PublicURL, "/"))}
}

func suspendedMail(r Record, contact string) mail.Message {
	return mail.Message{To: r.Email, Subject: "Your membership is suspended",
		Text: fmt.Sprintf("Hello %s,\n\nYour yearly attestation of membership lapsed, so your membership is suspended: "+
			"your sessions were ended and you cannot sign in. Your uploads are kept.\n\n"+
			"To be restored, contact %s.\n", r.DisplayName, contact)}
}
