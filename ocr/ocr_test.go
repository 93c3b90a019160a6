package ocr_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"portal/extract"
	"portal/extract/extracttest"
	"portal/ocr"
)

// A page drawn by PDFium, as a scan would be, is read back by Tesseract
// under its limits; a time limit too short to read it fails the page.
func TestRecognise(t *testing.T) {
	r, err := ocr.New(ocr.Options{})
	if err != nil {
		t.Fatal(err) // make test-deps installs Tesseract
	}
	x, err := extract.New(t.Context(), extract.Options{CacheDir: extracttest.CacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	pdf := extracttest.PDF(t, []string{"Synthetic scanned report. The harbour inspection schedule was agreed in March."})
	img, err := x.RenderPage(t.Context(), bytes.NewReader(pdf), int64(len(pdf)), 1, 1700)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	text, err := r.Recognise(t.Context(), buf.Bytes(), ocr.Languages("en"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(text), " "), "harbour inspection schedule") {
		t.Errorf("recognised %q", text)
	}

	short, err := ocr.New(ocr.Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Recognise(context.Background(), buf.Bytes(), ocr.Languages("other")); err == nil {
		t.Error("a page read within 50 ms: the time limit is not applied")
	}
	if _, err := r.Recognise(t.Context(), buf.Bytes(), "eng; rm -rf"); err == nil {
		t.Error("a bad language list was accepted")
	}
}
