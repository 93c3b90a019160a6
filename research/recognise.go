package research

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strings"
	"time"

	"portal/extract"
	"portal/ocr"
)

// RecognitionState is how far the recognition (OCR) of a version's pages
// without a text layer has come.
type RecognitionState string

// Recognition states. A version without such pages has none ("").
const (
	RecognitionPending RecognitionState = "pending"
	RecognitionDone    RecognitionState = "done"
	// RecognitionFailed: no page could be read; the record keeps the
	// text it had (its metadata, and its other pages).
	RecognitionFailed RecognitionState = "failed"
)

// RecognitionJob is a version waiting for recognition.
type RecognitionJob struct {
	DocID   string
	Version int
	Pages   int // pages without a text layer
}

// Recogniser reads the text of a page image (ocr.Reader).
type Recogniser interface {
	Recognise(ctx context.Context, png []byte, langs string) (string, error)
}

// recogniseWidth is the width scanned pages are drawn at for recognition:
// about 240 dots per inch on A4, where Tesseract reads body text well,
// at a quarter less work than 300.
const recogniseWidth = 2000

// blankPages counts the pages of a PDF whose extraction found no text:
// scanned pages, to recognise.
func blankPages(kind extract.Kind, ps []Passage) int {
	if kind != extract.KindPDF {
		return 0
	}
	n := 0
	for _, p := range ps {
		if strings.TrimSpace(p.Text) == "" {
			n++
		}
	}
	return n
}

// queueRecognition records, inside an upload's transaction, that version
// v of record id has pages to recognise, and reports whether it did.
func (s *Service) queueRecognition(ctx context.Context, tx Tx, id string, v Version, ps []Passage) (bool, error) {
	n := blankPages(v.Kind, ps)
	if s.ocr == nil || n == 0 {
		return false, nil
	}
	return true, tx.QueueRecognition(ctx, id, v.Number, n, s.now())
}

// wakeRecognition tells RunRecognition that work is queued.
func (s *Service) wakeRecognition() {
	select {
	case s.wake <- struct{}{}:
	default: // already told
	}
}

// Recognises reports whether scanned pages are read at all
// (Options.Recogniser is set): without it RunRecognition has nothing to do.
func (s *Service) Recognises() bool { return s.ocr != nil }

// RunRecognition recognises the queued pages, one version and one page at
// a time, until ctx ends: it is the one goroutine that does, woken by each
// upload that queues pages and every minute (for what a restart left
// pending). Uploads do not wait for it. Without Options.Recogniser it
// returns at once.
func (s *Service) RunRecognition(ctx context.Context) {
	if s.ocr == nil {
		return
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if err := s.recognisePending(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "research: recognition", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

func (s *Service) recognisePending(ctx context.Context) error {
	var jobs []RecognitionJob
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		jobs, err = tx.PendingRecognition(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("research: pending recognition: %w", err)
	}
	for _, j := range jobs {
		if err := s.recognise(ctx, j); err != nil {
			if ctx.Err() != nil {
				return nil // stays pending for the next run
			}
			s.log.ErrorContext(ctx, "research: recognition of a version failed", "doc", j.DocID, "version", j.Version, "err", err)
			// Not tried again every minute for ever: the record keeps the
			// text it has, and its state says recognition failed.
			if err := s.st.Update(ctx, func(tx Tx) error {
				return tx.SaveRecognised(ctx, j.DocID, j.Version, nil, RecognitionFailed, s.now())
			}); err != nil {
				s.log.ErrorContext(ctx, "research: record a failed recognition", "doc", j.DocID, "err", err)
			}
		}
	}
	return nil
}

// recognise reads the blank pages of one version and records their text;
// if the version is the record's current one, the record goes back to the
// index with it.
func (s *Service) recognise(ctx context.Context, j RecognitionJob) error {
	var (
		d  *Document
		v  Version
		ps []Passage
	)
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		if d, err = tx.Document(ctx, j.DocID); err != nil {
			return err
		}
		vs, err := tx.Versions(ctx, j.DocID)
		if err != nil {
			return err
		}
		for _, x := range vs {
			if x.Number == j.Version {
				v = x
			}
		}
		ps, err = tx.Passages(ctx, j.DocID, j.Version)
		return err
	})
	if err != nil {
		return fmt.Errorf("read version: %w", err)
	}
	f, err := s.blobs.Open(ctx, v.SHA256)
	if err != nil {
		return fmt.Errorf("open file: %w", err)
	}
	defer f.Close()

	start := time.Now()
	var read []Passage
	failed := 0
	for _, p := range ps {
		if p.Recognised || strings.TrimSpace(p.Text) != "" {
			continue
		}
		text, err := s.recognisePage(ctx, f, v.Size, p.Number, d.Language)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			s.log.WarnContext(ctx, "research: page not recognised", "doc", d.ID, "version", v.Number, "page", p.Number, "err", err)
			continue
		}
		if text != "" {
			read = append(read, Passage{Number: p.Number, Text: text, Recognised: true})
		}
	}
	state := RecognitionDone
	if failed > 0 && len(read) == 0 {
		state = RecognitionFailed
	}
	var current *Document
	err = s.st.Update(ctx, func(tx Tx) error {
		if err := tx.SaveRecognised(ctx, d.ID, v.Number, read, state, s.now()); err != nil {
			return err
		}
		doc, err := tx.Document(ctx, d.ID)
		if err != nil || doc.CurrentVersion != v.Number || len(read) == 0 {
			return err
		}
		// A new revision for the index, not a change of the record: its
		// updated time stays.
		doc.Revision++
		if !doc.Withdrawn {
			doc.IndexState = IndexPending
		}
		current = doc
		return tx.SaveDocument(ctx, doc)
	})
	if err != nil {
		return fmt.Errorf("save recognised text: %w", err)
	}
	s.log.InfoContext(ctx, "research: pages recognised", "doc", d.ID, "version", v.Number,
		"read", len(read), "failed", failed, "duration", time.Since(start))
	if current != nil {
		s.pushAfterCommit(ctx, *current)
	}
	return nil
}

// recognisePage draws page n in the PDF sandbox and reads it with the
// recogniser, in the record's languages.
func (s *Service) recognisePage(ctx context.Context, f io.ReaderAt, size int64, n int, lang string) (string, error) {
	img, err := s.x.RenderPage(ctx, f, size, n, recogniseWidth)
	if err != nil {
		return "", err
	}
	// Grey is all Tesseract reads, and a third of the bytes to hand over.
	grey := image.NewGray(img.Bounds())
	draw.Draw(grey, grey.Bounds(), img, img.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, grey); err != nil {
		return "", fmt.Errorf("encode page: %w", err)
	}
	text, err := s.ocr.Recognise(ctx, buf.Bytes(), ocr.Languages(lang))
	if err != nil {
		return "", err
	}
	return cleanRecognised(text), nil
}

// cleanRecognised drops the form feed Tesseract ends a page with and the
// blank lines around the text.
func cleanRecognised(s string) string {
	s = strings.ReplaceAll(s, "\f", "")
	return strings.TrimSpace(s)
}
