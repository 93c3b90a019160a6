package extract_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/extract"
	"portal/extract/extracttest"
)

// newExtractor returns an Extractor of its own, closed when the test ends.
func newExtractor(t *testing.T, opts extract.Options) *extract.Extractor {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = extracttest.CacheDir()
	}
	x, err := extract.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func running(x *extract.Extractor) bool {
	r, _, _ := x.PoolState()
	return r
}

func starts(x *extract.Extractor) int {
	_, _, n := x.PoolState()
	return n
}

func extractPDF(t *testing.T, x *extract.Extractor, pages int) {
	t.Helper()
	doc, err := extractBytes(t, x, extract.KindPDF, extracttest.PDF(t, synthPages(pages)))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if len(doc.Pages) != pages {
		t.Fatalf("got %d pages, want %d", len(doc.Pages), pages)
	}
}

func TestPoolStartsOnFirstPDF(t *testing.T) {
	x := newExtractor(t, extract.Options{})
	if r, s, n := x.PoolState(); r || s || n != 0 {
		t.Fatalf("after New: running %v, starting %v, %d starts; want nothing started", r, s, n)
	}
	// Other kinds, and a "PDF" refused before parsing, need no PDFium.
	if _, err := extractBytes(t, x, extract.KindText, []byte("Synthetic text.")); err != nil {
		t.Fatal(err)
	}
	if _, err := extractBytes(t, x, extract.KindDOCX, extracttest.DOCX(t, "Synthetic", []string{"Synthetic."})); err != nil {
		t.Fatal(err)
	}
	if _, err := extractBytes(t, x, extract.KindPDF, []byte("Synthetic text, not a PDF.")); !errors.Is(err, extract.ErrUnsupported) {
		t.Fatalf("text as PDF: got %v, want ErrUnsupported", err)
	}
	if running(x) || starts(x) != 0 {
		t.Fatal("the pool started without a PDF to read")
	}
	extractPDF(t, x, 3)
	if !running(x) || starts(x) != 1 {
		t.Fatalf("after a PDF: running %v, %d starts; want running, 1", running(x), starts(x))
	}
	extractPDF(t, x, 2)
	if starts(x) != 1 {
		t.Fatalf("second PDF: %d starts, want the pool of the first", starts(x))
	}
}

func TestPoolStopsWhenIdleAndRestarts(t *testing.T) {
	const idle = 200 * time.Millisecond
	x := newExtractor(t, extract.Options{IdleStop: idle})
	extractPDF(t, x, 2)
	// A use within the idle time keeps the pool.
	time.Sleep(idle / 4)
	extractPDF(t, x, 2)
	if starts(x) != 1 {
		t.Fatalf("%d starts, want 1", starts(x))
	}
	waitFor(t, 10*time.Second, "idle stop", func() bool { return !running(x) })
	extractPDF(t, x, 4)
	if !running(x) || starts(x) != 2 {
		t.Fatalf("after restart: running %v, %d starts; want running, 2", running(x), starts(x))
	}
	waitFor(t, 10*time.Second, "second idle stop", func() bool { return !running(x) })
}

