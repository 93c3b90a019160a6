package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed icons are what this program draws: change the outline or
// the colour here, then run it.
func TestStaticIconsAreCurrent(t *testing.T) {
	for name, want := range files() {
		got, err := os.ReadFile(filepath.Join("..", "static", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("static/%s differs from what site/icons draws: run `go run ./icons` in site/", name)
		}
	}
}
