package extract_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"

	"portal/extract"
	"portal/extract/extracttest"
	"portal/extract/gen"
)

// darkPixels counts pixels darker than mid-grey: the ink on a page.
func darkPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3 < 0x8000 {
				n++
			}
		}
	}
	return n
}

func TestRenderPage(t *testing.T) {
	x := shared
	pdf := extracttest.PDF(t, []string{"Synthetic test page one.", "Synthetic test page two, with more words on it than the first one has."})
	img, err := x.RenderPage(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), 2, 400)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 400 || h < 560 || h > 570 {
		t.Errorf("A4 page at width 400 is %dx%d, want 400x566", w, h)
	}
	if n := darkPixels(img); n < 50 {
		t.Errorf("page 2 has %d dark pixels: no text drawn", n)
	}
	if _, err := x.RenderPage(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), 3, 400); !errors.Is(err, extract.ErrNoPage) {
		t.Errorf("page 3 of 2: %v, want ErrNoPage", err)
	}

	// A page rendered and wrapped as an image is a scan: no text layer,
	// but the same ink.
	scan, err := gen.ImagePDF(img)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := extractBytes(t, x, extract.KindPDF, scan)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Text != "" {
		t.Errorf("image-only PDF: %+v, want one page without text", doc.Pages)
	}
	again, err := x.RenderPage(context.Background(), bytes.NewReader(scan), int64(len(scan)), 1, 400)
	if err != nil {
		t.Fatal(err)
	}
	if n := darkPixels(again); n < darkPixels(img)/2 {
		t.Errorf("rendered scan has %d dark pixels, the original %d", n, darkPixels(img))
	}
}
