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
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/login/?next="+next),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), u.Password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#login-code")),
		chromedp.SendKeys(chromedp.CSS("#login-code"), account.TOTPCode(u.TOTPSecret, time.Now())),
		chromedp.Click(chromedp.CSS(`#login-code-form button[type="submit"]`)),
	)
	// The page navigates: ask until the new one answers.
	var path string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil {
			continue
		}
		if path = got; path == next {
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
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/research/?q=anything"),
		chromedp.WaitVisible(chromedp.CSS("#research-login-link")),
	)
	loginHref := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("#research-login-link"), "href")).Value
	if !strings.HasPrefix(loginHref, "/en/account/login/?next=") || !strings.Contains(loginHref, "research") {
		t.Errorf("login link %q", loginHref)
	}
	checkAxe(t, ctx, "search page, logged out")

	loginInBrowser(t, ctx, p, u, "/en/research/upload/")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#upload-form")), chromedp.WaitVisible(chromedp.CSS("#upload-topic-victim-identification")))
	checkAxe(t, ctx, "upload page")

	// An empty form: errors on the fields, the first one focused.
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#upload-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#upload-title-error")),
	)
	focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	errorsShown := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#upload-form .field-error:not([hidden])").length`))
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
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#upload-title"), title),
		chromedp.SendKeys(chromedp.CSS("#upload-authors"), "A. Researcher\nB. Analyst"),
		chromedp.SetValue(chromedp.CSS("#upload-type"), "report"),
		chromedp.Click(chromedp.CSS("#upload-topic-victim-identification")),
		chromedp.SendKeys(chromedp.CSS("#upload-countries"), "fr, ke"),
		// The group list is redrawn once the member's groups have loaded;
		// keep the box ticked whatever the timing.
		chromedp.Poll[chromedp.Void](`(el => { if (el && !el.checked) el.click(); return !!el && el.checked })(document.querySelector("#upload-group-victim-identification"))`,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Poll[chromedp.Void](`(el => { if (!el.checked) el.click(); return el.checked })(document.querySelector("#upload-group-victim-identification"))`,
			chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.SetValue(chromedp.CSS("#upload-tlp"), "TLP:AMBER"),
		chromedp.SendKeys(chromedp.CSS("#upload-abstract"), "How the "+word+" method works."),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{file}),
		// Choosing the file hides its error from the empty submit, which
		// moves the submit button up; a click computed before that lands
		// beside the button and the stale errors read as a refusal.
		chromedp.WaitNotVisible(chromedp.CSS("#upload-file-error")),
		chromedp.Click(chromedp.CSS(`#upload-form button[type="submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#upload-title-error")),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#upload-result").hidden || document.querySelector("#app-alert").textContent !== "" ||
			document.querySelector("#upload-form .field-error:not([hidden])") !== null`, chromedp.WithPollingTimeout(45*time.Second)),
	)
	state := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#app-alert").textContent + Array.from(document.querySelectorAll("#upload-form .field-error:not([hidden])"), e => e.id + ": " + e.textContent).join("; ")`))
	if state != "" {
		t.Fatalf("upload refused: %s", state)
	}
	docHref := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("#upload-result-link"), "href")).Value
	if !strings.HasPrefix(docHref, "/en/research/document/?id=") {
		t.Fatalf("link to the new document: %q", docHref)
	}
	checkAxe(t, ctx, "upload page after upload")
	screenshot(t, ctx, "research-upload-done")

	// The document page: TLP label first, details, one version.
	do(t, ctx,
		chromedp.Navigate(p.URL+docHref),
		chromedp.WaitVisible(chromedp.CSS("#document-content")),
	)
	h1 := run(t, ctx, chromedp.Text(chromedp.CSS("main h1")))
	tlp := run(t, ctx, chromedp.Text(chromedp.CSS("#document-tlp-label")))
	meaning := run(t, ctx, chromedp.Text(chromedp.CSS("#document-tlp-meaning")))
	versions := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#document-versions-body tr a[href*='/download?version=1']").length`))
	if h1 != title || tlp != "TLP:AMBER" || meaning == "" || versions != 1 {
		t.Errorf("document page: h1 %q, tlp %q (%q), %d version links", h1, tlp, meaning, versions)
	}
	checkAxe(t, ctx, "document page")
	screenshot(t, ctx, "research-document")

	// The edit form open, then the Arabic document page.
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#document-edit-toggle")),
		chromedp.WaitVisible(chromedp.CSS("#edit-title")),
	)
	editTitle := run(t, ctx, chromedp.Value(chromedp.CSS("#edit-title")))
	if editTitle != title {
		t.Errorf("edit form title %q", editTitle)
	}
	checkAxe(t, ctx, "document page, edit form open")
	screenshot(t, ctx, "research-document-edit")
	do(t, ctx,
		chromedp.Navigate(p.URL+strings.Replace(docHref, "/en/", "/ar/", 1)),
		chromedp.WaitVisible(chromedp.CSS("#document-content")),
	)
	checkAxe(t, ctx, "Arabic document page")
	screenshot(t, ctx, "research-document-ar")

	// Search: the word of the text, filtered by TLP and topic, all in the
	// address. Indexing may take a moment.
	search := "/en/research/?q=" + word + "&tlp=TLP%3AAMBER&topics=victim-identification"
	var hrefs []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		do(t, ctx,
			chromedp.Navigate(p.URL+search),
			chromedp.WaitVisible(chromedp.CSS("#research-content")),
			chromedp.Poll[chromedp.Void](`document.querySelector("#research-summary").textContent !== ""`, chromedp.WithPollingTimeout(15*time.Second)),
		)
		hrefs = run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#research-hits a.research-hit-link"), a => a.getAttribute("href"))`))
		if len(hrefs) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	// The hit opens the document at the page of its best match, with the
	// search's words to mark there.
	if want := docHref + "&page=1&q=" + word; len(hrefs) != 1 || hrefs[0] != want {
		t.Fatalf("search for %s: %v, want %s", word, hrefs, want)
	}
	tlpChecked := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#facet-tlp-tlp-amber").checked`))
	topicChecked := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#facet-topics-victim-identification").checked`))
	q := run(t, ctx, chromedp.Value(chromedp.CSS("#research-q")))
	address := run(t, ctx, chromedp.Evaluate[string](`location.search`))
	if !tlpChecked || !topicChecked || q != word || !strings.Contains(address, "tlp=TLP%3AAMBER") {
		t.Errorf("filters from the address: tlp %v, topic %v, q %q, address %q", tlpChecked, topicChecked, q, address)
	}
	checkAxe(t, ctx, "search page with results")
	screenshot(t, ctx, "research-search")

	// Sorting puts the choice in the address.
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS("#research-sort"), "oldest"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#research-sort").dispatchEvent(new Event("change"))`),
		chromedp.Poll[chromedp.Void](`location.search.includes("sort=oldest")`, chromedp.WithPollingTimeout(10*time.Second)),
	)

	do(t, ctx,
		chromedp.Navigate(p.URL+"/ar/research/?q="+word),
		chromedp.WaitVisible(chromedp.CSS("#research-content")),
		chromedp.Poll[chromedp.Void](`document.querySelector("#research-summary").textContent !== ""`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	checkAxe(t, ctx, "Arabic search page")
	screenshot(t, ctx, "research-search-ar")

	// Withdraw, after confirming.
	do(t, ctx,
		chromedp.Navigate(p.URL+docHref),
		chromedp.WaitVisible(chromedp.CSS("#document-withdraw")),
		chromedp.Click(chromedp.CSS("#document-withdraw")),
		chromedp.WaitVisible(chromedp.CSS("#app-confirm")),
		chromedp.Click(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.WaitVisible(chromedp.CSS("#document-withdrawn")),
		chromedp.WaitVisible(chromedp.CSS("#document-restore")),
	)
	withdrawn := run(t, ctx, chromedp.Evaluate[bool](`!document.querySelector("#document-withdrawn").hidden`))
	if !withdrawn {
		t.Error("no withdrawn notice")
	}
	checkAxe(t, ctx, "withdrawn document page")
}
