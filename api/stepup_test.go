package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/portaltest"
)

// stepUpRoutes are the acts that change who someone is: each needs a
// second factor passed on the session within account.StepUpWindow.
func stepUpRoutes(memberID string) []struct{ method, path string } {
	return []struct{ method, path string }{
		{"PATCH", "/api/admin/users/" + memberID},
		{"POST", "/api/admin/users/" + memberID + "/disable"},
		{"POST", "/api/admin/users/" + memberID + "/enable"},
		{"POST", "/api/admin/users/" + memberID + "/reset-mfa"},
		{"POST", "/api/admin/users/" + memberID + "/reset-mfa/resend"},
		{"GET", "/api/admin/users/" + memberID + "/sessions"},
		{"DELETE", "/api/admin/users/" + memberID + "/sessions"},
		{"POST", "/api/admin/reset-requests/" + strings.Repeat("0", 32) + "/approve"},
		{"POST", "/api/admin/groups"},
		{"PATCH", "/api/admin/groups/victim-identification"},
		{"POST", "/api/groups/victim-identification/members"},
		{"DELETE", "/api/groups/victim-identification/members/" + memberID},
		{"POST", "/api/attestations/" + memberID + "/confirm"},
		{"POST", "/api/attestations/" + memberID + "/extend"},
	}
}

// stepUp confirms a fresh TOTP code on c's session at the clock's time.
func stepUp(t *testing.T, c *portaltest.Client, u portaltest.User, now time.Time) {
	t.Helper()
	var out struct{ SteppedUpUntil time.Time }
	c.JSON("POST", "/api/session/step-up", map[string]string{"code": account.TOTPCode(u.TOTPSecret, now)}, 200, &out)
	if want := now.Add(account.StepUpWindow); !out.SteppedUpUntil.Equal(want.UTC().Round(0)) {
		t.Errorf("steppedUpUntil %v, want %v", out.SteppedUpUntil, want)
	}
}

func TestAdminActsNeedStepUp(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedUser(t, account.RoleMember)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())

	// The login's code is a second factor passed now; five minutes later
	// it no longer counts.
	clock.Advance(account.StepUpWindow + time.Second)
	for _, r := range stepUpRoutes(member.ID) {
		resp, body := a.Do(r.method, r.path, map[string]any{"groups": []string{"victim-identification"}})
		if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "step_up_required" {
			t.Errorf("%s %s without step-up: %d %s, want 401 step_up_required", r.method, r.path, resp.StatusCode, body)
		}
	}
	resp, body := a.Do("POST", "/api/invitations", map[string]any{"email": "new-admin-" + rand8() + "@test.invalid", "role": "admin"})
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "step_up_required" {
		t.Errorf("admin invitation without step-up: %d %s, want 401 step_up_required", resp.StatusCode, body)
	}
	// Inviting a member changes no one's power over others: no step-up.
	a.JSON("POST", "/api/invitations", map[string]any{"email": "new-member-" + rand8() + "@test.invalid", "role": "member"}, 201, nil)
	// The refused acts changed nothing and are audited.
	var got struct{ Groups []string }
	a.JSON("GET", "/api/admin/users/"+member.ID, nil, 200, &got)
	if slices.Contains(got.Groups, "victim-identification") {
		t.Errorf("groups changed without step-up: %v", got.Groups)
	}
	if n := countAudit(t, a, admin.ID, "access.denied"); n < len(stepUpRoutes(member.ID))+1 {
		t.Errorf("%d access.denied entries for the refused acts, want at least %d", n, len(stepUpRoutes(member.ID))+1)
	}

	// A wrong code is refused; a fresh one steps up.
	resp, body = a.Do("POST", "/api/session/step-up", map[string]string{"code": "000000"})
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "invalid_credentials" {
		t.Errorf("wrong step-up code: %d %s", resp.StatusCode, body)
	}
	stepUp(t, a, admin, clock.Now())
	a.JSON("PATCH", "/api/admin/users/"+member.ID, map[string]any{"groups": []string{"victim-identification"}}, 200, &got)
	if !slices.Contains(got.Groups, "victim-identification") {
		t.Errorf("groups after a stepped-up change: %v", got.Groups)
	}
	a.JSON("GET", "/api/admin/users/"+member.ID+"/sessions", nil, 200, nil)
	a.JSON("POST", "/api/invitations", map[string]any{"email": "new-admin-" + rand8() + "@test.invalid", "role": "admin"}, 201, nil)

	// The same code cannot step up again, on this session or another.
	resp, body = a.Do("POST", "/api/session/step-up", map[string]string{"code": account.TOTPCode(admin.TOTPSecret, clock.Now())})
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "invalid_credentials" {
		t.Errorf("step-up code reused: %d %s, want 401 invalid_credentials", resp.StatusCode, body)
	}

	// The step-up lapses after the window.
	clock.Advance(account.StepUpWindow)
	resp, body = a.Do("POST", "/api/admin/users/"+member.ID+"/disable", nil)
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "step_up_required" {
		t.Errorf("disable after the step-up lapsed: %d %s", resp.StatusCode, body)
	}
	if n := countAudit(t, a, admin.ID, "mfa.step_up"); n < 2 { // the wrong code and the right one
		t.Errorf("%d mfa.step_up entries, want 2", n)
	}
}