// TestPoolNoStopDuringUse runs extractions that each last longer than the
// idle time, some at once, so that stops and starts fall between them.
func TestPoolNoStopDuringUse(t *testing.T) {
	x := newExtractor(t, extract.Options{IdleStop: time.Millisecond, Workers: 2})
	pdf := extracttest.PDF(t, synthPages(60))
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range cap(errs) {
			wg.Go(func() {
				doc, err := x.Extract(t.Context(), extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
				if err == nil && len(doc.Pages) != 60 {
					err = fmt.Errorf("got %d pages, want 60", len(doc.Pages))
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		waitFor(t, 10*time.Second, "idle stop", func() bool { return !running(x) })
	}
	t.Logf("%d starts in 3 rounds", starts(x))
}

func TestPoolConcurrentFirstUse(t *testing.T) {
	x := newExtractor(t, extract.Options{Workers: 2})
	pdf := extracttest.PDF(t, synthPages(5))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range cap(errs) {
		wg.Go(func() {
			doc, err := x.Extract(t.Context(), extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
			if err == nil && len(doc.Pages) != 5 {
				err = fmt.Errorf("got %d pages, want 5", len(doc.Pages))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := starts(x); n != 1 {
		t.Errorf("%d pools started, want 1", n)
	}
}

// TestPoolStartCarriesOn: a start that its caller stops waiting for still
// brings the pool up, for the next PDF.
func TestPoolStartCarriesOn(t *testing.T) {
	x := newExtractor(t, extract.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for {
			if _, starting, _ := x.PoolState(); starting {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	pdf := extracttest.PDF(t, synthPages(2))
	_, err := x.Extract(ctx, extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	waitFor(t, time.Minute, "start after the caller left", func() bool { return running(x) })
	extractPDF(t, x, 2)
	if n := starts(x); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// TestPoolStartFailureRetried: a start that fails is reported to its caller,
// not remembered: the next PDF tries again.
func TestPoolStartFailureRetried(t *testing.T) {
	// A copy of the shared code cache, whose mode the test may change.
	dir := filepath.Join(t.TempDir(), "cache")
	if err := copyTree(extracttest.CacheDir(), dir); err != nil {
		t.Fatal(err)
	}
	x := newExtractor(t, extract.Options{CacheDir: dir})
	// Made unsafe after New: the start refuses to execute code from it.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	pdf := extracttest.PDF(t, synthPages(2))
	for range 2 {
		_, err := x.Extract(t.Context(), extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
		if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Fatalf("with an unsafe cache: got %v, want the cache refused", err)
		}
	}
	if running(x) {
		t.Fatal("pool running after failed starts")
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	extractPDF(t, x, 2)
	if n := starts(x); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// copyTree copies the directories and regular files under src to dst,
// privately.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == src {
				return os.MkdirAll(dst, 0o700) // no cache yet: the start compiles
			}
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
}

func TestCloseStopsPool(t *testing.T) {
	x := newExtractor(t, extract.Options{})
	extractPDF(t, x, 2)
	if err := x.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if running(x) {
		t.Error("pool running after Close")
	}
	for _, kind := range []extract.Kind{extract.KindPDF, extract.KindText} {
		if _, err := extractBytes(t, x, kind, []byte("%PDF-1.7\nSynthetic")); !errors.Is(err, extract.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", kind, err)
		}
	}
	if err := x.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseWaitsForExtractions: Close cuts a long extraction short and
// returns only after it has.
func TestCloseWaitsForExtractions(t *testing.T) {
	x := newExtractor(t, extract.Options{Workers: 1})
	extractPDF(t, x, 1)
	pdf := extracttest.PDF(t, synthPages(1500))
	done := make(chan error, 1)
	go func() {
		_, err := x.Extract(context.Background(), extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := x.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The goroutine sends a moment after Extract returns, so allow for
	// that, and no more: the extraction itself takes seconds.
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, extract.ErrClosed) {
			t.Errorf("extraction cut short by Close: got %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the extraction still runs after Close returned")
	}
}

// TestCloseDuringStart: Close waits for a start under way and stops what
// it started.
func TestCloseDuringStart(t *testing.T) {
	x := newExtractor(t, extract.Options{})
	done := make(chan error, 1)
	go func() {
		pdf := extracttest.PDF(t, synthPages(1))
		_, err := x.Extract(context.Background(), extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
		done <- err
	}()
	waitFor(t, 10*time.Second, "start", func() bool {
		r, s, _ := x.PoolState()
		return r || s
	})
	if err := x.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r, s, _ := x.PoolState(); r || s {
		t.Errorf("after Close: running %v, starting %v", r, s)
	}
	if err := <-done; err != nil && !errors.Is(err, extract.ErrClosed) {
		t.Errorf("got %v, want success or ErrClosed", err)
	}
}
