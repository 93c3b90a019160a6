package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/account"
	"portal/portaltest"
)

// A member whose account is locked for new browsers signs in on a new one:
// the login is refused like any other, the mail that follows carries an
// unlock link, and the page it opens trusts this browser, which then logs
// in through the real pages.
func TestUnlockLinkInBrowser(t *testing.T) {
	p := portal(t)
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	// The lock as 100 failed attempts from elsewhere leave it.
	err := p.DB.Update(t.Context(), func(tx account.Tx) error {
		rec, err := tx.UserByID(t.Context(), u.ID)
		if err != nil {
			return err
		}
		rec.Locked, rec.Failures, rec.LastFailureAt = true, account.MaxFailures, time.Now()
		return tx.SaveUser(t.Context(), rec)
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := browser(t)
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/login/"),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), u.Password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#login-password-error")),
	)

	var link string
	for deadline := time.Now().Add(15 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range p.Mail(t, u.Email) {
			if found := regexp.MustCompile(`\S+/en/account/unlock/#token=\S+`).FindString(m.Text); found != "" {
				link = found
			}
		}
	}
	if link == "" {
		t.Fatal("no unlock link mailed")
	}
	do(t, ctx,
		chromedp.Navigate(strings.Replace(link, portaltest.PublicURL, p.URL, 1)),
		chromedp.WaitVisible(chromedp.CSS("#unlock-done")),
	)
	heading := run(t, ctx, chromedp.Text(chromedp.CSS("#unlock-done-heading")))
	if strings.TrimSpace(heading) == "" {
		t.Error("empty heading on the unlock page")
	}
	address := run(t, ctx, chromedp.Evaluate[string](`location.href`))
	if strings.Contains(address, "token=") {
		t.Errorf("the token stays in the address bar: %s", address)
	}
	checkAxe(t, ctx, "unlock page")
	loginInBrowser(t, ctx, p, u, "/en/research/")
}
