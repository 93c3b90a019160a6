package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/portaltest"
	"portal/training"
)

// TestRenewalReminder: a member completes the graded module (validity 24
// months) in French; 30 days before the end the reminder pass mails them
// once (read from Mailpit), their progress says "expiring" (the banner),
// the trainer's numbers count the completion as expiring, and after the
// end verification says it expired. The clock is the portal's own.
func TestRenewalReminder(t *testing.T) {
	clock := portaltest.NewClock()
	p := portaltest.Start(t, portaltest.Options{Now: clock.Now, SecretRate: 1000})
	ctx := context.Background()
	key := gradedKey(t)
	member := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(member.Email, member.Password, member.TOTPSecret, clock.Now())
	for _, l := range []string{"01-an-international-problem", "02-police-cooperation", "03-the-role-of-the-industry", "04-responding-to-a-concern"} {
		c.JSON("POST", "/api/training/progress", map[string]any{"module": gradedModule, "lesson": l, "lang": "fr"}, 200, nil)
	}
	var sh attemptSheet
	c.JSON("POST", "/api/training/attempts", map[string]string{"module": gradedModule, "lang": "fr"}, 201, &sh)
	var res struct {
		Passed   bool
		Progress struct {
			Completion struct {
				Code, ExpiresAt, Validity string
				Issued                    bool
			}
		}
	}
	c.JSON("POST", "/api/training/attempts/"+sh.Attempt+"/answers", map[string]any{"answers": key}, 200, &res)
	comp := res.Progress.Completion
	issued := clock.Now().UTC()
	wantEnd := issued.AddDate(0, 24, 0).Format(time.DateOnly)
	if !res.Passed || !comp.Issued || comp.Validity != "current" || comp.ExpiresAt != wantEnd {
		t.Fatalf("completion: %+v, want valid until %s", res, wantEnd)
	}
	trainer := p.SeedUser(t, account.RoleTrainer, "trainers")

	// Nothing is due before the last 30 days.
	clock.Advance(issued.AddDate(0, 24, -31).Sub(clock.Now()))
	if n, err := p.Training.RemindRenewals(ctx); err != nil || n != 0 {
		t.Fatalf("31 days before the end: %d reminders, %v", n, err)
	}
	clock.Advance(2 * 24 * time.Hour)
	if n, err := p.Training.RemindRenewals(ctx); err != nil || n != 1 {
		t.Fatalf("29 days before the end: %d reminders, %v", n, err)
	}
	if n, err := p.Training.RemindRenewals(ctx); err != nil || n != 0 {
		t.Errorf("second pass: %d reminders, %v", n, err)
	}
	mails := p.Mail(t, member.Email)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "expire le "+wantEnd) ||
		!strings.Contains(mails[0].Text, portaltest.PublicURL+"/fr/training/"+gradedModule+"/") {
		t.Fatalf("reminder mails: %+v", mails)
	}
	prog, err := p.Training.Progress(ctx, &member.User, gradedModule)
	if err != nil || prog.Completion == nil || prog.Completion.Validity != training.ValidityExpiring {
		t.Errorf("progress 29 days before the end: %+v %v", prog, err)
	}
	st, err := p.Training.Stats(ctx, &trainer.User, gradedModule)
	if err != nil || st.Expiring != 1 || st.Current != 0 || st.Expired != 0 || st.ValidityMonths != 24 {
		t.Errorf("stats: %+v %v", st, err)
	}

	// Passing again within the last 30 days renews it from today, and the
	// next period gets its own reminder.
	renewedAt := clock.Now().UTC()
	sheet, err := p.Training.StartAttempt(ctx, &member.User, gradedModule, "fr", training.Client{IP: "192.0.2.20"})
	if err != nil {
		t.Fatal(err)
	}
	marked, err := p.Training.SubmitAttempt(ctx, &member.User, sheet.Attempt, key, training.Client{IP: "192.0.2.20"})
	if err != nil {
		t.Fatal(err)
	}
	if c := marked.Progress.Completion; c == nil || !c.Renewed || c.Validity != training.ValidityCurrent ||
		!c.ExpiresAt.Equal(renewedAt.AddDate(0, 24, 0)) {
		t.Fatalf("renewal: %+v", marked.Progress.Completion)
	}
	if n, err := p.Training.RemindRenewals(ctx); err != nil || n != 0 {
		t.Errorf("just after the renewal: %d reminders, %v", n, err)
	}
	clock.Advance(renewedAt.AddDate(0, 24, -31).Sub(clock.Now()))
	if n, err := p.Training.RemindRenewals(ctx); err != nil || n != 0 {
		t.Errorf("31 days before the renewed end: %d reminders, %v", n, err)
	}
	clock.Advance(2 * 24 * time.Hour)
	if n, err := p.Training.RemindRenewals(ctx); err != nil || n != 1 {
		t.Errorf("29 days before the renewed end: %d reminders, %v", n, err)
	}
	if mails := p.Mail(t, member.Email); len(mails) != 2 ||
		!strings.Contains(mails[1].Subject, renewedAt.AddDate(0, 24, 0).Format(time.DateOnly)) {
		t.Errorf("mails after the second period's reminder: %+v", mails)
	}

	clock.Advance(30 * 24 * time.Hour)
	v, err := p.Training.Verify(ctx, comp.Code)
	if err != nil || !v.Expired {
		t.Errorf("verification after the end: %+v %v", v, err)
	}
	st, err = p.Training.Stats(ctx, &trainer.User, gradedModule)
	if err != nil || st.Expired != 1 {
		t.Errorf("stats after the end: %+v %v", st, err)
	}
}
