// Package preview keeps the page images of research documents and draws
// the band that marks an image with its reader.
//
// Images are rendered by package extract (PDFium in its sandbox) and kept
// here by the file's SHA-256, the page and the width, under a directory of
// the portal's data directory; nothing here decides who may see them: the
// research package asks access.CanSee before it asks for an image.
package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Widths are the only widths an image is drawn at: one that suits a
// screen beside the passage text, and one for zoom. A fixed set keeps the
// cache bounded and its keys unguessable in number.
var Widths = []int{800, 1600}

// ValidWidth reports whether w is one of Widths.
func ValidWidth(w int) bool { return slices.Contains(Widths, w) }

// Cache holds rendered pages as PNG files under one directory:
// <dir>/<sha256[:2]>/<sha256>/<page>-<width>.png.
type Cache struct {
	dir string
}

// Open returns the cache under dir, creating it (0700): the images show
// restricted documents, so they are as private as the originals.
func Open(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("preview cache: %w", err)
	}
	return &Cache{dir: dir}, nil
}

// Render draws a page at a width; the cache calls it on a miss.
type Render func(ctx context.Context) (image.Image, error)

func validHash(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for _, c := range []byte(sha) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (c *Cache) blobDir(sha string) string { return filepath.Join(c.dir, sha[:2], sha) }

// Page returns the PNG of page at width of the file sha256, from the cache
// or drawn by render and then kept.
func (c *Cache) Page(ctx context.Context, sha256 string, page, width int, render Render) ([]byte, error) {
	if !validHash(sha256) || page < 1 || !ValidWidth(width) {
		return nil, fmt.Errorf("preview: bad key %q page %d width %d", sha256, page, width)
	}
	name := filepath.Join(c.blobDir(sha256), strconv.Itoa(page)+"-"+strconv.Itoa(width)+".png")
	if b, err := os.ReadFile(name); err == nil {
		return b, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("preview: read cached page: %w", err)
	}
	b, err := Draw(ctx, render)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(name, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Draw returns the PNG of what render draws, without keeping it.
func Draw(ctx context.Context, render Render) ([]byte, error) {
	img, err := render(ctx)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("preview: encode page: %w", err)
	}
	return buf.Bytes(), nil
}

// writeAtomic writes b to name through a temporary file, so that a reader
// never sees half an image and two writers of the same page do not mix.
func writeAtomic(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("preview: keep page: %w", err)
	}
	return nil
}

// Remove forgets every image of the file sha256.
func (c *Cache) Remove(sha256 string) error {
	if !validHash(sha256) {
		return fmt.Errorf("preview: bad hash %q", sha256)
	}
	if err := os.RemoveAll(c.blobDir(sha256)); err != nil {
		return fmt.Errorf("preview: remove pages of %s: %w", sha256[:12], err)
	}
	return nil
}

// Cached returns how many images are kept for the file sha256, for tests
// and diagnostics.
func (c *Cache) Cached(sha256 string) int {
	if !validHash(sha256) {
		return 0
	}
	es, _ := os.ReadDir(c.blobDir(sha256))
	n := 0
	for _, e := range es {
		if filepath.Ext(e.Name()) == ".png" {
			n++
		}
	}
	return n
}
