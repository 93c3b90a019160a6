package complaints

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Client is where a request came from, for the rate limits and the audit
// log. The complainant's address is never stored as such: only a keyed
// hash, for an hour's rate limit.
type Client struct {
	IP string
}

func (s *Service) addrKeyOf(ip string) string {
	m := hmac.New(sha256.New, s.addrKey)
	m.Write([]byte(ip))
	return hex.EncodeToString(m.Sum(nil))
}

// File takes a complaint: it checks the form and the limits, keeps it as a
// submission and mails the confirmation link. The case opens only when the
// link is followed, so nobody can file in someone else's name.
func (s *Service) File(ctx context.Context, f Form, c Client) error {
	f, err := f.Check()
	if err != nil {
		return err
	}
	now := s.opts.Now()
	key := s.addrKeyOf(c.IP)
	byAddr, _, err := s.store.CountAttempts(ctx, key, f.Domain, now.Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("complaints: count attempts: %w", err)
	}
	_, byDomain, err := s.store.CountAttempts(ctx, key, f.Domain, now.Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("complaints: count attempts: %w", err)
	}
	if byAddr >= s.opts.PerAddressPerHour || byDomain >= s.opts.PerDomainPerDay {
		_ = s.record(ctx, nil, "file", "", "denied", "rate limit", "")
		return refuse("rate_limited", "", "Too many complaints were sent from this address or about this domain recently; try again tomorrow.")
	}
	open, err := s.store.CountOpen(ctx, f.Email, now)
	if err != nil {
		return fmt.Errorf("complaints: count open cases: %w", err)
	}
	if open >= s.opts.OpenPerEmail {
		_ = s.record(ctx, nil, "file", "", "denied", "open cases cap", "")
		return refuse("too_many_open", "email", "This e-mail address already has as many open complaints as allowed; wait for a decision on them.")
	}
	token := newToken()
	sub := Submission{TokenHash: hashToken(token), Form: f, CreatedAt: now, ExpiresAt: now.Add(ConfirmationTTL)}
	if err := s.store.AddSubmission(ctx, sub, Attempt{AddrKey: key, Domain: f.Domain, At: now}); err != nil {
		return fmt.Errorf("complaints: keep submission: %w", err)
	}
	link := s.opts.PublicURL + "/" + f.Lang + "/complaints/confirm/?token=" + url.QueryEscape(token)
	if err := s.send(ctx, confirmationMail(f, link, sub.ExpiresAt)); err != nil {
		return err
	}
	return s.record(ctx, nil, "file", "", "success", "confirmation mailed", "")
}

// Opened is what confirming returns: the case and its status link, which
// is also mailed.
type Opened struct {
	Case        Case
	StatusLink  string
	StatusToken string
}

// Confirm opens the case of the submission the token belongs to and mails
// the case number and private status link. A token works once.
func (s *Service) Confirm(ctx context.Context, token string) (Opened, error) {
	if !wellFormedToken(token) {
		return Opened{}, invalidToken()
	}
	now := s.opts.Now()
	status := newToken()
	c, err := s.store.OpenCase(ctx, hashToken(token), now, func(sub Submission) Case {
		f := sub.Form
		return Case{Number: newNumber(now), Lang: f.Lang, State: StateNew, Domain: f.Domain, Name: f.Name,
			Organisation: f.Organisation, Email: f.Email, Relation: f.Relation, Explanation: f.Explanation, OpenedAt: now}
	}, hashToken(status))
	if errors.Is(err, ErrNotFound) {
		_ = s.record(ctx, nil, "confirm", "", "failure", "unknown or used token", "")
		return Opened{}, invalidToken()
	}
	if err != nil {
		return Opened{}, fmt.Errorf("complaints: open case: %w", err)
	}
	link := s.statusLink(c.Lang, status)
	if err := s.send(ctx, openedMail(c, link)); err != nil {
		return Opened{}, err
	}
	if err := s.record(ctx, nil, "open", c.Number, "success", "", ""); err != nil {
		return Opened{}, err
	}
	return Opened{Case: c, StatusLink: link, StatusToken: status}, nil
}

