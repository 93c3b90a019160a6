package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The committed icons are what this program draws: change the outline or
// the colour here, then run it. The PNGs are compared by their pixels, not
// their bytes: image/png's compressed output changes between Go releases.
func TestStaticIconsAreCurrent(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "static", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const stale = "differs from what site/icons draws: run `go run ./icons` in site/"
	if !bytes.Equal(read("favicon.svg"), svg()) {
		t.Error("static/favicon.svg " + stale)
	}
	if !samePixels(t, read("apple-touch-icon.png"), draw(180, 0)) {
		t.Error("static/apple-touch-icon.png " + stale)
	}
	// The ICO's header, then the one PNG it wraps.
	ic := read("favicon.ico")
	want := ico(nil, 32)
	const header = 6 + 16
	if len(ic) < header || !bytes.Equal(ic[:14], want[:14]) || !bytes.Equal(ic[18:header], want[18:header]) ||
		!samePixels(t, ic[header:], draw(32, radius)) {
		t.Error("static/favicon.ico " + stale)
	}
}

func samePixels(t *testing.T, pngData []byte, want image.Image) bool {
	t.Helper()
	got, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Errorf("decode: %v", err)
		return false
	}
	if got.Bounds() != want.Bounds() {
		return false
	}
	for y := want.Bounds().Min.Y; y < want.Bounds().Max.Y; y++ {
		for x := want.Bounds().Min.X; x < want.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(got.At(x, y)) != color.NRGBAModel.Convert(want.At(x, y)) {
				return false
			}
		}
	}
	return true
}
