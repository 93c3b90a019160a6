package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"portal/access"
	"portal/account"
	"portal/extract/extracttest"
	"portal/preview"
	"portal/research"
)

// bandPixels counts, in the top band of a preview, pixels of the label's
// colour and dark (text) pixels.
func bandPixels(img image.Image, tlp access.TLP) (fill, ink int) {
	want := preview.BandColor(tlp)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Min.Y+preview.BandHeight(b.Dx()); y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			switch {
			case uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(bl>>8) == want.B:
				fill++
			case r < 0x4000 && g < 0x4000 && bl < 0x4000:
				ink++
			}
		}
	}
	return fill, ink
}

// Page previews: the image is served only to readers access.CanSee lets
// see the record, 404 to anyone else whatever page or width they guess;
// TLP:AMBER and above carry the reader's band; each view is audited; the
// cached images go when the record is withdrawn.
func TestPagePreview(t *testing.T) {
	p, clock := withAccounts(t)
	owner := p.SeedUser(t, account.RoleMember, "victim-identification")
	other := p.SeedUser(t, account.RoleMember, "access-blocking")
	oc, xc := p.NewClient(t), p.NewClient(t)
	oc.Login(owner.Email, owner.Password, owner.TOTPSecret, clock.Now())
	xc.Login(other.Email, other.Password, other.TOTPSecret, clock.Now())
	upload := func(tlp access.TLP) string {
		pdf := extracttest.PDF(t, []string{
			"Synthetic preview test, first page, " + string(tlp) + ". Coordination between agencies.",
			"Synthetic preview test, second page. Shared procedures and training.",
		})
		title := fmt.Sprintf("Synthetic preview %s %d", tlp, clock.Now().UnixNano())
		resp, body := oc.Upload("POST", "/api/research", docMeta(title, []string{"victim-identification"}, tlp), "p.pdf", pdf)
		if resp.StatusCode != 201 {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		var d docResp
		decode(t, body, &d)
		return d.ID
	}
	amber, green, red := upload(access.Amber), upload(access.Green), upload(access.Red)
	url := func(id string, page any, width any) string {
		return fmt.Sprintf("/api/research/%s/pages/%v/preview?width=%v", id, page, width)
	}

	// Another group's member: 404 for every guess, the same as for a
	// record that does not exist.
	for _, id := range []string{amber, green, red} {
		for _, path := range []string{"/api/research/" + id + "/pages/2", url(id, 1, 800), url(id, 2, 1600), url(id, 1, 1234), url(id, 99, 800), url(id, "x", "y"), url(id, 1, "")} {
			resp, body := xc.Do("GET", path, nil)
			if resp.StatusCode != 404 || resp.Header.Get("Content-Type") == "image/png" {
				t.Errorf("other group GET %s: %d %s, want 404", path, resp.StatusCode, body)
			}
		}
	}

	get := func(path string) image.Image {
		t.Helper()
		resp, body := oc.Do("GET", path, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body[:min(len(body), 300)])
		}
		img, err := png.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("GET %s: not a PNG: %v", path, err)
		}
		return img
	}
	var text struct {
		Number, Pages int
		Kind, Text    string
		Recognised    bool
	}
	oc.JSON("GET", "/api/research/"+amber+"/pages/2", nil, 200, &text)
	if text.Number != 2 || text.Pages != 2 || text.Kind != "pdf" || !strings.Contains(text.Text, "second page") || text.Recognised {
		t.Errorf("page 2 text: %+v", text)
	}
	img := get(url(amber, 2, 800))
	if w := img.Bounds().Dx(); w != 800 {
		t.Errorf("width 800 gave an image %d wide", w)
	}
	if fill, ink := bandPixels(img, access.Amber); fill < 800*preview.BandHeight(800)/2 || ink < 100 {
		t.Errorf("TLP:AMBER preview band: %d amber and %d dark pixels", fill, ink)
	}
	if img := get(url(amber, 1, 1600)); img.Bounds().Dx() != 1600 {
		t.Errorf("width 1600 gave an image %d wide", img.Bounds().Dx())
	}
	if fill, _ := bandPixels(get(url(green, 1, 800)), access.Amber); fill != 0 {
		t.Errorf("TLP:GREEN preview has %d band pixels, want none", fill)
	}
	if fill, ink := bandPixels(get(url(red, 1, 800)), access.Red); fill < 800*preview.BandHeight(800)/2 || ink < 100 {
		t.Errorf("TLP:RED preview band: %d red and %d dark pixels", fill, ink)
	}
	for path, want := range map[string]int{url(amber, 1, 1234): 400, url(amber, 3, 800): 404, url(amber, 0, 800): 404} {
		if resp, body := oc.Do("GET", path, nil); resp.StatusCode != want {
			t.Errorf("owner GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}
	if n := auditCount(t, p, research.ActionPreview, owner.ID); n != 4 {
		t.Errorf("%d preview entries for 4 images shown, want 4", n)
	}

	if n, err := p.Research.PreviewsCached(t.Context(), amber); err != nil || n != 2 {
		t.Fatalf("cached images of the amber record: %d, %v; want 2", n, err)
	}
	if resp, body := oc.Do("POST", "/api/research/"+amber+"/withdraw", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("withdraw: %d %s", resp.StatusCode, body)
	}
	if n, err := p.Research.PreviewsCached(t.Context(), amber); err != nil || n != 0 {
		t.Errorf("cached images after withdrawal: %d, %v; want 0", n, err)
	}
	// Its uploader still reads it, and nothing is kept again.
	get(url(amber, 1, 800))
	if n, err := p.Research.PreviewsCached(t.Context(), amber); err != nil || n != 0 {
		t.Errorf("cached images after the uploader read the withdrawn record: %d, %v; want 0", n, err)
	}
	if resp, body := xc.Do("GET", url(amber, 1, 800), nil); resp.StatusCode != 404 {
		t.Errorf("other group, withdrawn record: %d %s, want 404", resp.StatusCode, body)
	}
}