// A code used at login cannot step up: the replay guard is the account's.
func TestStepUpRefusesTheLoginCode(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	resp, body := a.Do("POST", "/api/session/step-up", map[string]string{"code": account.TOTPCode(admin.TOTPSecret, clock.Now())})
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "invalid_credentials" {
		t.Errorf("login code reused for step-up: %d %s, want 401 invalid_credentials", resp.StatusCode, body)
	}
	clock.Advance(30 * time.Second)
	stepUp(t, a, admin, clock.Now())
}

func TestResetLinkGoesToTheMemberOnly(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedUser(t, account.RoleMember)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	m := p.NewClient(t)
	m.Login(member.Email, member.Password, member.TOTPSecret, clock.Now())

	resp, body := a.Do("POST", "/api/admin/users/"+member.ID+"/reset-mfa", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"done"`) {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "token") || strings.Contains(string(body), "/account/accept") {
		t.Errorf("the admin's answer carries the link: %s", body)
	}
	if resp, _ := m.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("member's session after the reset: %d, want 401", resp.StatusCode)
	}

	// The link reached the member's registered address, and it works.
	token := mailedToken(t, p, member.Email)
	r := p.NewClient(t)
	r.RefreshCSRF()
	var info struct {
		Email string
		Reset bool
	}
	r.JSON("POST", "/api/invitations/lookup", map[string]string{"token": token}, 200, &info)
	if info.Email != member.Email || !info.Reset {
		t.Errorf("mailed link is for %+v", info)
	}
	var enrol struct{ Secret string }
	r.JSON("POST", "/api/invitations/accept", map[string]string{"token": token, "password": "sienna harbour quietly mended"}, 200, &enrol)
	r.RefreshCSRF()
	r.JSON("POST", "/api/mfa/totp/confirm", map[string]string{"code": account.TOTPCode(enrol.Secret, clock.Now())}, 200, nil)
	if !mailed(t, p, member.Email, "Your password and second factor were set up again") {
		t.Error("no mail to the member when the reset was completed")
	}
}

func TestResettingAnAdminNeedsASecondAdmin(t *testing.T) {
	p, clock := withAccounts(t)
	first := p.SeedUser(t, account.RoleAdmin)
	second := p.SeedUser(t, account.RoleAdmin)
	target := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(first.Email, first.Password, first.TOTPSecret, clock.Now())
	b := p.NewClient(t)
	b.Login(second.Email, second.Password, second.TOTPSecret, clock.Now())
	victim := p.NewClient(t)
	victim.Login(target.Email, target.Password, target.TOTPSecret, clock.Now())

	var out struct {
		Status  string
		Request struct{ ID, UserID, RequestedBy string }
	}
	a.JSON("POST", "/api/admin/users/"+target.ID+"/reset-mfa", nil, http.StatusAccepted, &out)
	if out.Status != "pending" || out.Request.ID == "" || out.Request.UserID != target.ID || out.Request.RequestedBy != first.ID {
		t.Fatalf("reset of an admin = %+v, want a pending request", out)
	}
	// Nothing happened yet: the admin concerned still works, and is told.
	victim.JSON("GET", "/api/me", nil, 200, nil)
	if !mailed(t, p, target.Email, "A reset of your second factor was requested") {
		t.Error("the admin concerned was not told of the request")
	}
	// Asking again gives the same request.
	var again struct{ Request struct{ ID string } }
	a.JSON("POST", "/api/admin/users/"+target.ID+"/reset-mfa", nil, http.StatusAccepted, &again)
	if again.Request.ID != out.Request.ID {
		t.Errorf("second request %s, want the pending %s", again.Request.ID, out.Request.ID)
	}
	var list struct{ Requests []struct{ ID, Email string } }
	b.JSON("GET", "/api/admin/reset-requests", nil, 200, &list)
	if !slices.ContainsFunc(list.Requests, func(r struct{ ID, Email string }) bool { return r.ID == out.Request.ID && r.Email == target.Email }) {
		t.Errorf("pending requests %+v lack %s", list.Requests, out.Request.ID)
	}

	approve := "/api/admin/reset-requests/" + out.Request.ID + "/approve"
	// Neither the admin who asked nor the admin concerned may approve.
	for name, c := range map[string]*portaltest.Client{"the asker": a, "the admin concerned": victim} {
		resp, body := c.Do("POST", approve, nil)
		if resp.StatusCode != http.StatusForbidden || portaltest.ErrorCode(t, body) != "forbidden" {
			t.Errorf("approval by %s: %d %s, want 403", name, resp.StatusCode, body)
		}
	}
	victim.JSON("GET", "/api/me", nil, 200, nil)

	// A second admin approves, after a step-up of their own.
	clock.Advance(account.StepUpWindow)
	resp, body := b.Do("POST", approve, nil)
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "step_up_required" {
		t.Fatalf("approval without step-up: %d %s", resp.StatusCode, body)
	}
	stepUp(t, b, second, clock.Now())
	resp, body = b.Do("POST", approve, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"done"`) || strings.Contains(string(body), "token") {
		t.Fatalf("approval by a second admin: %d %s", resp.StatusCode, body)
	}
	if resp, _ := victim.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the reset admin's session after approval: %d, want 401", resp.StatusCode)
	}
	if token := mailedToken(t, p, target.Email); token == "" {
		t.Error("no re-enrolment link mailed to the admin concerned")
	}
	if resp, _ := b.Do("POST", approve, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("approving twice: %d, want 404", resp.StatusCode)
	}
	if n := countAudit(t, b, second.ID, "mfa.reset_approve"); n != 1 {
		t.Errorf("%d mfa.reset_approve entries, want 1", n)
	}
}

