package account_test

import (
	"errors"
	"testing"

	"portal/account"
)

// A session counts as stepped up for StepUpWindow after a TOTP login or a
// step-up, never after a recovery-code login, and never with a code the
// account has accepted before.
func TestStepUpWindowAndReplay(t *testing.T) {
	e := newEnv(t)
	admin, secret := e.seed("admin@example.org", account.RoleAdmin)
	tok := e.login(admin.Email, secret)
	u, sess := e.mustAuth(tok)
	if !e.svc.SteppedUp(sess) {
		t.Error("not stepped up right after a TOTP login")
	}
	e.clock.Advance(account.StepUpWindow)
	if _, sess = e.mustAuth(tok); e.svc.SteppedUp(sess) {
		t.Error("still stepped up a whole window after the login")
	}
	// The code of the login's time step was accepted already.
	e.clock.Advance(-account.StepUpWindow)
	if _, err := e.svc.StepUp(e.ctx(), u, sess, account.TOTPCode(secret, e.clock.Now()), e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("step-up with the login's code: %v, want ErrInvalidCredentials", err)
	}
	e.clock.Advance(account.StepUpWindow)
	code := account.TOTPCode(secret, e.clock.Now())
	until, err := e.svc.StepUp(e.ctx(), u, sess, code, e.c)
	if err != nil || !until.Equal(e.clock.Now().Add(account.StepUpWindow)) {
		t.Fatalf("StepUp = %v, %v", until, err)
	}
	if _, sess = e.mustAuth(tok); !e.svc.SteppedUp(sess) {
		t.Error("not stepped up after StepUp")
	}
	// Another session of the same account cannot use the code again.
	other := e.login(admin.Email, secret)
	_, otherSess := e.mustAuth(other)
	e.clock.Advance(account.StepUpWindow)
	if _, err := e.svc.StepUp(e.ctx(), u, otherSess, code, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("code reused on another session: %v, want ErrInvalidCredentials", err)
	}
	if rec := e.record(admin.ID); rec.Failures != 1 {
		t.Errorf("failures after a refused step-up = %d, want 1", rec.Failures)
	}
	if !contains(e.actions(), "mfa.step_up:success") || !contains(e.actions(), "mfa.step_up:failure") {
		t.Errorf("audit %v lacks the step-ups", e.actions())
	}
}

// A reset of an admin waits for a second admin who is neither the asker nor
// the admin concerned, and whose asker is still an enabled admin.
func TestAdminResetNeedsASecondAdmin(t *testing.T) {
	e := newEnv(t)
	first, _ := e.seed("first@example.org", account.RoleAdmin)
	second, _ := e.seed("second@example.org", account.RoleAdmin)
	third, _ := e.seed("third@example.org", account.RoleAdmin)
	target, secret := e.seed("target@example.org", account.RoleAdmin)
	tok := e.login(target.Email, secret)

	res, err := e.svc.ResetMFA(e.ctx(), &first, target.ID, e.c)
	if err != nil || res.Done || res.Token != "" || res.Pending == nil {
		t.Fatalf("ResetMFA(admin) = %+v, %v; want a pending request and no token", res, err)
	}
	e.mustAuth(tok)
	for name, who := range map[string]*account.User{"asker": &first, "admin concerned": &target} {
		if _, err := e.svc.ApproveReset(e.ctx(), who, res.Pending.ID, e.c); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("approval by the %s: %v, want ErrForbidden", name, err)
		}
	}
	// The asker loses the admin role: the request cannot be approved.
	if _, err := e.svc.UpdateUser(e.ctx(), &second, first.ID, ptr(account.RoleMember), nil, e.c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ApproveReset(e.ctx(), &second, res.Pending.ID, e.c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("approval of a demoted asker's request: %v, want ErrConflict", err)
	}
	e.mustAuth(tok)

	res, err = e.svc.ResetMFA(e.ctx(), &second, target.ID, e.c)
	if err != nil || res.Pending == nil {
		t.Fatalf("second request: %+v, %v", res, err)
	}
	e.clock.Advance(account.ResetRequestTTL)
	if _, err := e.svc.ApproveReset(e.ctx(), &third, res.Pending.ID, e.c); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("approval of an expired request: %v, want ErrNotFound", err)
	}
	res, err = e.svc.ResetMFA(e.ctx(), &second, target.ID, e.c)
	if err != nil || res.Pending == nil {
		t.Fatalf("third request: %+v, %v", res, err)
	}
	done, err := e.svc.ApproveReset(e.ctx(), &third, res.Pending.ID, e.c)
	if err != nil || !done.Done || done.Token == "" {
		t.Fatalf("approval = %+v, %v", done, err)
	}
	e.wantUnauth(tok, "admin's session after the approved reset")
	if info, err := e.svc.InvitationInfo(e.ctx(), done.Token); err != nil || !info.Reset || info.Email != target.Email {
		t.Errorf("re-enrolment link = %+v, %v", info, err)
	}
	// The operator's command line needs no second admin.
	if res, err := e.svc.ResetMFA(e.ctx(), account.Operator("root"), third.ID, e.c); err != nil || !res.Done {
		t.Errorf("operator's reset of an admin = %+v, %v; want done", res, err)
	}
}

func ptr[T any](v T) *T { return &v }
