package preview

import (
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"portal/access"
)

// DejaVu Sans covers Latin and Arabic (with the Arabic presentation forms
// that shape below relies on). Its licence is font/LICENSE.
//
//go:embed font/DejaVuSans.ttf
var fontData []byte

var parsedFont = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(fontData) })

// NeedsBand reports whether an image of a document with this label carries
// the reader's band: TLP:AMBER and above, whose sharing is limited to
// named recipients, so a screenshot must say whose it was.
func NeedsBand(t access.TLP) bool {
	return t == access.Amber || t == access.AmberStrict || t == access.Red
}

// BandColor is the fill of the band for a label: the TLP 2.0 colour of
// the label, so the band also says the label at a glance.
func BandColor(t access.TLP) color.RGBA {
	if t == access.Red {
		return color.RGBA{0xff, 0x2b, 0x2b, 0xff}
	}
	return color.RGBA{0xff, 0xc0, 0x00, 0xff}
}

// BandHeight is the height of each band on an image width pixels wide.
func BandHeight(width int) int { return max(24, width/25) }

// Stamp is what a band says.
type Stamp struct {
	Reader string     // the reader's name as the portal knows it
	Label  access.TLP // the document's label
	Date   string     // the day of the view, YYYY-MM-DD
}

// Band returns a copy of img with a band across its top and its bottom
// that names the reader, the label and the date, black on the label's
// colour. A crop that removes one band leaves the other.
func Band(img image.Image, s Stamp) (*image.RGBA, error) {
	f, err := parsedFont()
	if err != nil {
		return nil, fmt.Errorf("preview: font: %w", err)
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)

	h := min(BandHeight(b.Dx()), b.Dy()/4)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(h) * 0.55, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("preview: font face: %w", err)
	}
	defer face.Close()

	text := string(s.Label) + "  ·  " + visual(s.Reader) + "  ·  " + s.Date
	d := &font.Drawer{Src: image.Black, Face: face}
	// A name too long for the band is cut: label and date must stay.
	for d.MeasureString(text) > fixed.I(b.Dx()-h) && len([]rune(s.Reader)) > 1 {
		r := []rune(s.Reader)
		s.Reader = string(r[:len(r)-1])
		text = string(s.Label) + "  ·  " + visual(s.Reader+"…") + "  ·  " + s.Date
	}
	fill := image.NewUniform(BandColor(s.Label))
	for _, top := range []int{0, b.Dy() - h} {
		draw.Draw(out, image.Rect(0, top, b.Dx(), top+h), fill, image.Point{}, draw.Src)
		m := face.Metrics()
		base := top + (h+(m.Ascent-m.Descent).Ceil())/2
		d.Dst = out
		d.Dot = fixed.P(h/2, base)
		d.DrawString(text)
	}
	return out, nil
}

// visual returns s in the order its letters are drawn left to right, with
// Arabic letters in their joined forms. golang.org/x/image draws one glyph
// per rune and neither shapes nor reorders, so the band does both here,
// simply: a run of Arabic (letters and the spaces between them) is shaped
// with the Arabic Presentation Forms-B of Unicode and reversed, runs of
// other text keep their order, and in a name that starts with Arabic the
// runs are laid right to left. Vowel marks are left out. This is enough
// for a name to read correctly; it is not a full bidi algorithm.
func visual(s string) string {
	var runs []string
	var cur []rune
	arabic, first := false, true
	rtl := false
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if arabic {
			cur = shape(cur)
			for i, j := 0, len(cur)-1; i < j; i, j = i+1, j-1 {
				cur[i], cur[j] = cur[j], cur[i]
			}
		}
		runs = append(runs, string(cur))
		cur = nil
	}
	for _, r := range s {
		if isMark(r) {
			continue
		}
		a := isArabic(r) || (arabic && r == ' ')
		if first && (isArabic(r) || unicode.IsLetter(r)) {
			rtl, first = isArabic(r), false
		}
		if a != arabic {
			flush()
			arabic = a
		}
		cur = append(cur, r)
	}
	flush()
	if rtl {
		for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
			runs[i], runs[j] = runs[j], runs[i]
		}
	}
	return strings.Join(runs, "")
}

func isArabic(r rune) bool { return r >= 0x0621 && r <= 0x064A }

// isMark reports Arabic vowel marks, which the band leaves out.
func isMark(r rune) bool { return r >= 0x064B && r <= 0x065F || r == 0x0670 }

// forms gives each Arabic letter its isolated form in Presentation
// Forms-B; dual-joining letters have their final, initial and medial forms
// at the next three code points, right-joining ones only the final.
var forms = map[rune]struct {
	iso  rune
	dual bool
}{
	0x0621: {0xFE80, false}, 0x0622: {0xFE81, false}, 0x0623: {0xFE83, false}, 0x0624: {0xFE85, false},
	0x0625: {0xFE87, false}, 0x0626: {0xFE89, true}, 0x0627: {0xFE8D, false}, 0x0628: {0xFE8F, true},
	0x0629: {0xFE93, false}, 0x062A: {0xFE95, true}, 0x062B: {0xFE99, true}, 0x062C: {0xFE9D, true},
	0x062D: {0xFEA1, true}, 0x062E: {0xFEA5, true}, 0x062F: {0xFEA9, false}, 0x0630: {0xFEAB, false},
	0x0631: {0xFEAD, false}, 0x0632: {0xFEAF, false}, 0x0633: {0xFEB1, true}, 0x0634: {0xFEB5, true},
	0x0635: {0xFEB9, true}, 0x0636: {0xFEBD, true}, 0x0637: {0xFEC1, true}, 0x0638: {0xFEC5, true},
	0x0639: {0xFEC9, true}, 0x063A: {0xFECD, true}, 0x0641: {0xFED1, true}, 0x0642: {0xFED5, true},
	0x0643: {0xFED9, true}, 0x0644: {0xFEDD, true}, 0x0645: {0xFEE1, true}, 0x0646: {0xFEE5, true},
	0x0647: {0xFEE9, true}, 0x0648: {0xFEED, false}, 0x0649: {0xFEEF, false}, 0x064A: {0xFEF1, true},
}

// lamAlef are the ligatures of lam with each alef, isolated form (the
// final form follows).
var lamAlef = map[rune]rune{0x0622: 0xFEF5, 0x0623: 0xFEF7, 0x0625: 0xFEF9, 0x0627: 0xFEFB}

// shape turns a run of Arabic letters in logical order into their
// contextual forms.
func shape(in []rune) []rune {
	joinsNext := func(r rune) bool { f, ok := forms[r]; return ok && f.dual }
	joins := func(r rune) bool { _, ok := forms[r]; return ok && r != 0x0621 }
	out := make([]rune, 0, len(in))
	for i := 0; i < len(in); i++ {
		r := in[i]
		f, ok := forms[r]
		if !ok {
			out = append(out, r)
			continue
		}
		prev := i > 0 && joinsNext(in[i-1])
		if r == 0x0644 && i+1 < len(in) {
			if lig, ok := lamAlef[in[i+1]]; ok {
				if prev {
					lig++
				}
				out = append(out, lig)
				i++
				continue
			}
		}
		next := f.dual && i+1 < len(in) && joins(in[i+1])
		switch {
		case prev && next:
			out = append(out, f.iso+3)
		case next:
			out = append(out, f.iso+2)
		case prev:
			out = append(out, f.iso+1)
		default:
			out = append(out, f.iso)
		}
	}
	return out
}