func (s *Service) statusLink(lang, token string) string {
	return s.opts.PublicURL + "/" + lang + "/complaints/status/?token=" + url.QueryEscape(token)
}

func invalidToken() *Refusal {
	return refuse("invalid_token", "token", "This link is not valid: it may have expired or been used already.")
}

// Status is what the complainant sees of a case: no internal note, no
// reviewer's name.
type Status struct {
	Number, Lang, State, Domain string
	OpenedAt, AcknowledgedAt    time.Time
	DecidedAt, ClosedAt         time.Time
	Outcome, Reason, Decision   string
	Open                        bool
	Messages                    []StatusMessage
}

// StatusMessage is a message as the complainant sees it.
type StatusMessage struct {
	FromComplainant bool
	Text            string
	At              time.Time
}

// StatusOf returns the case the status token belongs to.
func (s *Service) StatusOf(ctx context.Context, token string) (Status, error) {
	c, err := s.byStatusToken(ctx, token)
	if err != nil {
		return Status{}, err
	}
	entries, err := s.store.Entries(ctx, c.ID)
	if err != nil {
		return Status{}, fmt.Errorf("complaints: entries: %w", err)
	}
	st := Status{Number: c.Number, Lang: c.Lang, State: c.State, Domain: c.Domain, OpenedAt: c.OpenedAt,
		AcknowledgedAt: c.AcknowledgedAt, DecidedAt: c.DecidedAt, ClosedAt: c.ClosedAt, Open: c.Open()}
	if c.State == StateDecided {
		st.Outcome, st.Reason, st.Decision = c.Outcome, c.Reason, c.DecisionText
	}
	for _, e := range entries {
		if e.Kind == InternalNote {
			continue
		}
		st.Messages = append(st.Messages, StatusMessage{FromComplainant: e.Kind == FromComplainant, Text: e.Text, At: e.At})
	}
	return st, nil
}

func (s *Service) byStatusToken(ctx context.Context, token string) (Case, error) {
	if !wellFormedToken(token) {
		return Case{}, invalidToken()
	}
	c, err := s.store.CaseByStatusToken(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		_ = s.record(ctx, nil, "status", "", "failure", "unknown status token", "")
		return Case{}, invalidToken()
	}
	if err != nil {
		return Case{}, fmt.Errorf("complaints: case by token: %w", err)
	}
	return c, nil
}

// Reply adds the complainant's message to their open case. A case awaiting
// information goes back to its reviewer.
func (s *Service) Reply(ctx context.Context, token, text string) (Status, error) {
	c, err := s.byStatusToken(ctx, token)
	if err != nil {
		return Status{}, err
	}
	if !c.Open() {
		return Status{}, refuse("case_closed", "", "This case is closed: no more messages can be added.")
	}
	text, err = checkMessage(text, c.Domain)
	if err != nil {
		return Status{}, err
	}
	now := s.opts.Now()
	if err := s.store.AddEntry(ctx, Entry{CaseID: c.ID, Kind: FromComplainant, Text: text, At: now}); err != nil {
		return Status{}, fmt.Errorf("complaints: add message: %w", err)
	}
	if c.State == StateAwaitingInfo {
		c.State = StateAssigned
		if err := s.store.UpdateCase(ctx, c); err != nil {
			return Status{}, fmt.Errorf("complaints: update case: %w", err)
		}
	}
	if err := s.record(ctx, nil, "message", c.Number, "success", "from complainant", ""); err != nil {
		return Status{}, err
	}
	return s.StatusOf(ctx, token)
}

// statusHint is what change mails say instead of the status link, which
// only the first mail carries (the token is stored hashed and cannot be
// mailed again).
func (s *Service) statusHint(c Case) string { return s.opts.PublicURL + "/" + c.Lang + "/complaints/" }
