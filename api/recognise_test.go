package api_test

import (
	"bytes"
	"fmt"
	"net/url"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/extract"
	"portal/extract/extracttest"
	"portal/extract/gen"
	"portal/ocr"
)

// A scanned PDF (its one page an image: a text page drawn by PDFium and
// wrapped by gen.ImagePDF) is stored at once, recognised in the
// background, and then found by a phrase of its page, marked as
// recognised text.
func TestScannedPDFIsRecognised(t *testing.T) {
	if _, err := ocr.New(ocr.Options{}); err != nil {
		t.Fatalf("%v: make test-deps installs Tesseract", err)
	}
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())

	word := fmt.Sprintf("kestrel%d", clock.Now().UnixNano()%1e6)
	x, err := extract.New(t.Context(), extract.Options{CacheDir: extracttest.CacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	text := extracttest.PDF(t, []string{"Synthetic scanned report. The " + word + " harbour inspection schedule was agreed in March."})
	img, err := x.RenderPage(t.Context(), bytes.NewReader(text), int64(len(text)), 1, 1700)
	if err != nil {
		t.Fatal(err)
	}
	scan, err := gen.ImagePDF(img)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	resp, body := c.Upload("POST", "/api/research", docMeta("Synthetic scan "+word, []string{"victim-identification"}, access.Green), "scan.pdf", scan)
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var d struct {
		ID, IndexState, Recognition string
	}
	decode(t, body, &d)
	if d.Recognition != "pending" || d.IndexState != "recognising" {
		t.Errorf("upload answered %s: recognition %q, index state %q; want pending, recognising", time.Since(start), d.Recognition, d.IndexState)
	}

	deadline := time.Now().Add(2 * time.Minute)
	for d.Recognition == "pending" && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		c.JSON("GET", "/api/research/"+d.ID, nil, 200, &d)
	}
	if d.Recognition != "done" {
		t.Fatalf("recognition %q after %s", d.Recognition, time.Since(start))
	}
	var page struct {
		Text       string
		Recognised bool
	}
	c.JSON("GET", "/api/research/"+d.ID+"/pages/1", nil, 200, &page)
	if !page.Recognised {
		t.Errorf("page 1 not marked recognised: %+v", page)
	}

	phrase := word + " harbour inspection"
	var hit struct {
		Page       int
		Recognised bool
	}
	for time.Now().Before(deadline) {
		var raw struct {
			Hits []struct {
				ID         string
				Page       int
				Recognised bool
			}
		}
		c.JSON("GET", "/api/search?"+url.Values{"q": {`"` + phrase + `"`}, "scope": {"research"}}.Encode(), nil, 200, &raw)
		found := false
		for _, h := range raw.Hits {
			if h.ID == d.ID {
				hit.Page, hit.Recognised, found = h.Page, h.Recognised, true
			}
		}
		if found {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if hit.Page != 1 || !hit.Recognised {
		t.Errorf("search for %q: hit %+v, want page 1 marked recognised (page text %q)", phrase, hit, page.Text)
	}
}
