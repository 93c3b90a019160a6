package complaints

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"portal/mail"
)

// Overdue finds the cases that have newly missed a target time and mails
// them to the handling group's leads, once per case and target: the claim
// in the store makes a second pass, or a second portal, send nothing again.
// It returns how many case targets it reported.
func (s *Service) Overdue(ctx context.Context) (int, error) {
	cases, err := s.store.ListCases(ctx, Filter{Oldest: true})
	if err != nil {
		return 0, fmt.Errorf("complaints: overdue: %w", err)
	}
	// Without a lead nobody would be told: claim nothing, and fail, so
	// that the pass tries again and the log says why.
	leads, err := s.leads(ctx)
	if err != nil {
		return 0, err
	}
	if len(leads) == 0 {
		return 0, errors.New("complaints: overdue: nobody to tell (the handling group has no enabled lead and there is no enabled admin)")
	}
	now := s.opts.Now()
	var lines []string
	for _, c := range cases {
		if !c.Open() {
			continue
		}
		it := s.item(c, now)
		for _, kind := range it.Overdue {
			claimed, err := s.store.ClaimOverdueMail(ctx, c.ID, kind, now)
			if err != nil {
				return 0, fmt.Errorf("complaints: overdue: %w", err)
			}
			if !claimed {
				continue
			}
			due := it.AcknowledgeBy
			if kind == "decision" {
				due = it.DecideBy
			}
			lines = append(lines, fmt.Sprintf("- %s: %s was due on %s (state: %s)", c.Number, kind, due.UTC().Format(dateFormat), c.State))
		}
	}
	if len(lines) == 0 {
		return 0, nil
	}
	text := "These complaints have missed a target time:\n\n" + strings.Join(lines, "\n") +
		"\n\nOpen the review queue on the members' portal to handle them.\n"
	for _, to := range leads {
		if err := s.send(ctx, mail.Message{To: to, Subject: "Overdue complaints: " + strconv.Itoa(len(lines)), Text: text}); err != nil {
			return 0, err
		}
	}
	if err := s.record(ctx, systemActor, "overdue", "", "success", fmt.Sprintf("%d overdue, mailed to %d leads", len(lines), len(leads)), ""); err != nil {
		return 0, err
	}
	return len(lines), nil
}

// EraseExpired erases the personal data of the cases closed longer ago
// than the retention period, with their messages and notes, and drops
// expired submissions. The case number, dates, outcome and reason code
// stay for the statistics.
func (s *Service) EraseExpired(ctx context.Context) (int, error) {
	now := s.opts.Now()
	n, err := s.store.Erase(ctx, now.Add(-s.opts.Retention), now)
	if err != nil {
		return 0, fmt.Errorf("complaints: erase: %w", err)
	}
	if n > 0 {
		if err := s.record(ctx, systemActor, "erase", "", "success", strconv.Itoa(n)+" cases", ""); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Run does the background pass (overdue mails, then erasure) every period
// until ctx ends. One goroutine owns it: `portal serve` starts it.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Overdue(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("complaints: overdue pass", "error", err)
		}
		if _, err := s.EraseExpired(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("complaints: retention pass", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
