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
	var name, afterLogout string
	run(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/login/"),
		chromedp.WaitVisible("#login-email", chromedp.ByQuery),
		chromedp.SendKeys("#login-email", u.Email, chromedp.ByQuery),
		chromedp.SendKeys("#login-password", u.Password+"\n", chromedp.ByQuery),
		chromedp.WaitVisible("#login-code", chromedp.ByQuery),
		chromedp.SendKeys("#login-code", account.TOTPCode(u.TOTPSecret, time.Now())+"\n", chromedp.ByQuery),
		chromedp.WaitVisible(`#account-details [data-value="displayName"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#account-details [data-value="displayName"]').textContent.length > 0`, nil),
		chromedp.Text(`#account-details [data-value="displayName"]`, &name, chromedp.ByQuery),
	)
	if strings.TrimSpace(name) != u.DisplayName {
		t.Errorf("account page shows %q, want %q", name, u.DisplayName)
	}
	run(t, ctx,
		chromedp.Click("#account-logout", chromedp.ByQuery),
		// Logout lands on the login page.
		chromedp.WaitVisible("#login-email", chromedp.ByQuery),
		chromedp.Evaluate(`fetch("/api/me", {credentials: "same-origin"}).then(r => String(r.status))`, &afterLogout,
			awaitPromise),
	)
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
		var next string
		run(t, anon, chromedp.Navigate(p.URL+page), chromedp.WaitVisible("#login-email", chromedp.ByQuery))
		run(t, anon, chromedp.Evaluate(`location.pathname + " " + new URLSearchParams(location.search).get("next")`, &next))
		if next != "/en/account/login/ "+page {
			t.Errorf("%s, anonymous: at %q, want the login page coming back here", page, next)
		}
	}

	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	ctx := browser(t)
	loginInBrowser(t, ctx, p, u, "/en/research/")
	for _, page := range []string{"/en/admin/members/", "/en/admin/audit/"} {
		var notice string
		run(t, ctx,
			chromedp.Navigate(p.URL+page),
			chromedp.WaitVisible("#app-forbidden", chromedp.ByQuery),
			chromedp.Text("#app-forbidden", &notice, chromedp.ByQuery),
		)
		if strings.TrimSpace(notice) == "" {
			t.Errorf("%s, member: empty notice", page)
		}
	}
}
