package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"portal/access"
	"portal/account"
	"portal/extract/extracttest"
	"portal/portaltest"
)

// uploadPDF uploads a synthetic PDF of the given pages as u, for u's named
// group (not every member), and returns the record's ID.
func uploadPDF(t *testing.T, p *portaltest.Portal, u portaltest.User, title string, tlp access.TLP, pages []string) string {
	t.Helper()
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, time.Now())
	group := ""
	for _, g := range u.Groups {
		if g != "members" {
			group = g
		}
	}
	if group == "" {
		t.Fatal("uploadPDF needs a member of a named group")
	}
	meta := map[string]any{
		"title": title, "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record for the reader test.", "year": 2024, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": []string{group}, "tlp": tlp,
	}
	resp, body := c.Upload("POST", "/api/research", meta, "reader.pdf", extracttest.PDF(t, pages))
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var d struct{ ID string }
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// TestDocumentReader: a search hit's page opens beside its text with the
// query's words marked; previous, next and the page form work from the
// keyboard; the image is the page at 800 pixels; axe finds nothing, in
// English and in Arabic.
func TestDocumentReader(t *testing.T) {
	p := portal(t)
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	// Another member uploads: a TOTP code is accepted once, and the
	// browser's login needs its own.
	uploader := p.SeedUser(t, account.RoleMember, "victim-identification")
	word := fmt.Sprintf("sandwort%d", time.Now().UnixNano()%1e6)
	id := uploadPDF(t, p, uploader, "Synthetic reader "+word, access.Amber, []string{
		"Synthetic first page about coordination between agencies.",
		"Synthetic second page: the " + word + " procedure is described here.",
		"Synthetic third page about training.",
	})
	ctx := browser(t)
	path := "/en/research/document/?id=" + id + "&page=2&q=" + word
	loginInBrowser(t, ctx, p, u, "/en/research/document/")
	do(t, ctx,
		chromedp.Navigate(p.URL+path),
		chromedp.WaitVisible(chromedp.CSS("#document-reader")),
		chromedp.Poll[chromedp.Void](`document.querySelector("#document-reader-text mark") !== null`, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Poll[chromedp.Void](`(i => i.complete && i.naturalWidth > 0)(document.querySelector("#document-reader-image"))`, chromedp.WithPollingTimeout(30*time.Second)),
	)
	marked := run(t, ctx, chromedp.Text(chromedp.CSS("#document-reader-text mark")))
	width := run(t, ctx, chromedp.Evaluate[int](`document.querySelector("#document-reader-image").naturalWidth`))
	position := run(t, ctx, chromedp.Text(chromedp.CSS("#document-reader-position")))
	matchShown := run(t, ctx, chromedp.Evaluate[bool](`!document.querySelector("#document-reader-match").hidden`))
	if marked != word || width != 800 || position != "Page 2 of 3" || !matchShown {
		t.Errorf("reader at the hit: marked %q, image %d wide, position %q, match notice %v", marked, width, position, matchShown)
	}
	checkAxe(t, ctx, "document reader")
	screenshot(t, ctx, "research-reader")

	// Keyboard: Tab to "Next page" and press Enter; then the page form.
	do(t, ctx,
		chromedp.Focus(chromedp.CSS("#document-reader-next")),
		chromedp.KeyEvent(kb.Enter),
		chromedp.Poll[chromedp.Void](`document.querySelector("#document-reader-text").textContent.includes("third page")`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	if src := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("#document-reader-image"), "src")).Value; !strings.Contains(src, "/pages/3/preview?width=800") {
		t.Errorf("image after next: %q", src)
	}
	if disabled := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#document-reader-next").disabled`)); !disabled {
		t.Error("next is enabled on the last page")
	}
	if focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "document-reader-position" {
		t.Errorf("on the last page the focus is on %q, want the reader's position", focused)
	}
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS("#document-reader-page"), "9"),
		chromedp.Focus(chromedp.CSS("#document-reader-page")),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#document-reader-page-error")),
	)
	checkAxe(t, ctx, "document reader, page form error")
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS("#document-reader-page"), "1"),
		chromedp.Focus(chromedp.CSS("#document-reader-page")),
		chromedp.KeyEvent(kb.Enter),
		chromedp.Poll[chromedp.Void](`document.querySelector("#document-reader-text").textContent.includes("first page")`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	address := run(t, ctx, chromedp.Evaluate[string](`location.search`))
	if focused != "document-reader-position" || !strings.Contains(address, "page=1") {
		t.Errorf("after the page form: focus on %q, address %q", focused, address)
	}

	do(t, ctx,
		chromedp.Navigate(p.URL+strings.Replace(path, "/en/", "/ar/", 1)),
		chromedp.WaitVisible(chromedp.CSS("#document-reader")),
		chromedp.Poll[chromedp.Void](`document.querySelector("#document-reader-text mark") !== null`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	dir := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#document-reader")).direction`))
	if dir != "rtl" {
		t.Errorf("Arabic reader direction %q", dir)
	}
	checkAxe(t, ctx, "Arabic document reader")
	screenshot(t, ctx, "research-reader-ar")

	// A text document: the passage, no image.
	c := p.NewClient(t)
	c.Login(uploader.Email, uploader.Password, uploader.TOTPSecret, time.Now().Add(30*time.Second))
	meta := map[string]any{
		"title": "Synthetic notes " + word, "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record for the reader test.", "year": 2024, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": []string{"victim-identification"}, "tlp": access.Green,
	}
	resp, body := c.Upload("POST", "/api/research", meta, "notes.txt", []byte("Synthetic notes: the "+word+" procedure in a text file."))
	if resp.StatusCode != 201 {
		t.Fatalf("upload text: %d %s", resp.StatusCode, body)
	}
	var d struct{ ID string }
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/research/document/?id="+d.ID+"&page=1&q="+word),
		chromedp.Poll[chromedp.Void](`document.querySelector("#document-reader-text mark") !== null`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	figure := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#document-reader-figure").hidden`))
	position = run(t, ctx, chromedp.Text(chromedp.CSS("#document-reader-position")))
	if !figure || position != "Passage 1 of 1" {
		t.Errorf("text document reader: figure hidden %v, position %q", figure, position)
	}
	checkAxe(t, ctx, "text document reader")
}
