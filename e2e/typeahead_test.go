package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"portal/access"
	"portal/account"
)

// TestTypeahead: the search boxes suggest titles as one types, as a
// WAI-ARIA combobox: the list opens with the titles, the arrow keys choose,
// Escape closes, Enter goes to the title's page; in Arabic too; a member's
// research box suggests the research titles they may see; axe finds
// nothing with the list open. Without JavaScript the box is a plain form.
func TestTypeahead(t *testing.T) {
	p := portal(t)

	// The served page: a plain GET form, no combobox until the script runs.
	resp, err := http.Get(p.URL + "/en/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	box := regexp.MustCompile(`<input[^>]*id="site-search-q"[^>]*>`).FindString(string(html))
	if box == "" || strings.Contains(box, "combobox") || !strings.Contains(string(html), `method="get"`) {
		t.Errorf("served search box: %q", box)
	}

	ctx := browser(t)
	list := `document.getElementById(document.querySelector("#site-search-q").getAttribute("aria-controls"))`
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/"),
		chromedp.WaitVisible(chromedp.CSS("#site-search-q")),
		chromedp.Poll[chromedp.Void](`document.querySelector("#site-search-q").getAttribute("role") === "combobox"`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.SendKeys(chromedp.CSS("#site-search-q"), "yellow not"),
		chromedp.Poll[chromedp.Void](list+`.querySelectorAll('[role="option"]').length > 0 && !`+list+`.hidden`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	titles := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(`+list+`.querySelectorAll(".suggest-title"), e => e.textContent)`))
	expanded := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("#site-search-q"), "aria-expanded")).Value
	if !strings.Contains(strings.Join(titles, "|"), "Yellow and Green Notices") || expanded != "true" {
		t.Errorf("suggestions for %q: %v, aria-expanded %q", "yellow not", titles, expanded)
	}
	checkAxe(t, ctx, "search box with suggestions open")
	screenshot(t, ctx, "typeahead")

	do(t, ctx, chromedp.KeyEvent(kb.ArrowDown))
	activeID := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("#site-search-q"), "aria-activedescendant")).Value
	selected := run(t, ctx, chromedp.Evaluate[string](`(id => id ? document.getElementById(id).getAttribute("aria-selected") : "")(document.querySelector("#site-search-q").getAttribute("aria-activedescendant"))`))
	focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if activeID == "" || selected != "true" || focused != "site-search-q" {
		t.Errorf("after ArrowDown: active %q (aria-selected %q), focus on %q", activeID, selected, focused)
	}
	do(t, ctx, chromedp.KeyEvent(kb.Escape))
	if hidden := run(t, ctx, chromedp.Evaluate[bool](list+`.hidden`)); !hidden {
		t.Error("Escape left the list open")
	}
	do(t, ctx,
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.Poll[chromedp.Void](`!!document.querySelector("#site-search-q").getAttribute("aria-activedescendant")`, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.KeyEvent(kb.Enter),
	)
	// The page navigates: ask until the new one answers.
	path := "/en/"
	for deadline := time.Now().Add(10 * time.Second); path == "/en/" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err == nil {
			path = got
		}
	}
	if !strings.Contains(path, "notices") {
		t.Errorf("Enter on the suggestion went to %q", path)
	}

	// Arabic, right to left.
	do(t, ctx,
		chromedp.Navigate(p.URL+"/ar/"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#site-search-q").getAttribute("role") === "combobox"`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.SendKeys(chromedp.CSS("#site-search-q"), "النشرتان"),
		chromedp.Poll[chromedp.Void](list+`.querySelectorAll('[role="option"]').length > 0 && !`+list+`.hidden`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	arTitles := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(`+list+`.querySelectorAll(".suggest-title"), e => e.textContent)`))
	dir := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(`+list+`).direction`))
	if len(arTitles) == 0 || !strings.Contains(strings.Join(arTitles, "|"), "النشرتان الصفراء والخضراء") || dir != "rtl" {
		t.Errorf("Arabic suggestions: %v, direction %q", arTitles, dir)
	}
	checkAxe(t, ctx, "Arabic search box with suggestions open")
	screenshot(t, ctx, "typeahead-ar")

	// A member's research box: their group's research title, not another's.
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	other := p.SeedUser(t, account.RoleMember, "access-blocking")
	uploader := p.SeedUser(t, account.RoleMember, "victim-identification")
	word := "marramgrass" + time.Now().Format("150405")
	mine := "Synthetic " + word + " victim identification study"
	uploadPDF(t, p, uploader, mine, access.Green, []string{"Synthetic text for the typeahead test."})
	uploadPDF(t, p, other, "Synthetic "+word+" access blocking study", access.Green, []string{"Synthetic text for the typeahead test."})
	loginInBrowser(t, ctx, p, u, "/en/research/")
	researchList := `document.getElementById(document.querySelector("#research-q").getAttribute("aria-controls"))`
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		do(t, ctx,
			chromedp.Navigate(p.URL+"/en/research/"),
			chromedp.WaitVisible(chromedp.CSS("#research-q")),
			chromedp.Poll[chromedp.Void](`document.querySelector("#research-q").getAttribute("role") === "combobox"`, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.SendKeys(chromedp.CSS("#research-q"), "synthetic "+word[:len(word)-3]),
			chromedp.Sleep(time.Second),
		)
		got = run(t, ctx, chromedp.Evaluate[[]string](`Array.from(`+researchList+`.querySelectorAll(".suggest-option"), e => e.textContent)`))
		if len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], mine) || !strings.Contains(got[0], "Research") {
		t.Errorf("member's research suggestions: %v, want only %q", got, mine)
	}
	checkAxe(t, ctx, "research search box with suggestions open")
}
