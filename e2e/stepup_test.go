package e2e

import (
	"database/sql"
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
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(row+` [data-action="manage"]`)),
		chromedp.Click(chromedp.CSS(row+` [data-action="manage"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-action="end-sessions"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="end-sessions"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Click(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		// The API refused with step_up_required: the prompt opens.
		chromedp.WaitVisible(chromedp.CSS(`#app-step-up #step-up-code`)),
	)
	dialogOpen := run(t, ctx, chromedp.Evaluate[bool](`document.getElementById("app-step-up").open`))
	if !dialogOpen {
		t.Fatal("step-up dialog not open")
	}
	if n := sessionsEnded(t, p, member.Email); n != 0 {
		t.Fatalf("sessions ended before the step-up (%d mails)", n)
	}

	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#step-up-code`), "000000\n"),
		chromedp.WaitVisible(chromedp.CSS(`#step-up-code-error`)),
	)
	wrong := run(t, ctx, chromedp.Text(chromedp.CSS(`#step-up-code-error`)))
	if !strings.Contains(wrong, "not correct") {
		t.Errorf("wrong code answered %q", wrong)
	}

	do(t, ctx,
		// The refused code is selected: typing replaces it.
		chromedp.SendKeys(chromedp.CSS(`#step-up-code`), account.TOTPCode(admin.TOTPSecret, clock.Now())+"\n"),
		chromedp.WaitNotVisible(chromedp.CSS(`#app-step-up`)),
		// The page repeated the act without asking again.
		chromedp.WaitVisible(chromedp.CSS(`.member-note`)),
	)
	note := run(t, ctx, chromedp.Text(chromedp.CSS(`.member-note`)))
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
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#invitations-body tr`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="Revoke the invitation of `+email+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Click(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Poll[chromedp.Void](`!document.querySelector('button[aria-label="Revoke the invitation of `+email+`"]')`),
	)
	rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#invitations-body tr').length`))
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
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(item+` [data-action="approve"]`)),
		chromedp.Click(chromedp.CSS(item+` [data-action="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Click(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Poll[chromedp.Void](`!document.querySelector('`+item+`')`),
	)
	var linked bool
	for _, m := range p.Mail(t, target.Email) {
		linked = linked || m.Subject == "Set up your second factor again" && strings.Contains(m.Text, "/en/account/accept/#token=")
	}
	if !linked {
		t.Error("no re-enrolment link mailed to the admin concerned after the approval")
	}
}

// A reset whose mail the outbox refuses is shown on the members page as
// done but not mailed, and the page offers to send the link again; once
// mail works, that sends a link the member can use.
func TestResendResetLinkOnTheMembersPage(t *testing.T) {
	p := portal(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedNamedUser(t, "Resend Test Member", account.RoleMember)
	lift := refuseMailTo(t, p, member.Email)
	ctx := browser(t)
	loginInBrowser(t, ctx, p, admin, "/en/admin/members/")

	row := `tr[data-user="` + member.ID + `"]`
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(row+` [data-action="manage"]`)),
		chromedp.Click(chromedp.CSS(row+` [data-action="manage"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-action="reset-mfa"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="reset-mfa"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Click(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.member-note-error`)),
	)
	note := run(t, ctx, chromedp.Text(chromedp.CSS(`.member-note`)))
	if !strings.Contains(note, "The second factor of Resend Test Member has been reset, but the email") {
		t.Errorf("note after a reset whose mail failed: %q", note)
	}
	if resetLinks(t, p, member.Email) != 0 {
		t.Fatal("a link was mailed although the outbox refused it")
	}

	lift()
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`[data-action="resend-reset"]`)),
		chromedp.Poll[chromedp.Void](`(document.querySelector('.member-note') || {}).textContent?.includes("A new link")`),
	)
	if n := resetLinks(t, p, member.Email); n != 1 {
		t.Errorf("%d re-enrolment links mailed after sending again, want 1", n)
	}
	checkAxe(t, ctx, "members page after sending a reset link again")
}

// resetLinks counts the re-enrolment links mailed to email.
func resetLinks(t *testing.T, p *portaltest.Portal, email string) int {
	t.Helper()
	n := 0
	for _, m := range p.Mail(t, email) {
		if m.Subject == "Set up your second factor again" && strings.Contains(m.Text, "/en/account/accept/#token=") {
			n++
		}
	}
	return n
}

// refuseMailTo makes the portal's real SQLite file refuse to queue mail to
// one address, as a full disk would; the returned function lifts it (and
// the test's end does).
func refuseMailTo(t *testing.T, p *portaltest.Portal, to string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", p.DB.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER mail_outbox_test_refuse BEFORE INSERT ON mail_outbox
		WHEN NEW.recipient = '`+strings.ReplaceAll(to, "'", "''")+`'
		BEGIN SELECT RAISE(ABORT, 'mail outbox refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	lifted := false
	lift := func() {
		if !lifted {
			lifted = true
			if _, err := db.Exec(`DROP TRIGGER mail_outbox_test_refuse`); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(func() { lift(); db.Close() })
	return lift
}
