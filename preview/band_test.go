package preview

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"portal/access"
)

func TestBandMarksTopAndBottom(t *testing.T) {
	page := image.NewRGBA(image.Rect(0, 0, 800, 1131))
	draw.Draw(page, page.Bounds(), image.White, image.Point{}, draw.Src)
	out, err := Band(page, Stamp{Reader: "Synthetic Reader", Label: access.Amber, Date: "2026-12-04"})
	if err != nil {
		t.Fatal(err)
	}
	h := BandHeight(800)
	for _, top := range []int{0, 1131 - h} {
		fill, ink := 0, 0
		for y := top; y < top+h; y++ {
			for x := 0; x < 800; x++ {
				switch c := out.RGBAAt(x, y); {
				case c == BandColor(access.Amber):
					fill++
				case c.R < 0x40 && c.G < 0x40 && c.B < 0x40:
					ink++
				}
			}
		}
		if fill < 800*h/2 || ink < 200 {
			t.Errorf("band at %d: %d amber and %d dark pixels of %d", top, fill, ink, 800*h)
		}
	}
	if c := out.RGBAAt(400, 500); c != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("page body changed to %v", c)
	}
}

func TestVisualArabic(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Ana Test", "Ana Test"},
		// سلمى: seen initial, lam medial, meem medial, alef maksura final,
		// drawn right to left.
		{"سلمى", "\uFEF0\uFEE4\uFEE0\uFEB3"},
		// لا as one ligature.
		{"لا", "\uFEFB"},
		{"سلمى 2", "2 \uFEF0\uFEE4\uFEE0\uFEB3"},
	} {
		if got := visual(c.in); got != c.want {
			t.Errorf("visual(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
