package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
)

// maxPDFBytes is the largest PDF handed to PDFium: it is copied into the
// sandbox's memory, which must leave room for parsing.
const maxPDFBytes = wasmMemoryPages << 16 / 4

// extractPDF reads a PDF's text page by page in a sandboxed PDFium instance.
func (x *Extractor) extractPDF(ctx context.Context, r io.ReaderAt, size int64) (*Document, error) {
	switch {
	case size < int64(len(pdfMagic)):
		return nil, fmt.Errorf("%w: %d bytes is too short for a PDF", ErrUnparsable, size)
	case size > maxPDFBytes:
		return nil, fmt.Errorf("%w: %d MiB, limit %d MiB for a PDF", ErrTooLarge, size>>20, maxPDFBytes>>20)
	}
	// The document goes to PDFium as bytes in its own memory, not through a
	// reader callback: the library's callbacks look readers up in a
	// process-wide table by an index that lives in sandbox memory, which a
	// hostile file that subverted PDFium could point at another upload.
	data, err := readAll(r, size)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, pdfMagic) {
		return nil, fmt.Errorf("%w: no PDF header", ErrUnsupported)
	}

	doc := &Document{}
	err = x.withPDF(ctx, data, func(inst pdfium.Pdfium, docRef references.FPDF_DOCUMENT, pages int, fail failFunc) error {
		if pages > x.opts.MaxPages {
			return fmt.Errorf("%w: %d pages, limit %d", ErrTooLarge, pages, x.opts.MaxPages)
		}
		doc.Pages = make([]Page, 0, pages)
		if meta, err := inst.FPDF_GetMetaText(&requests.FPDF_GetMetaText{Document: docRef, Tag: "Title"}); err == nil {
			doc.Title = meta.Value
		}
		text := &budget{left: x.opts.MaxTextBytes}
		for i := range pages {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("pdf: %w", context.Cause(ctx))
			}
			s, err := pageText(inst, docRef, i)
			if err != nil {
				return fail(err, "page %d", i+1)
			}
			if err := text.take(len(s)); err != nil {
				return err
			}
			doc.Pages = append(doc.Pages, Page{Number: i + 1, Text: s})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// failFunc turns an error from PDFium into ErrUnparsable with detail, or
// into the context's error when the context ended (a killed instance only
// reports that it was closed).
type failFunc func(err error, format string, args ...any) error

// withPDF opens data in a fresh sandboxed PDFium instance and calls fn with
// it, the document and its page count (at least 1). The instance is killed
// when ctx ends, even inside a PDFium call, and discarded afterwards.
func (x *Extractor) withPDF(ctx context.Context, data []byte,
	fn func(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, pages int, fail failFunc) error) error {
	pool, err := x.acquirePool(ctx)
	if err != nil {
		return err
	}
	// Released after the instance is closed or killed (deferred below), so
	// that an idle stop never closes the pool under a running instance.
	defer x.releasePool()
	inst, err := pool.GetInstanceWithContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for pdfium: %w", context.Cause(ctx))
		}
		return fmt.Errorf("get pdfium instance: %w", err)
	}
	// When ctx ends, Kill cancels the instance's own context, which stops
	// PDFium even inside a call (one page of a hostile file can take any
	// time). Otherwise the instance is closed, which discards it.
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(killed)
		if err := inst.Kill(); err != nil {
			x.log.Warn("kill pdfium instance", "err", err)
		}
	})
	defer func() {
		if !stop() {
			<-killed
			return
		}
		if err := inst.Close(); err != nil {
			x.log.Warn("close pdfium instance", "err", err)
		}
	}()
	fail := func(err error, format string, args ...any) error {
		if ctx.Err() != nil {
			return fmt.Errorf("pdf: %w", context.Cause(ctx))
		}
		return fmt.Errorf("%w: %s: %v", ErrUnparsable, fmt.Sprintf(format, args...), err)
	}

	opened, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return fail(err, "open")
	case errors.Is(err, pdfiumerrors.ErrPassword):
		return fmt.Errorf("%w: the PDF is encrypted and needs a password", ErrUnparsable)
	case errors.Is(err, pdfiumerrors.ErrSecurity):
		return fmt.Errorf("%w: the PDF uses an unsupported encryption", ErrUnparsable)
	default:
		return fail(err, "not a readable PDF (truncated or corrupt)")
	}
	docRef := opened.Document

	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: docRef})
	switch {
	case err != nil:
		return fail(err, "count pages")
	case count.PageCount <= 0:
		return fmt.Errorf("%w: the PDF has no pages", ErrUnparsable)
	}
	return fn(inst, docRef, count.PageCount, fail)
}

// pageText returns the text of page i (from 0) in one FPDFText_GetText
// call; the library's GetPageText helper makes a call per character.
func pageText(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, i int) (string, error) {
	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{
		Page: requests.Page{ByIndex: &requests.PageByIndex{Document: doc, Index: i}},
	})
	if err != nil {
		return "", fmt.Errorf("load page: %w", err)
	}
	defer inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})

	n, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return "", fmt.Errorf("count characters: %w", err)
	}
	if n.Count <= 0 {
		return "", nil
	}
	t, err := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, Count: n.Count})
	if err != nil {
		return "", fmt.Errorf("get text: %w", err)
	}
	return cleanPDFText(t.Text), nil
}

// cleanPDFText turns PDFium's line ends (CR LF) into LF and drops control
// characters, such as the 0x02 PDFium emits for a hyphen at a line end.
func cleanPDFText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case r < 0x20 || r == 0x7f || r == 0xfffe || r == 0xffff:
			return -1
		}
		return r
	}, s)
}
