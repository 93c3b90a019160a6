// Package complaints runs the complaints procedure for domains on the
// "Worst of" list (issue 17): domain owners file a complaint, confirm it
// through a mailed link, follow their case through a private status link
// and exchange plain-text messages; the handling group reviews the queue,
// records decisions (upholding or rejecting needs a second reviewer), and
// is told about overdue cases; the statistics are published; personal data
// of closed cases is erased after the retention period. The portal does not
// hold the list itself: reviewers record what they decided.
//
// Nothing here speaks HTTP; package api decodes, calls and encodes.
package complaints

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"portal/account"
	"portal/audit"
	"portal/mail"
)

// States of a case in the review queue.
const (
	StateNew             = "new"                  // opened, nobody has acknowledged it
	StateAssigned        = "assigned"             // under review
	StateAwaitingInfo    = "awaiting-information" // a reviewer asked the complainant
	StateAwaitingConfirm = "awaiting-confirmation"
	StateDecided         = "decided" // decided and closed
)

// States lists the queue's states in the order a case goes through them.
var States = []string{StateNew, StateAssigned, StateAwaitingInfo, StateAwaitingConfirm, StateDecided}

// Outcomes of a decision.
const (
	Upheld         = "upheld"           // the domain will be removed from the list
	Rejected       = "rejected"         // the domain stays on the list
	NoLongerListed = "no-longer-listed" // the domain had already left the list
)

// Errors besides *Refusal.
var (
	ErrNotFound  = errors.New("complaints: no such case")
	ErrForbidden = errors.New("complaints: not a member of the handling group")
	ErrConflict  = errors.New("complaints: the case changed meanwhile")
)

// Case is one complaint. Personal fields are empty once erased.
type Case struct {
	ID     int64
	Number string // CP-2026-4F7K
	Lang   string // the complainant's language
	State  string

	Domain, Name, Organisation, Email, Relation, Explanation string

	AssigneeID string
	OpenedAt   time.Time
	// AcknowledgedAt is when the case came under review: its first
	// assignment or reviewer's message.
	AcknowledgedAt time.Time
	DecidedAt      time.Time
	ClosedAt       time.Time

	Outcome, Reason, DecisionText string
	DecidedBy, ConfirmedBy        string // user IDs

	// The decision waiting for a second reviewer.
	ProposedOutcome, ProposedReason, ProposedText, ProposedBy string

	AckOverdueMailedAt, DecisionOverdueMailedAt time.Time
	ErasedAt                                    time.Time

	// Version guards against two reviewers changing the case at once.
	Version int
}

// Open reports whether the complainant may still write.
func (c *Case) Open() bool { return c.ClosedAt.IsZero() }

// Entry kinds on a case.
const (
	FromComplainant = "complainant"
	FromReviewer    = "reviewer"
	InternalNote    = "note" // never shown to the complainant
)

// Entry is a message or an internal note.
type Entry struct {
	ID       int64
	CaseID   int64
	Kind     string
	AuthorID string // reviewer's user ID; "" for the complainant
	Template string
	Text     string
	At       time.Time
}

