package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// ErrNoPage reports a page number beyond the document's pages.
var ErrNoPage = errors.New("no such page")

// MaxRenderWidth is the widest image RenderPage draws. With the page's
// height held to twice its width, an image takes at most 64 MiB of the
// sandbox's 512.
const MaxRenderWidth = 2800

// RenderPage draws page (counted from 1) of a PDF to an image width pixels
// wide, its height following the page's shape up to twice the width, in
// the same sandbox, under the same limits and with the same errors as
// Extract; a page beyond the document's gives ErrNoPage. Rendering decodes
// the page's images, which text extraction never does, so a page costs
// more sandbox memory than its text did.
func (x *Extractor) RenderPage(ctx context.Context, r io.ReaderAt, size int64, page, width int) (*image.RGBA, error) {
	if width < 1 || width > MaxRenderWidth {
		return nil, fmt.Errorf("render page: width %d outside 1..%d", width, MaxRenderWidth)
	}
	switch {
	case size < int64(len(pdfMagic)):
		return nil, fmt.Errorf("render page: %w: %d bytes is too short for a PDF", ErrUnparsable, size)
	case size > maxPDFBytes:
		return nil, fmt.Errorf("render page: %w: %d MiB, limit %d MiB for a PDF", ErrTooLarge, size>>20, maxPDFBytes>>20)
	}
	data, err := readAll(r, size)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, pdfMagic) {
		return nil, fmt.Errorf("render page: %w: no PDF header", ErrUnsupported)
	}
	ctx, done, err := x.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	defer done()

	start := time.Now()
	var out *image.RGBA
	err = x.withPDF(ctx, data, func(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, pages int, fail failFunc) error {
		if page < 1 || page > pages {
			return fmt.Errorf("%w: page %d of %d", ErrNoPage, page, pages)
		}
		res, err := inst.RenderPageInPixels(&requests.RenderPageInPixels{
			Page:  requests.Page{ByIndex: &requests.PageByIndex{Document: doc, Index: page - 1}},
			Width: width, Height: 2 * width,
		})
		if err != nil {
			return fail(err, "render page %d", page)
		}
		// The pixels live in the sandbox's memory until Cleanup: copy them
		// out, onto white, since a page without a background is transparent.
		img := res.Result.RenderedImage
		out = image.NewRGBA(img.Bounds())
		draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Over)
		res.Cleanup()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	x.log.Debug("rendered page", "page", page, "width", width, "duration", time.Since(start))
	return out, nil
}
