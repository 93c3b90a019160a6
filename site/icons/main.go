// Command icons draws the site's icon, a plain white shield on the site's
// navy, and writes it as static/favicon.svg, static/favicon.ico (32 px, for
// clients that ask for /favicon.ico without reading the page) and
// static/apple-touch-icon.png (180 px). The SVG and the bitmaps come from
// the same outline, so they cannot drift apart. Run from site/:
//
//	go run ./icons
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// The icon is drawn on a 32-unit square, as the SVG's viewBox.
const (
	size   = 32.0
	radius = 6.0 // of the square's corners
)

var (
	navy  = color.NRGBA{0x0b, 0x2e, 0x4a, 0xff} // --c-navy in assets/css/main.css
	white = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

// shield returns the shield's outline as a polygon: a flat top with sloped
// shoulders, straight sides, and two curves meeting in a point.
func shield() [][2]float64 {
	pts := [][2]float64{{16, 5}, {25, 8}, {25, 15}}
	pts = append(pts, cubic([2]float64{25, 15}, [2]float64{25, 21}, [2]float64{21, 25}, [2]float64{16, 27.5})...)
	pts = append(pts, cubic([2]float64{16, 27.5}, [2]float64{11, 25}, [2]float64{7, 21}, [2]float64{7, 15})...)
	return append(pts, [2]float64{7, 8})
}

// cubic samples a cubic Bézier curve, without its first point.
func cubic(p0, p1, p2, p3 [2]float64) [][2]float64 {
	const steps = 12
	var out [][2]float64
	for i := 1; i <= steps; i++ {
		t := float64(i) / steps
		u := 1 - t
		var p [2]float64
		for k := range 2 {
			p[k] = u*u*u*p0[k] + 3*u*u*t*p1[k] + 3*u*t*t*p2[k] + t*t*t*p3[k]
		}
		out = append(out, p)
	}
	return out
}

func inPolygon(poly [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a[1] > y) != (b[1] > y) && x < (b[0]-a[0])*(y-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func inRoundedSquare(x, y, radius float64) bool {
	cx := math.Max(radius-x, math.Max(x-(size-radius), 0))
	cy := math.Max(radius-y, math.Max(y-(size-radius), 0))
	return x >= 0 && y >= 0 && x <= size && y <= size && cx*cx+cy*cy <= radius*radius
}

// draw renders the icon at px pixels a side, 4×4 samples a pixel, on a
// square with corners of the given radius.
func draw(px int, radius float64) *image.NRGBA {
	const ss = 4
	poly := shield()
	img := image.NewNRGBA(image.Rect(0, 0, px, px))
	scale := size / float64(px)
	for py := range px {
		for qx := range px {
			var bg, fg int
			for sy := range ss {
				for sx := range ss {
					x := (float64(qx) + (float64(sx)+0.5)/ss) * scale
					y := (float64(py) + (float64(sy)+0.5)/ss) * scale
					switch {
					case inPolygon(poly, x, y):
						fg++
					case inRoundedSquare(x, y, radius):
						bg++
					}
				}
			}
			n := ss * ss
			cover := fg + bg
			if cover == 0 {
				continue
			}
			mix := func(a, b uint8) uint8 { return uint8((int(a)*fg + int(b)*bg + cover/2) / cover) }
			img.SetNRGBA(qx, py, color.NRGBA{mix(white.R, navy.R), mix(white.G, navy.G), mix(white.B, navy.B), uint8((255*cover + n/2) / n)})
		}
	}
	return img
}

func svg() []byte {
	var pts []string
	for _, p := range shield() {
		pts = append(pts, fmt.Sprintf("%.2f,%.2f", p[0], p[1]))
	}
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">`+
		`<rect width="32" height="32" rx="%g" fill="#%02x%02x%02x"/>`+
		`<polygon points="%s" fill="#ffffff"/></svg>`+"\n",
		radius, navy.R, navy.G, navy.B, strings.Join(pts, " "))
}

func pngBytes(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

// ico wraps one PNG image in an ICO file, which every browser reads.
func ico(pngData []byte, px int) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	le([3]uint16{0, 1, 1})                      // reserved, type icon, one image
	le([4]uint8{uint8(px), uint8(px), 0, 0})    // width, height, no palette
	le([2]uint16{1, 32})                        // planes, bits per pixel
	le([2]uint32{uint32(len(pngData)), 6 + 16}) // size, offset
	b.Write(pngData)
	return b.Bytes()
}

// files returns the icon files by name.
func files() map[string][]byte {
	return map[string][]byte{
		"favicon.svg": svg(),
		"favicon.ico": ico(pngBytes(draw(32, radius)), 32),
		// Square and opaque: iOS rounds the corners itself and would show
		// transparent ones black.
		"apple-touch-icon.png": pngBytes(draw(180, 0)),
	}
}

func main() {
	for name, data := range files() {
		if err := os.WriteFile(filepath.Join("static", name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
