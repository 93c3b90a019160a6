package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/account"
)

// A member logs in through the real pages with a password and a TOTP code
// computed here as an authenticator app would, sees the account page, and
// logs out; the session cookie no longer opens the API afterwards.
func TestLoginWithTOTPAndLogout(t *testing.T) {
	p := portal(t)
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	ctx := browser(t)
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/login/"),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), u.Password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#login-code")),
		chromedp.SendKeys(chromedp.CSS("#login-code"), account.TOTPCode(u.TOTPSecret, time.Now())+"\n"),
		chromedp.WaitVisible(chromedp.CSS(`#account-details [data-value="displayName"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#account-details [data-value="displayName"]').textContent.length > 0`),
	)
	name := run(t, ctx, chromedp.Text(chromedp.CSS(`#account-details [data-value="displayName"]`)))
	if strings.TrimSpace(name) != u.DisplayName {
		t.Errorf("account page shows %q, want %q", name, u.DisplayName)
	}
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#account-logout")),
		// Logout lands on the login page.
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
	)
	afterLogout := run(t, ctx, chromedp.Evaluate[string](`fetch("/api/me", {credentials: "same-origin"}).then(r => String(r.status))`,
		chromedp.EvalAwaitPromise))
	if afterLogout != "401" {
		t.Errorf("GET /api/me after logout: %s, want 401", afterLogout)
	}
}

// The admin pages send a reader who is not logged in to the login page, to
// come back afterwards, and show a member who is not an admin the notice
// in place of the page.
func TestAdminPagesRefuse(t *testing.T) {
	p := portal(t)
	for _, page := range []string{"/en/admin/members/", "/en/admin/audit/"} {
		anon := browser(t)
		do(t, anon, chromedp.Navigate(p.URL+page), chromedp.WaitVisible(chromedp.CSS("#login-email")))
		next := run(t, anon, chromedp.Evaluate[string](`location.pathname + " " + new URLSearchParams(location.search).get("next")`))
		if next != "/en/account/login/ "+page {
			t.Errorf("%s, anonymous: at %q, want the login page coming back here", page, next)
		}
	}

	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	ctx := browser(t)
	loginInBrowser(t, ctx, p, u, "/en/research/")
	for _, page := range []string{"/en/admin/members/", "/en/admin/audit/"} {
		do(t, ctx,
			chromedp.Navigate(p.URL+page),
			chromedp.WaitVisible(chromedp.CSS("#app-forbidden")),
		)
		notice := run(t, ctx, chromedp.Text(chromedp.CSS("#app-forbidden")))
		if strings.TrimSpace(notice) == "" {
			t.Errorf("%s, member: empty notice", page)
		}
	}
}
