package complaints

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"portal/account"
	"portal/mail"
)

// Reviewer is who acts in the queue, and from where.
type Reviewer struct {
	User *account.User
	IP   string
}

// QueueItem is a case as the queue lists it.
type QueueItem struct {
	Case
	// Overdue names the targets the case has missed: "acknowledgement",
	// "decision".
	Overdue []string
	// AcknowledgeBy and DecideBy are the target times.
	AcknowledgeBy, DecideBy time.Time
}

// Detail is a case with its messages and notes, for reviewers.
type Detail struct {
	QueueItem
	Entries []Entry
}

func (s *Service) require(ctx context.Context, r Reviewer, action, target string) error {
	if s.Handles(r.User) {
		return nil
	}
	if r.User != nil {
		_ = s.record(ctx, r.User, action, target, "denied", "not in group "+s.opts.HandlingGroup, r.IP)
	}
	return ErrForbidden
}

// Queue lists the cases for a reviewer.
func (s *Service) Queue(ctx context.Context, r Reviewer, f Filter) ([]QueueItem, error) {
	if err := s.require(ctx, r, "queue", ""); err != nil {
		return nil, err
	}
	if f.State != "" && !slices.Contains(States, f.State) {
		return nil, refuse("invalid_state", "state", "Unknown state; use one of "+strings.Join(States, ", ")+".")
	}
	cases, err := s.store.ListCases(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("complaints: list cases: %w", err)
	}
	now := s.opts.Now()
	out := make([]QueueItem, 0, len(cases))
	for _, c := range cases {
		out = append(out, s.item(c, now))
	}
	if err := s.record(ctx, r.User, "queue", "", "success", f.State, r.IP); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) item(c Case, now time.Time) QueueItem {
	it := QueueItem{Case: c, AcknowledgeBy: addWorkingDays(c.OpenedAt, s.opts.AcknowledgeDays),
		DecideBy: c.OpenedAt.Add(s.opts.DecideWithin)}
	if c.AcknowledgedAt.IsZero() && now.After(it.AcknowledgeBy) {
		it.Overdue = append(it.Overdue, "acknowledgement")
	}
	if c.DecidedAt.IsZero() && now.After(it.DecideBy) {
		it.Overdue = append(it.Overdue, "decision")
	}
	return it
}