// Submission is a complaint waiting for its address to be confirmed.
type Submission struct {
	TokenHash string
	Form      Form
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Attempt is one accepted submission, kept for the rate limits: the
// client's address only as a keyed hash.
type Attempt struct {
	AddrKey string
	Domain  string
	At      time.Time
}

// Filter selects cases for the queue.
type Filter struct {
	State  string // "" for every state
	Oldest bool   // oldest first (default newest first)
}

// Store keeps complaints. The implementation is package store's.
type Store interface {
	AddSubmission(ctx context.Context, s Submission, a Attempt) error
	// CountAttempts counts attempts since a time from the address and for the
	// domain.
	CountAttempts(ctx context.Context, addrKey, domain string, since time.Time) (byAddr, byDomain int, err error)
	// CountOpen counts the open cases and unexpired submissions of an address.
	CountOpen(ctx context.Context, email string, now time.Time) (int, error)
	// OpenCase turns the unexpired submission whose token hashes to
	// tokenHash into a case in one transaction, calling build for the case
	// (again when the number it chose is taken). ErrNotFound when there is
	// no such submission.
	OpenCase(ctx context.Context, tokenHash string, now time.Time, build func(Submission) Case, statusHash string) (Case, error)
	CaseByNumber(ctx context.Context, number string) (Case, error)
	CaseByStatusToken(ctx context.Context, tokenHash string) (Case, error)
	// UpdateCase saves c if its stored version is c.Version, and stores
	// c.Version+1; ErrConflict otherwise.
	UpdateCase(ctx context.Context, c Case) error
	AddEntry(ctx context.Context, e Entry) error
	Entries(ctx context.Context, caseID int64) ([]Entry, error)
	ListCases(ctx context.Context, f Filter) ([]Case, error)
	// ClaimOverdueMail marks that the overdue mail of kind ("acknowledgement"
	// or "decision") was sent for a case; false when it already was.
	ClaimOverdueMail(ctx context.Context, caseID int64, kind string, now time.Time) (bool, error)
	// Erase removes the personal data of the cases closed before cutoff,
	// their messages and notes, expired submissions and old attempts.
	Erase(ctx context.Context, closedBefore, now time.Time) (int, error)
}

// Options configures the service.
type Options struct {
	// HandlingGroup is the access group whose members handle complaints
	// (default "access-blocking").
	HandlingGroup string
	// AcknowledgeDays is the target for acknowledging a case, in working
	// days (Monday to Friday, UTC; default 2).
	AcknowledgeDays int
	// DecideWithin is the target for deciding a case (default 30 days).
	DecideWithin time.Duration
	// Retention is how long the personal data of a closed case is kept
	// (default 12 months, PORTAL_COMPLAINT_RETENTION).
	Retention time.Duration
	// Rate limits: submissions per client address per hour (default 5), per
	// domain per day (default 3), open cases per address (default 3).
	PerAddressPerHour int
	PerDomainPerDay   int
	OpenPerEmail      int
	// PublicURL is the origin of links in mails.
	PublicURL string
	// SecretKey keys the hash of client addresses.
	SecretKey []byte
	Now       func() time.Time
	Logger    *slog.Logger
}

// Service runs the procedure.
type Service struct {
	store    Store
	accounts account.Store
	audit    *audit.Log
	outbox   *mail.Outbox
	opts     Options
	addrKey  []byte
}

// New returns the service. outbox may be nil only where nothing is mailed
// (tests of the statistics).
func New(st Store, accounts account.Store, log *audit.Log, outbox *mail.Outbox, opts Options) (*Service, error) {
	if st == nil || accounts == nil || log == nil {
		return nil, errors.New("complaints: store, accounts and audit log are required")
	}
	if len(opts.SecretKey) < 32 {
		return nil, errors.New("complaints: SecretKey must be at least 32 bytes")
	}
	if opts.HandlingGroup == "" {
		opts.HandlingGroup = "access-blocking"
	}
	if opts.AcknowledgeDays == 0 {
		opts.AcknowledgeDays = 2
	}
	if opts.DecideWithin == 0 {
		opts.DecideWithin = 30 * 24 * time.Hour
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.PerAddressPerHour == 0 {
		opts.PerAddressPerHour = 5
	}
	if opts.PerDomainPerDay == 0 {
		opts.PerDomainPerDay = 3
	}
	if opts.OpenPerEmail == 0 {
		opts.OpenPerEmail = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.PublicURL = strings.TrimSuffix(opts.PublicURL, "/")
	m := hmac.New(sha256.New, opts.SecretKey)
	m.Write([]byte("complaint-address"))
	return &Service{store: st, accounts: accounts, audit: log, outbox: outbox, opts: opts, addrKey: m.Sum(nil)}, nil
}

// DefaultRetention is 12 months.
const DefaultRetention = 365 * 24 * time.Hour

// ConfirmationTTL is how long a confirmation link works.
const ConfirmationTTL = 48 * time.Hour

// Handles reports whether u handles complaints: an enabled member of the
// handling group. It is the one rule for the queue.
func (s *Service) Handles(u *account.User) bool {
	return u != nil && !u.Disabled && u.InGroup(s.opts.HandlingGroup)
}

// leads returns the addresses of those told about overdue cases: the
// handling group's enabled leads (package groups), or, while the group has
// none, the enabled admins, so that a late case never goes unreported.
func (s *Service) leads(ctx context.Context) ([]string, error) {
	var out []string
	err := s.accounts.View(ctx, func(tx account.Tx) error {
		ids, _, err := tx.GroupLeads(ctx, s.opts.HandlingGroup)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return err
		}
		for _, id := range ids {
			u, err := tx.UserByID(ctx, id)
			if errors.Is(err, account.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !u.Disabled {
				out = append(out, u.Email)
			}
		}
		if len(out) > 0 {
			return nil
		}
		users, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Role == account.RoleAdmin && !u.Disabled {
				out = append(out, u.Email)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("complaints: leads: %w", err)
	}
	return out, nil
}

// Retention is how long the personal data of a closed case is kept.
func (s *Service) Retention() time.Duration { return s.opts.Retention }

// HandlingGroup names the group whose members handle complaints.
func (s *Service) HandlingGroup() string { return s.opts.HandlingGroup }

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is the stored form of a token, as sessions store theirs.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func wellFormedToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// numberAlphabet leaves out 0, 1, I, L, O and U: nothing a reader can take
// for something else.
const numberAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// newNumber returns a case number for a case opened at t: CP-2026-4F7K.
func newNumber(t time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	out := make([]byte, 4)
	for i, x := range b {
		out[i] = numberAlphabet[int(x)%len(numberAlphabet)]
	}
	return fmt.Sprintf("CP-%d-%s", t.UTC().Year(), out)
}

// NormaliseNumber upper-cases a typed case number.
func NormaliseNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// systemActor marks the background pass's entries; complainants act as
// nil, anonymous (their address is not written to the append-only log,
// which retention could not erase).
var systemActor = &account.User{}

func (s *Service) record(ctx context.Context, actor *account.User, action, target, outcome, detail, ip string) error {
	e := audit.Entry{Action: "complaint." + action, Target: target, Outcome: outcome, Detail: detail, IP: ip}
	switch {
	case actor == systemActor:
		e.Actor = audit.ActorSystem
	case actor != nil:
		e.Actor, e.ActorEmail = actor.ID, actor.Email
	}
	if err := s.audit.Record(ctx, e); err != nil {
		return fmt.Errorf("complaints: audit %s: %w", action, err)
	}
	return nil
}

func (s *Service) send(ctx context.Context, m mail.Message) error {
	if s.outbox == nil {
		return errors.New("complaints: no mail outbox")
	}
	if err := s.outbox.Enqueue(ctx, m); err != nil {
		return fmt.Errorf("complaints: queue mail: %w", err)
	}
	return nil
}