// Demoting an admin does not open the way to resetting them alone: the
// demotion needs a step-up and is mailed to the demoted admin, and a reset
// of a former admin within account.FormerAdminWindow waits for a second
// admin like an admin's; after the window one admin may reset them.
func TestDemotedAdminResetNeedsASecondAdmin(t *testing.T) {
	p, clock := withAccounts(t)
	first := p.SeedUser(t, account.RoleAdmin)
	second := p.SeedUser(t, account.RoleAdmin)
	target := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(first.Email, first.Password, first.TOTPSecret, clock.Now())

	demote := map[string]any{"role": "member"}
	clock.Advance(account.StepUpWindow + time.Second)
	resp, body := a.Do("PATCH", "/api/admin/users/"+target.ID, demote)
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "step_up_required" {
		t.Fatalf("demotion without step-up: %d %s, want 401 step_up_required", resp.StatusCode, body)
	}
	var got struct {
		Role        string
		MFAEnrolled bool
	}
	a.JSON("GET", "/api/admin/users/"+target.ID, nil, 200, &got)
	if got.Role != "admin" {
		t.Fatalf("role after the refused demotion: %s", got.Role)
	}
	stepUp(t, a, first, clock.Now())
	a.JSON("PATCH", "/api/admin/users/"+target.ID, demote, 200, &got)
	if got.Role != "member" {
		t.Fatalf("role after the demotion: %s", got.Role)
	}
	changed := waitMail(t, p, target.Email, "Your role or groups changed")
	if !strings.Contains(changed[0].Text, "no longer an administrator") {
		t.Errorf("demotion notice: %q", changed[0].Text)
	}

	// The reset right after the demotion waits for a second admin: no
	// link, and the account keeps its second factor.
	var out struct {
		Status  string
		Request struct{ ID, UserID string }
	}
	a.JSON("POST", "/api/admin/users/"+target.ID+"/reset-mfa", nil, http.StatusAccepted, &out)
	if out.Status != "pending" || out.Request.UserID != target.ID {
		t.Fatalf("reset of a just-demoted admin = %+v, want a pending request", out)
	}
	waitMail(t, p, target.Email, "A reset of your second factor was requested")
	if slices.ContainsFunc(p.Mail(t, target.Email), func(m portaltest.Mail) bool { return tokenLink.MatchString(m.Text) }) {
		t.Error("a re-enrolment link was mailed before a second admin approved")
	}
	a.JSON("GET", "/api/admin/users/"+target.ID, nil, 200, &got)
	if !got.MFAEnrolled {
		t.Error("the second factor was removed before a second admin approved")
	}
	b := p.NewClient(t)
	b.Login(second.Email, second.Password, second.TOTPSecret, clock.Now())
	b.JSON("POST", "/api/admin/reset-requests/"+out.Request.ID+"/approve", nil, 200, nil)
	if token := mailedToken(t, p, target.Email); token == "" {
		t.Error("no re-enrolment link after the approval")
	}

	// Past the window, a former admin is a member like any other.
	other := p.SeedUser(t, account.RoleAdmin)
	clock.Advance(time.Minute)
	stepUp(t, a, first, clock.Now())
	a.JSON("PATCH", "/api/admin/users/"+other.ID, demote, 200, nil)
	clock.Advance(account.FormerAdminWindow - time.Hour)
	a = p.NewClient(t)
	a.Login(first.Email, first.Password, first.TOTPSecret, clock.Now())
	a.JSON("POST", "/api/admin/users/"+other.ID+"/reset-mfa", nil, http.StatusAccepted, &out)
	clock.Advance(time.Hour)
	a = p.NewClient(t)
	a.Login(first.Email, first.Password, first.TOTPSecret, clock.Now())
	a.JSON("POST", "/api/admin/users/"+other.ID+"/reset-mfa", nil, http.StatusOK, nil)
}

