package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/access"
	"portal/account"
)

// TestSavedSearchAlertNotification: a member saves a search from the
// research library's search page; another member uploads a matching
// record; a digest pass runs (as `portal alerts send` does); the first
// member's bell counts the notification and the notifications page lists
// it, marks it read and silences the bell. The mailed unsubscribe link
// works in the browser without a session. axe-core checks the new pages
// (search page with its save form, notifications page, a record's page
// with its follow button, the unsubscribe page) in all four languages.
func TestSavedSearchAlertNotification(t *testing.T) {
	p := portal(t)
	member := p.SeedUser(t, account.RoleMember, "victim-identification")
	uploader := p.SeedUser(t, account.RoleMember, "victim-identification")
	ctx := browser(t)
	tag := fmt.Sprintf("hornbeam%d", time.Now().UnixNano()%1e6)
	searchPath := "/en/research/?q=" + tag + "&topics=victim-identification"

	loginInBrowser(t, ctx, p, member, "/en/research/")
	do(t, ctx,
		chromedp.Navigate(p.URL+searchPath),
		chromedp.WaitVisible(chromedp.CSS("#research-save-name")),
		// An empty name is refused on the field.
		chromedp.Click(chromedp.CSS(`#research-save button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#research-save-name-error")),
	)
	checkAxe(t, ctx, "search page, save form with an error")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#research-save-name"), "Synthetic hornbeam search"),
		chromedp.SetValue(chromedp.CSS("#research-save-alert"), "daily"),
		chromedp.Click(chromedp.CSS(`#research-save button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("#app-status").textContent.includes("Search saved")`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)

	// Another member uploads a matching record.
	up := p.NewClient(t)
	up.Login(uploader.Email, uploader.Password, uploader.TOTPSecret, time.Now())
	title := "Synthetic hornbeam study " + tag
	resp, body := up.Upload("POST", "/api/research", map[string]any{
		"title": title, "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record for the alerts browser test.", "year": 2024, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": []string{"victim-identification"}, "tlp": access.Green,
	}, "hornbeam.txt", []byte("Synthetic text about the "+tag+" method."))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	docID := regexp.MustCompile(`"id":"([0-9a-f]{32})"`).FindSubmatch(body)
	if docID == nil {
		t.Fatalf("no id in %s", body)
	}

	// The digest pass a day later.
	rep, err := p.Alerts.Send(t.Context(), time.Now().Add(25*time.Hour))
	if err != nil || rep.Notifications == 0 {
		t.Fatalf("digest pass: %+v, %v", rep, err)
	}

	// The bell counts it on any members' page.
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/research/"),
		chromedp.WaitVisible(chromedp.CSS("[data-bell] [data-bell-count]")),
	)
	bell := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("[data-bell]").textContent.replace(/\s+/g, " ").trim()`))
	if !strings.Contains(bell, "Notifications") || !strings.Contains(bell, "1 unread") {
		t.Errorf("bell reads %q, want its label and 1 unread", bell)
	}
	do(t, ctx,
		chromedp.Click(chromedp.CSS("[data-bell]")),
		chromedp.WaitVisible(chromedp.CSS("#inbox-list .inbox-item")),
	)
	item := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#inbox-list .inbox-item").textContent`))
	if !strings.Contains(item, title) || !strings.Contains(item, "Synthetic hornbeam search") || !strings.Contains(item, "Unread") {
		t.Errorf("inbox item %q", item)
	}
	checkAxe(t, ctx, "notifications page, unread")
	screenshot(t, ctx, "alerts-notifications")
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#inbox-mark-all")),
		chromedp.WaitNotPresent(chromedp.CSS("#inbox-list .inbox-unread")),
		chromedp.WaitNotVisible(chromedp.CSS("[data-bell] [data-bell-count]")),
	)

	// Every new page in every language.
	for _, lang := range []string{"en", "fr", "es", "ar"} {
		do(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/account/notifications/"),
			chromedp.WaitVisible(chromedp.CSS("#saved-list .saved-search")),
		)
		checkAxe(t, ctx, lang+" notifications page")
		do(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/research/?q="+tag),
			chromedp.WaitVisible(chromedp.CSS("#research-save-name")),
			chromedp.WaitVisible(chromedp.CSS("#research-hits li")),
		)
		checkAxe(t, ctx, lang+" search page with its save form")
		screenshot(t, ctx, "alerts-search-"+lang)
		do(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/research/document/?id="+string(docID[1])),
			chromedp.WaitVisible(chromedp.CSS("#document-follow")),
		)
		checkAxe(t, ctx, lang+" record page with its follow button")
		do(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/account/unsubscribe/#token=not-a-token"),
			chromedp.Poll[chromedp.Void](`document.querySelector("#app-alert").textContent !== ""`, chromedp.WithPollingTimeout(10*time.Second)),
		)
		checkAxe(t, ctx, lang+" unsubscribe page without a token")
	}
	// Following from the record's page.
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/research/document/?id="+string(docID[1])),
		chromedp.WaitVisible(chromedp.CSS("#document-follow")),
		chromedp.Click(chromedp.CSS("#document-follow")),
		chromedp.WaitVisible(chromedp.CSS(`#document-follow[aria-pressed="true"]`)),
	)

	// The mailed unsubscribe link, in a browser without a session.
	var link string
	for _, m := range p.Mail(t, member.Email) {
		if found := regexp.MustCompile(`https://portal\.example(/en/account/unsubscribe/#token=\S+)`).FindStringSubmatch(m.Text); found != nil {
			link = found[1]
		}
	}
	if link == "" {
		t.Fatal("no unsubscribe link mailed")
	}
	anon := browser(t)
	do(t, anon,
		chromedp.Navigate(p.URL+link),
		chromedp.WaitVisible(chromedp.CSS("#unsubscribe-button")),
	)
	if href := run(t, anon, chromedp.Evaluate[string](`location.href`)); strings.Contains(href, "token") {
		t.Errorf("the token stays in the address bar: %s", href)
	}
	checkAxe(t, anon, "unsubscribe page")
	do(t, anon,
		chromedp.Click(chromedp.CSS("#unsubscribe-button")),
		chromedp.WaitVisible(chromedp.CSS("#unsubscribe-done")),
	)
	if text := run(t, anon, chromedp.Text(chromedp.CSS("#unsubscribe-done-text"))); !strings.Contains(text, "Synthetic hornbeam search") {
		t.Errorf("unsubscribed: %q", text)
	}
	checkAxe(t, anon, "unsubscribe page, done")
	screenshot(t, anon, "alerts-unsubscribed")
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/notifications/"),
		chromedp.WaitVisible(chromedp.CSS("#saved-list select")),
	)
	if alert := run(t, ctx, chromedp.Value(chromedp.CSS("#saved-list select"))); alert != "off" {
		t.Errorf("alert after unsubscribing: %q, want off", alert)
	}
}