// addWorkingDays adds n working days (Monday to Friday, UTC) to t.
func addWorkingDays(t time.Time, n int) time.Time {
	t = t.UTC()
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// Get returns a case with its messages and internal notes.
func (s *Service) Get(ctx context.Context, r Reviewer, number string) (Detail, error) {
	number = NormaliseNumber(number)
	if err := s.require(ctx, r, "view", number); err != nil {
		return Detail{}, err
	}
	c, err := s.store.CaseByNumber(ctx, number)
	if err != nil {
		return Detail{}, err
	}
	entries, err := s.store.Entries(ctx, c.ID)
	if err != nil {
		return Detail{}, fmt.Errorf("complaints: entries: %w", err)
	}
	if err := s.record(ctx, r.User, "view", c.Number, "success", "", r.IP); err != nil {
		return Detail{}, err
	}
	return Detail{QueueItem: s.item(c, s.opts.Now()), Entries: entries}, nil
}

// change loads a case, lets fn change it, saves it and audits the act. fn
// returns the audit detail.
func (s *Service) change(ctx context.Context, r Reviewer, number, action string, fn func(c *Case, now time.Time, mails *[]mail.Message) (string, error)) (Case, error) {
	number = NormaliseNumber(number)
	if err := s.require(ctx, r, action, number); err != nil {
		return Case{}, err
	}
	c, err := s.store.CaseByNumber(ctx, number)
	if err != nil {
		return Case{}, err
	}
	now := s.opts.Now()
	var mails []mail.Message
	detail, err := fn(&c, now, &mails)
	if err != nil {
		var ref *Refusal
		if errors.As(err, &ref) {
			_ = s.record(ctx, r.User, action, c.Number, "failure", ref.Code, r.IP)
		}
		return Case{}, err
	}
	if err := s.store.UpdateCase(ctx, c); err != nil {
		return Case{}, err
	}
	c.Version++
	// Mailed once the change is saved: a conflict sends nothing.
	for _, m := range mails {
		if err := s.send(ctx, m); err != nil {
			return Case{}, err
		}
	}
	if err := s.record(ctx, r.User, action, c.Number, "success", detail, r.IP); err != nil {
		return Case{}, err
	}
	return c, nil
}

// acknowledge brings a new case under review, and tells the complainant.
func (s *Service) acknowledge(c *Case, now time.Time, mails *[]mail.Message) {
	if !c.AcknowledgedAt.IsZero() {
		return
	}
	c.AcknowledgedAt = now
	if c.State == StateNew {
		c.State = StateAssigned
	}
	*mails = append(*mails, changeMail(*c, s.statusHint(*c), "under-review"))
}

func closedRefusal() *Refusal {
	return refuse("case_closed", "", "This case is decided and closed.")
}

// Assign gives a case to a reviewer of the handling group ("" or the
// reviewer's own ID to take it).
func (s *Service) Assign(ctx context.Context, r Reviewer, number, assigneeID string) (Case, error) {
	if assigneeID == "" && r.User != nil {
		assigneeID = r.User.ID
	}
	var assignee *account.User
	if s.Handles(r.User) {
		err := s.accounts.View(ctx, func(tx account.Tx) error {
			u, err := tx.UserByID(ctx, assigneeID)
			if err == nil {
				assignee = &u.User
			}
			return err
		})
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return Case{}, fmt.Errorf("complaints: assignee: %w", err)
		}
	}
	return s.change(ctx, r, number, "assign", func(c *Case, now time.Time, mails *[]mail.Message) (string, error) {
		if !c.Open() {
			return "", closedRefusal()
		}
		if !s.Handles(assignee) {
			return "", refuse("invalid_assignee", "assignee", "Cases can be assigned only to members of the handling group.")
		}
		c.AssigneeID = assignee.ID
		s.acknowledge(c, now, mails)
		return "to " + assignee.ID, nil
	})
}

// MaxNote bounds internal notes.
const MaxNote = 4000

// Note adds an internal note, which the complainant never sees.
func (s *Service) Note(ctx context.Context, r Reviewer, number, text string) (Case, error) {
	return s.change(ctx, r, number, "note", func(c *Case, now time.Time, mails *[]mail.Message) (string, error) {
		text = strings.TrimSpace(text)
		if text == "" || utf8.RuneCountInString(text) > MaxNote || !plain(text, true) {
			return "", refuse("invalid_note", "text", "A note is plain text of at most 4,000 characters.")
		}
		if !c.ErasedAt.IsZero() {
			return "", closedRefusal()
		}
		if err := s.store.AddEntry(ctx, Entry{CaseID: c.ID, Kind: InternalNote, AuthorID: r.User.ID, Text: text, At: now}); err != nil {
			return "", fmt.Errorf("complaints: add note: %w", err)
		}
		return "", nil
	})
}

// Message sends the complainant a message from a template, in the
// complainant's language, with an optional free text after it. The
// template "request-information" puts the case in awaiting-information
// until the complainant answers.
func (s *Service) Message(ctx context.Context, r Reviewer, number, template, extra string) (Case, error) {
	return s.change(ctx, r, number, "message", func(c *Case, now time.Time, mails *[]mail.Message) (string, error) {
		if !c.Open() {
			return "", closedRefusal()
		}
		if template == "request-information" && c.State == StateAwaitingConfirm {
			return "", refuse("decision_pending", "template", "A decision waits for confirmation: withdraw it before asking for information.")
		}
		body, ok := templateText(template, c.Lang)
		if !ok {
			return "", refuse("invalid_template", "template", "Unknown template; use one of "+strings.Join(TemplateNames(), ", ")+".")
		}
		if strings.TrimSpace(extra) != "" {
			t, err := checkMessage(extra, c.Domain)
			if err != nil {
				return "", err
			}
			body += "\n\n" + t
		}
		if err := s.store.AddEntry(ctx, Entry{CaseID: c.ID, Kind: FromReviewer, AuthorID: r.User.ID, Template: template, Text: body, At: now}); err != nil {
			return "", fmt.Errorf("complaints: add message: %w", err)
		}
		s.acknowledge(c, now, mails)
		if template == "request-information" {
			c.State = StateAwaitingInfo
		}
		*mails = append(*mails, changeMail(*c, s.statusHint(*c), "message"))
		return template, nil
	})
}

