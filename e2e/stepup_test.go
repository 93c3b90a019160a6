package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/account"
	"portal/portaltest"
)

// An admin whose login is older than the step-up window ends a member's
// sessions from the members page: the page asks for a fresh code, refuses
// a wrong one, and with a right one repeats the act, which the member is
// mailed about.
func TestStepUpPromptOnTheMembersPage(t *testing.T) {
	clock := portaltest.NewClock()
	p := portaltest.Start(t, portaltest.Options{Now: clock.Now})
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedNamedUser(t, "Step-up Test Member", account.RoleMember)
	ctx := browser(t)
	loginInBrowser(t, ctx, p, admin, "/en/admin/members/")
	clock.Advance(account.StepUpWindow + time.Minute)

	row := `tr[data-user="` + member.ID + `"]`
	var dialogOpen bool
	run(t, ctx,
		chromedp.WaitVisible(row+` [data-action="manage"]`, chromedp.ByQuery),
		chromedp.Click(row+` [data-action="manage"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-action="end-sessions"]`, chromedp.ByQuery),
		chromedp.Click(`[data-action="end-sessions"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		chromedp.Click(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		// The API refused with step_up_required: the prompt opens.
		chromedp.WaitVisible(`#app-step-up #step-up-code`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("app-step-up").open`, &dialogOpen),
	)
	if !dialogOpen {
		t.Fatal("step-up dialog not open")
	}
	if n := sessionsEnded(t, p, member.Email); n != 0 {
		t.Fatalf("sessions ended before the step-up (%d mails)", n)
	}

	var wrong string
	run(t, ctx,
		chromedp.SendKeys(`#step-up-code`, "000000\n", chromedp.ByQuery),
		chromedp.WaitVisible(`#step-up-code-error`, chromedp.ByQuery),
		chromedp.Text(`#step-up-code-error`, &wrong, chromedp.ByQuery),
	)
	if !strings.Contains(wrong, "not correct") {
		t.Errorf("wrong code answered %q", wrong)
	}

	var note string
	run(t, ctx,
		// The refused code is selected: typing replaces it.
		chromedp.SendKeys(`#step-up-code`, account.TOTPCode(admin.TOTPSecret, clock.Now())+"\n", chromedp.ByQuery),
		chromedp.WaitNotVisible(`#app-step-up`, chromedp.ByQuery),
		// The page repeated the act without asking again.
		chromedp.WaitVisible(`.member-note`, chromedp.ByQuery),
		chromedp.Text(`.member-note`, &note, chromedp.ByQuery),
	)
	if want := "All sessions of Step-up Test Member have been ended."; strings.TrimSpace(note) != want {
		t.Errorf("note %q, want %q", note, want)
	}
	if n := sessionsEnded(t, p, member.Email); n != 1 {
		t.Errorf("%d mails about ended sessions to the member, want 1", n)
	}
	checkAxe(t, ctx, "members page after step-up")
}

func sessionsEnded(t *testing.T, p *portaltest.Portal, email string) int {
	t.Helper()
	var n int
	for _, m := range p.Mail(t, email) {
		if m.Subject == "Your sessions were ended" {
			n++
		}
	}
	return n
}

// The members page lists pending invitations; revoking one there stops its
// link from working.
func TestRevokeInvitationOnTheMembersPage(t *testing.T) {
	p := portal(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	email := "pending-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "") + "@test.invalid"
	token, _, err := p.Accounts.Invite(t.Context(), &admin.User, email, account.RoleMember, nil, account.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	loginInBrowser(t, ctx, p, admin, "/en/admin/members/")
	var rows int
	run(t, ctx,
		chromedp.WaitVisible(`#invitations-body tr`, chromedp.ByQuery),
		chromedp.Click(`button[aria-label="Revoke the invitation of `+email+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		chromedp.Click(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		chromedp.Poll(`!document.querySelector('button[aria-label="Revoke the invitation of `+email+`"]')`, nil),
		chromedp.Evaluate(`document.querySelectorAll('#invitations-body tr').length`, &rows),
	)
	if _, err := p.Accounts.InvitationInfo(t.Context(), token); err == nil {
		t.Errorf("invitation still valid after revoking it on the page (%d rows left)", rows)
	}
}

// A second admin approves the reset of an admin's second factor on the
// members page; the link goes to the admin concerned.
func TestApproveAdminResetOnTheMembersPage(t *testing.T) {
	p := portal(t)
	asker := p.SeedUser(t, account.RoleAdmin)
	approver := p.SeedUser(t, account.RoleAdmin)
	target := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(asker.Email, asker.Password, asker.TOTPSecret, time.Now())
	var out struct{ Request struct{ ID string } }
	a.JSON("POST", "/api/admin/users/"+target.ID+"/reset-mfa", nil, 202, &out)

	ctx := browser(t)
	loginInBrowser(t, ctx, p, approver, "/en/admin/members/")
	item := `#requests-list li[data-request="` + out.Request.ID + `"]`
	run(t, ctx,
		chromedp.WaitVisible(item+` [data-action="approve"]`, chromedp.ByQuery),
		chromedp.Click(item+` [data-action="approve"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		chromedp.Click(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		chromedp.Poll(`!document.querySelector('`+item+`')`, nil),
	)
	var linked bool
	for _, m := range p.Mail(t, target.Email) {
		linked = linked || m.Subject == "Set up your second factor again" && strings.Contains(m.Text, "/en/account/accept/#token=")
	}
	if !linked {
		t.Error("no re-enrolment link mailed to the admin concerned after the approval")
	}
}
