package store

import (
	"errors"
	"testing"
	"time"

	"portal/complaints"
)

// The store's side of the complaints desk that the API tests cannot reach
// on purpose: a confirmation token opens one case, once; a stale version
// is refused; the overdue claim is taken once.
func TestComplaintStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		s := db.Complaints()
		ctx := t.Context()
		now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		f := complaints.Form{Lang: "es", Domain: "store.example", Name: "Synthetic", Email: "s@example.org", Relation: "owner", Explanation: "Synthetic."}
		if err := s.AddSubmission(ctx, complaints.Submission{TokenHash: "t1", Form: f, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			complaints.Attempt{AddrKey: "k", Domain: f.Domain, At: now}); err != nil {
			t.Fatal(err)
		}
		if byAddr, byDomain, err := s.CountAttempts(ctx, "k", "store.example", now.Add(-time.Minute)); err != nil || byAddr != 1 || byDomain != 1 {
			t.Errorf("attempts: %d %d %v", byAddr, byDomain, err)
		}
		if n, err := s.CountOpen(ctx, f.Email, now); err != nil || n != 1 {
			t.Errorf("open before confirmation (the pending submission): %d %v", n, err)
		}
		taken := 0
		build := func(sub complaints.Submission) complaints.Case {
			taken++
			number := "CP-2026-AAAA" // taken below by the first case: the second draws again
			if taken > 1 {
				number = "CP-2026-BBBB"
			}
			return complaints.Case{Number: number, Lang: sub.Form.Lang, State: complaints.StateNew, Domain: sub.Form.Domain,
				Name: sub.Form.Name, Email: sub.Form.Email, Relation: sub.Form.Relation, Explanation: sub.Form.Explanation, OpenedAt: now}
		}
		c, err := s.OpenCase(ctx, "t1", now, build, "status1")
		if err != nil || c.ID == 0 || c.Number != "CP-2026-AAAA" {
			t.Fatalf("open case: %+v %v", c, err)
		}
		if _, err := s.OpenCase(ctx, "t1", now, build, "status2"); !errors.Is(err, complaints.ErrNotFound) {
			t.Errorf("second use of a token: %v", err)
		}
		if err := s.AddSubmission(ctx, complaints.Submission{TokenHash: "t2", Form: f, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			complaints.Attempt{AddrKey: "k", Domain: f.Domain, At: now}); err != nil {
			t.Fatal(err)
		}
		taken = 0
		c2, err := s.OpenCase(ctx, "t2", now, build, "status2")
		if err != nil || c2.Number != "CP-2026-BBBB" || taken != 2 {
			t.Errorf("a taken number is drawn again: %+v %v (drawn %d times)", c2, err, taken)
		}
		got, err := s.CaseByStatusToken(ctx, "status1")
		if err != nil || got.Number != c.Number || got.Version != 0 {
			t.Fatalf("case by token: %+v %v", got, err)
		}
		got.State = complaints.StateAssigned
		if err := s.UpdateCase(ctx, got); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateCase(ctx, got); !errors.Is(err, complaints.ErrConflict) {
			t.Errorf("update from a stale version: %v", err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.ClaimOverdueMail(ctx, c.ID, "decision", now); err != nil || ok != want {
				t.Errorf("claim %d: %v %v, want %v", i, ok, err, want)
			}
		}
	})
}