// Decision is what a reviewer decides.
type Decision struct {
	Outcome string
	Reason  string
	Text    string // free text, shown to the complainant
}

// MaxDecisionText bounds a decision's free text.
const MaxDecisionText = 2000

// Decide records a decision. "no-longer-listed" takes effect at once; an
// upheld or rejected decision waits for a second reviewer's confirmation.
func (s *Service) Decide(ctx context.Context, r Reviewer, number string, d Decision) (Case, error) {
	return s.change(ctx, r, number, "decide", func(c *Case, now time.Time, mails *[]mail.Message) (string, error) {
		if !c.Open() {
			return "", closedRefusal()
		}
		if !ValidReason(d.Outcome, d.Reason) {
			return "", refuse("invalid_decision", "reason", "Choose an outcome and one of its reasons from the list.")
		}
		text := strings.TrimSpace(d.Text)
		if utf8.RuneCountInString(text) > MaxDecisionText || !plain(text, true) {
			return "", refuse("invalid_decision", "text", "The decision's text is plain text of at most 2,000 characters.")
		}
		if text != "" {
			if ref := checkText(text, c.Domain, "text"); ref != nil {
				return "", ref
			}
		}
		s.acknowledge(c, now, mails)
		if d.Outcome == NoLongerListed {
			c.DecidedBy = r.User.ID
			s.close(c, d, now, mails)
			return "no-longer-listed/" + d.Reason, nil
		}
		c.ProposedOutcome, c.ProposedReason, c.ProposedText, c.ProposedBy = d.Outcome, d.Reason, text, r.User.ID
		c.State = StateAwaitingConfirm
		return "proposed " + d.Outcome + "/" + d.Reason, nil
	})
}

// Confirm a proposed decision: only a reviewer other than the one who
// proposed it.
func (s *Service) ConfirmDecision(ctx context.Context, r Reviewer, number string) (Case, error) {
	return s.change(ctx, r, number, "confirm_decision", func(c *Case, now time.Time, mails *[]mail.Message) (string, error) {
		if c.State != StateAwaitingConfirm {
			return "", refuse("nothing_to_confirm", "", "This case has no decision waiting for confirmation.")
		}
		if c.ProposedBy == r.User.ID {
			return "", refuse("second_reviewer_required", "", "Another member of the handling group must confirm this decision.")
		}
		d := Decision{Outcome: c.ProposedOutcome, Reason: c.ProposedReason, Text: c.ProposedText}
		c.DecidedBy, c.ConfirmedBy = c.ProposedBy, r.User.ID
		c.ProposedOutcome, c.ProposedReason, c.ProposedText, c.ProposedBy = "", "", "", ""
		s.close(c, d, now, mails)
		return d.Outcome + "/" + d.Reason, nil
	})
}

// Withdraw a proposed decision (either reviewer), returning the case to
// review.
func (s *Service) WithdrawDecision(ctx context.Context, r Reviewer, number string) (Case, error) {
	return s.change(ctx, r, number, "withdraw_decision", func(c *Case, now time.Time, mails *[]mail.Message) (string, error) {
		if c.State != StateAwaitingConfirm {
			return "", refuse("nothing_to_confirm", "", "This case has no decision waiting for confirmation.")
		}
		c.ProposedOutcome, c.ProposedReason, c.ProposedText, c.ProposedBy = "", "", "", ""
		c.State = StateAssigned
		return "", nil
	})
}

// close records the final decision; a decided case is closed.
func (s *Service) close(c *Case, d Decision, now time.Time, mails *[]mail.Message) {
	c.Outcome, c.Reason, c.DecisionText = d.Outcome, d.Reason, strings.TrimSpace(d.Text)
	c.State, c.DecidedAt, c.ClosedAt = StateDecided, now, now
	*mails = append(*mails, decisionMail(*c, s.statusHint(*c)))
}
