package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/account"
	"portal/portaltest"
)

// loginInBrowser logs a seeded user in through the login page, which then
// sends the browser on to next.
func loginInBrowser(t *testing.T, ctx context.Context, p *portaltest.Portal, u portaltest.User, next string) {
	t.Helper()
	var path string
	run(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/login/?next="+next),
		chromedp.WaitVisible("#login-email", chromedp.ByQuery),
		chromedp.SendKeys("#login-email", u.Email, chromedp.ByQuery),
		chromedp.SendKeys("#login-password", u.Password+"\n", chromedp.ByQuery),
		chromedp.WaitVisible("#login-code", chromedp.ByQuery),
		chromedp.SendKeys("#login-code", account.TOTPCode(u.TOTPSecret, time.Now()), chromedp.ByQuery),
		chromedp.Click(`#login-code-form button[type="submit"]`, chromedp.ByQuery),
	)
	// The page navigates: ask until the new one answers.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := chromedp.Run(ctx, chromedp.Evaluate(`location.pathname`, &path)); err == nil && path == next {
			return
		}
	}
	t.Fatalf("after login: %s, want %s", path, next)
}

func checkAxe(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, v := range axe(t, ctx) {
		t.Errorf("%s: %s", what, v)
	}
}

// TestResearchLibrary: a member who is not logged in is offered a login
// link; logged in, they upload a text file through the form, open the new
// document, find it by a word of its text with the filters in the address,
// and withdraw it. axe-core checks the pages on the way, in English and
// Arabic, with a form's errors shown.
func TestResearchLibrary(t *testing.T) {
	p := portal(t)
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	ctx := browser(t)

	// Not logged in: a login link that comes back here.
	var loginHref string
	run(t, ctx,
		chromedp.Navigate(p.URL+"/en/research/?q=anything"),
		chromedp.WaitVisible("#research-login-link", chromedp.ByQuery),
		chromedp.AttributeValue("#research-login-link", "href", &loginHref, new(bool), chromedp.ByQuery),
	)
	if !strings.HasPrefix(loginHref, "/en/account/login/?next=") || !strings.Contains(loginHref, "research") {
		t.Errorf("login link %q", loginHref)
	}
	checkAxe(t, ctx, "search page, logged out")

	loginInBrowser(t, ctx, p, u, "/en/research/upload/")
	run(t, ctx, chromedp.WaitVisible("#upload-form", chromedp.ByQuery), chromedp.WaitVisible("#upload-topic-victim-identification", chromedp.ByQuery))
	checkAxe(t, ctx, "upload page")

	// An empty form: errors on the fields, the first one focused.
	var focused string
	var errorsShown int
	run(t, ctx,
		chromedp.Click(`#upload-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#upload-title-error", chromedp.ByQuery),
		chromedp.Evaluate(`document.activeElement.id`, &focused),
		chromedp.Evaluate(`document.querySelectorAll("#upload-form .field-error:not([hidden])").length`, &errorsShown),
	)
	if focused != "upload-title" || errorsShown < 5 {
		t.Errorf("empty form: focus on %q, %d errors shown", focused, errorsShown)
	}
	checkAxe(t, ctx, "upload page with errors")
	screenshot(t, ctx, "research-upload-errors")

	word := fmt.Sprintf("quillwort%d", time.Now().UnixNano()%1e6)
	file := filepath.Join(t.TempDir(), "field-notes.txt")
	text := "Field notes on victim identification workflows.\n\nThe " + word + " method links image series across cases.\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	title := "Field notes " + word
	var docHref string
	run(t, ctx,
		chromedp.SendKeys("#upload-title", title, chromedp.ByQuery),
		chromedp.SendKeys("#upload-authors", "A. Researcher\nB. Analyst", chromedp.ByQuery),
		chromedp.SetValue("#upload-type", "report", chromedp.ByQuery),
		chromedp.Click("#upload-topic-victim-identification", chromedp.ByQuery),
		chromedp.SendKeys("#upload-countries", "fr, ke", chromedp.ByQuery),
		// The group list is redrawn once the member's groups have loaded;
		// keep the box ticked whatever the timing.
		chromedp.Poll(`(el => { if (el && !el.checked) el.click(); return !!el && el.checked })(document.querySelector("#upload-group-victim-identification"))`,
			nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Poll(`(el => { if (!el.checked) el.click(); return el.checked })(document.querySelector("#upload-group-victim-identification"))`,
			nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.SetValue("#upload-tlp", "TLP:AMBER", chromedp.ByQuery),
		chromedp.SendKeys("#upload-abstract", "How the "+word+" method works.", chromedp.ByQuery),
		chromedp.SetUploadFiles("#upload-file", []string{file}, chromedp.ByQuery),
		// Choosing the file hides its error from the empty submit, which
		// moves the submit button up; a click computed before that lands
		// beside the button and the stale errors read as a refusal.
		chromedp.WaitNotVisible("#upload-file-error", chromedp.ByQuery),
		chromedp.Click(`#upload-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitNotVisible("#upload-title-error", chromedp.ByQuery),
	)
	var state string
	run(t, ctx,
		chromedp.Poll(`!document.querySelector("#upload-result").hidden || document.querySelector("#app-alert").textContent !== "" ||
			document.querySelector("#upload-form .field-error:not([hidden])") !== null`, nil, chromedp.WithPollingTimeout(45*time.Second)),
		chromedp.Evaluate(`document.querySelector("#app-alert").textContent + Array.from(document.querySelectorAll("#upload-form .field-error:not([hidden])"), e => e.id + ": " + e.textContent).join("; ")`, &state),
	)
	if state != "" {
		t.Fatalf("upload refused: %s", state)
	}
	run(t, ctx, chromedp.AttributeValue("#upload-result-link", "href", &docHref, new(bool), chromedp.ByQuery))
	if !strings.HasPrefix(docHref, "/en/research/document/?id=") {
		t.Fatalf("link to the new document: %q", docHref)
	}
	checkAxe(t, ctx, "upload page after upload")
	screenshot(t, ctx, "research-upload-done")

	// The document page: TLP label first, details, one version.
	var h1, tlp, meaning string
	var versions int
	run(t, ctx,
		chromedp.Navigate(p.URL+docHref),
		chromedp.WaitVisible("#document-content", chromedp.ByQuery),
		chromedp.Text("main h1", &h1, chromedp.ByQuery),
		chromedp.Text("#document-tlp-label", &tlp, chromedp.ByQuery),
		chromedp.Text("#document-tlp-meaning", &meaning, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#document-versions-body tr a[href*='/download?version=1']").length`, &versions),
	)
	if h1 != title || tlp != "TLP:AMBER" || meaning == "" || versions != 1 {
		t.Errorf("document page: h1 %q, tlp %q (%q), %d version links", h1, tlp, meaning, versions)
	}
	checkAxe(t, ctx, "document page")
	screenshot(t, ctx, "research-document")

	// The edit form open, then the Arabic document page.
	run(t, ctx,
		chromedp.Click("#document-edit-toggle", chromedp.ByQuery),
		chromedp.WaitVisible("#edit-title", chromedp.ByQuery),
	)
	var editTitle string
	run(t, ctx, chromedp.Value("#edit-title", &editTitle, chromedp.ByQuery))
	if editTitle != title {
		t.Errorf("edit form title %q", editTitle)
	}
	checkAxe(t, ctx, "document page, edit form open")
	screenshot(t, ctx, "research-document-edit")
	run(t, ctx,
		chromedp.Navigate(p.URL+strings.Replace(docHref, "/en/", "/ar/", 1)),
		chromedp.WaitVisible("#document-content", chromedp.ByQuery),
	)
	checkAxe(t, ctx, "Arabic document page")
	screenshot(t, ctx, "research-document-ar")

	// Search: the word of the text, filtered by TLP and topic, all in the
	// address. Indexing may take a moment.
	search := "/en/research/?q=" + word + "&tlp=TLP%3AAMBER&topics=victim-identification"
	var hrefs []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out string
		run(t, ctx,
			chromedp.Navigate(p.URL+search),
			chromedp.WaitVisible("#research-content", chromedp.ByQuery),
			chromedp.Poll(`document.querySelector("#research-summary").textContent !== ""`, nil, chromedp.WithPollingTimeout(15*time.Second)),
			chromedp.Evaluate(`Array.from(document.querySelectorAll("#research-hits a.research-hit-link"), a => a.getAttribute("href")).join(" ")`, &out),
		)
		hrefs = strings.Fields(out)
		if len(hrefs) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(hrefs) != 1 || hrefs[0] != docHref {
		t.Fatalf("search for %s: %v, want %s", word, hrefs, docHref)
	}
	var tlpChecked, topicChecked bool
	var q, address string
	run(t, ctx,
		chromedp.Evaluate(`document.querySelector("#facet-tlp-tlp-amber").checked`, &tlpChecked),
		chromedp.Evaluate(`document.querySelector("#facet-topics-victim-identification").checked`, &topicChecked),
		chromedp.Value("#research-q", &q, chromedp.ByQuery),
		chromedp.Evaluate(`location.search`, &address),
	)
	if !tlpChecked || !topicChecked || q != word || !strings.Contains(address, "tlp=TLP%3AAMBER") {
		t.Errorf("filters from the address: tlp %v, topic %v, q %q, address %q", tlpChecked, topicChecked, q, address)
	}
	checkAxe(t, ctx, "search page with results")
	screenshot(t, ctx, "research-search")

	// Sorting puts the choice in the address.
	run(t, ctx,
		chromedp.SetValue("#research-sort", "oldest", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#research-sort").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`location.search.includes("sort=oldest")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
	)

	run(t, ctx,
		chromedp.Navigate(p.URL+"/ar/research/?q="+word),
		chromedp.WaitVisible("#research-content", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#research-summary").textContent !== ""`, nil, chromedp.WithPollingTimeout(15*time.Second)),
	)
	checkAxe(t, ctx, "Arabic search page")
	screenshot(t, ctx, "research-search-ar")

	// Withdraw, after confirming.
	var withdrawn bool
	run(t, ctx,
		chromedp.Navigate(p.URL+docHref),
		chromedp.WaitVisible("#document-withdraw", chromedp.ByQuery),
		chromedp.Click("#document-withdraw", chromedp.ByQuery),
		chromedp.WaitVisible("#app-confirm", chromedp.ByQuery),
		chromedp.Click(`#app-confirm [data-confirm="yes"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#document-withdrawn", chromedp.ByQuery),
		chromedp.WaitVisible("#document-restore", chromedp.ByQuery),
		chromedp.Evaluate(`!document.querySelector("#document-withdrawn").hidden`, &withdrawn),
	)
	if !withdrawn {
		t.Error("no withdrawn notice")
	}
	checkAxe(t, ctx, "withdrawn document page")
}