// refuseMailTo makes the portal's real database refuse to queue mail
// to one address, as a full disk or a damaged file would, with a trigger
// that raises; the returned function lifts it (and the test's end does).
func refuseMailTo(t *testing.T, p *portaltest.Portal, to string) func() {
	t.Helper()
	return p.RefuseInserts(t, "mail_outbox", "recipient", to)
}

// When the reset's mail cannot be queued, the reset stays done and the
// admin is told so, with the way to send the link again; sending it again
// works once mail does, and only while the reset waits to be completed.
func TestResetMailFailureIsClearAndCanBeResent(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedUser(t, account.RoleMember)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	m := p.NewClient(t)
	m.Login(member.Email, member.Password, member.TOTPSecret, clock.Now())

	lift := refuseMailTo(t, p, member.Email)
	reset := "/api/admin/users/" + member.ID + "/reset-mfa"
	resp, body := a.Do("POST", reset, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || portaltest.ErrorCode(t, body) != "reset_mail_not_queued" ||
		!strings.Contains(string(body), "reset is done") || !strings.Contains(string(body), "/reset-mfa/resend") {
		t.Fatalf("reset whose mail cannot be queued: %d %s, want 503 reset_mail_not_queued saying how to resend", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "token") || strings.Contains(string(body), "/account/accept") {
		t.Errorf("the admin's answer carries the link: %s", body)
	}
	// The reset itself is done and kept.
	var got struct{ MFAEnrolled bool }
	a.JSON("GET", "/api/admin/users/"+member.ID, nil, 200, &got)
	if got.MFAEnrolled {
		t.Error("the second factor is still there after the reset")
	}
	if resp, _ := m.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("member's session after the reset: %d, want 401", resp.StatusCode)
	}
	// Resending while mail still fails says the same.
	resend := reset + "/resend"
	resp, body = a.Do("POST", resend, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || portaltest.ErrorCode(t, body) != "reset_mail_not_queued" {
		t.Errorf("resend while mail fails: %d %s", resp.StatusCode, body)
	}
	if slices.ContainsFunc(p.Mail(t, member.Email), func(m portaltest.Mail) bool { return tokenLink.MatchString(m.Text) }) {
		t.Fatal("a link was mailed although the outbox refused it")
	}

	lift()
	var out struct{ Status string }
	a.JSON("POST", resend, nil, 200, &out)
	if out.Status != "done" {
		t.Errorf("resend = %+v, want done", out)
	}
	links := 0
	for _, m := range p.Mail(t, member.Email) {
		if tokenLink.MatchString(m.Text) {
			links++
		}
	}
	if links != 1 {
		t.Errorf("%d links mailed, want the one resent", links)
	}
	token := mailedToken(t, p, member.Email)
	r := p.NewClient(t)
	r.RefreshCSRF()
	var enrol struct{ Secret string }
	r.JSON("POST", "/api/invitations/accept", map[string]string{"token": token, "password": "sienna harbour quietly mended"}, 200, &enrol)
	r.RefreshCSRF()
	r.JSON("POST", "/api/mfa/totp/confirm", map[string]string{"code": account.TOTPCode(enrol.Secret, clock.Now())}, 200, nil)
	if n := countAudit(t, a, admin.ID, account.ActionMFAResetResend); n != 2 {
		t.Errorf("%d %s entries, want 2", n, account.ActionMFAResetResend)
	}

	// Once the member is back in, there is nothing to resend.
	resp, body = a.Do("POST", resend, nil)
	if resp.StatusCode != http.StatusConflict || portaltest.ErrorCode(t, body) != "conflict" {
		t.Errorf("resend after re-enrolment: %d %s, want 409", resp.StatusCode, body)
	}
}

func TestInvitationsListedAndRevoked(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	email := "revoked-" + rand8() + "@test.invalid"
	token := invite(t, p, a, email, "trainer")

	id := pendingInvitation(t, a, email)
	if id == "" {
		t.Fatalf("GET /api/invitations lacks %s", email)
	}
	a.JSON("DELETE", "/api/invitations/"+id, nil, http.StatusNoContent, nil)
	if pendingInvitation(t, a, email) != "" {
		t.Errorf("%s still listed after revocation", email)
	}
	m := p.NewClient(t)
	m.RefreshCSRF()
	resp, body := m.Do("POST", "/api/invitations/lookup", map[string]string{"token": token})
	if resp.StatusCode != http.StatusGone || portaltest.ErrorCode(t, body) != "invitation_invalid" {
		t.Errorf("revoked invitation: %d %s, want 410", resp.StatusCode, body)
	}
	if resp, _ := a.Do("DELETE", "/api/invitations/"+id, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking twice: %d, want 404", resp.StatusCode)
	}
	if n := countAudit(t, a, admin.ID, "invitation.revoke"); n != 1 {
		t.Errorf("%d invitation.revoke entries, want 1", n)
	}
}

// An invitation is worth what its creator is: disabling or demoting the
// admin who made it takes it back.
func TestInvitationOfAFormerAdminIsRefused(t *testing.T) {
	p, clock := withAccounts(t)
	boss := p.SeedUser(t, account.RoleAdmin)
	b := p.NewClient(t)
	b.Login(boss.Email, boss.Password, boss.TOTPSecret, clock.Now())
	for _, change := range []struct {
		name string
		act  func(id string)
	}{
		{"disabled", func(id string) { b.JSON("POST", "/api/admin/users/"+id+"/disable", nil, 200, nil) }},
		{"demoted", func(id string) { b.JSON("PATCH", "/api/admin/users/"+id, map[string]any{"role": "member"}, 200, nil) }},
	} {
		rogue := p.SeedUser(t, account.RoleAdmin)
		r := p.NewClient(t)
		r.Login(rogue.Email, rogue.Password, rogue.TOTPSecret, clock.Now())
		email := "accomplice-" + rand8() + "@test.invalid"
		token := invite(t, p, r, email, "admin")
		change.act(rogue.ID)

		var list struct {
			Invitations []struct {
				Email         string
				CreatorActive bool
			}
		}
		b.JSON("GET", "/api/invitations", nil, 200, &list)
		for _, inv := range list.Invitations {
			if inv.Email == email && inv.CreatorActive {
				t.Errorf("%s: invitation listed as usable", change.name)
			}
		}
		m := p.NewClient(t)
		m.RefreshCSRF()
		resp, body := m.Do("POST", "/api/invitations/accept", map[string]string{"token": token, "displayName": "Accomplice",
			"password": "umber viaduct whistle gently"})
		if resp.StatusCode != http.StatusGone || portaltest.ErrorCode(t, body) != "invitation_invalid" {
			t.Errorf("invitation of a %s admin accepted: %d %s, want 410", change.name, resp.StatusCode, body)
		}
	}
}

// invite invites email with role as c's admin and returns the token from
// the mail.
func invite(t *testing.T, p *portaltest.Portal, c *portaltest.Client, email, role string) string {
	t.Helper()
	c.JSON("POST", "/api/invitations", map[string]any{"email": email, "role": role}, 201, nil)
	return mailedToken(t, p, email)
}

var tokenLink = regexp.MustCompile(`https?://\S+/en/account/accept/#token=(\S+)`)

// mailedToken returns the token of the last link mailed to email.
func mailedToken(t *testing.T, p *portaltest.Portal, email string) string {
	t.Helper()
	mails := p.Mail(t, email)
	for i := len(mails) - 1; i >= 0; i-- {
		if m := tokenLink.FindStringSubmatch(mails[i].Text); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no link mailed to %s among %d mails", email, len(mails))
	return ""
}

// mailed reports whether a mail with subject reached email.
func mailed(t *testing.T, p *portaltest.Portal, email, subject string) bool {
	t.Helper()
	return slices.ContainsFunc(p.Mail(t, email), func(m portaltest.Mail) bool { return m.Subject == subject })
}

// pendingInvitation returns the id of email's pending invitation, or "".
func pendingInvitation(t *testing.T, c *portaltest.Client, email string) string {
	t.Helper()
	var list struct{ Invitations []struct{ ID, Email string } }
	c.JSON("GET", "/api/invitations", nil, 200, &list)
	for _, inv := range list.Invitations {
		if inv.Email == email {
			return inv.ID
		}
	}
	return ""
}

// countAudit counts the audit entries of actor with action.
func countAudit(t *testing.T, c *portaltest.Client, actor, action string) int {
	t.Helper()
	var page struct{ Total int }
	c.JSON("GET", "/api/admin/audit?actor="+actor+"&action="+action, nil, 200, &page)
	return page.Total
}

func rand8() string {
	return strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
}

// Every security change an admin makes to an account is mailed to its
// member.
func TestSecurityChangesAreMailedToTheMember(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedUser(t, account.RoleMember)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	a.JSON("PATCH", "/api/admin/users/"+member.ID, map[string]any{"role": "trainer"}, 200, nil)
	a.JSON("DELETE", "/api/admin/users/"+member.ID+"/sessions", nil, http.StatusNoContent, nil)
	a.JSON("POST", "/api/admin/users/"+member.ID+"/disable", nil, 200, nil)
	a.JSON("POST", "/api/admin/users/"+member.ID+"/enable", nil, 200, nil)
	for _, subject := range []string{"Your role or groups changed", "Your sessions were ended",
		"Your account was disabled", "Your account was enabled"} {
		if !mailed(t, p, member.Email, subject) {
			t.Errorf("no mail %q to the member", subject)
		}
	}
	// Saving without a change tells the member nothing.
	before := len(p.Mail(t, member.Email))
	a.JSON("PATCH", "/api/admin/users/"+member.ID, map[string]any{"role": "trainer"}, 200, nil)
	if after := len(p.Mail(t, member.Email)); after != before {
		t.Errorf("%d mails after a change that changed nothing, want %d", after, before)
	}
}
