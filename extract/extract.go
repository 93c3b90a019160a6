// Package extract decides what kind of document an upload is, from its
// content, and pulls its text out page by page for the search index.
//
// It is the part of the portal that parses untrusted files, so every parser
// runs with limits: PDFs are read by PDFium compiled to WebAssembly, in a
// wazero sandbox with no file system, a memory cap and termination when the
// context ends; DOCX archives are read without trusting their headers; text
// must be valid UTF-8. The extracted text is for indexing only. Nothing here
// renders or sanitises it, and the portal serves originals only as
// attachments.
package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Errors that Extract and Detect wrap with detail. ErrUnsupported is a 415
// in the API; ErrUnparsable fits 422 and ErrTooLarge 413.
var (
	// ErrUnsupported reports content that is none of the accepted kinds.
	ErrUnsupported = errors.New("unsupported document type")
	// ErrUnparsable reports a file of an accepted kind that cannot be read:
	// truncated, corrupt, encrypted or empty.
	ErrUnparsable = errors.New("unparsable document")
	// ErrTooLarge reports a document beyond a limit: pages, extracted text,
	// or a compressed archive that expands too far.
	ErrTooLarge = errors.New("document too large")
)

// Kind is the type of a document, as decided from its content.
type Kind string

// Kinds of document the library accepts.
const (
	KindPDF      Kind = "pdf"
	KindDOCX     Kind = "docx"
	KindMarkdown Kind = "markdown"
	KindText     Kind = "text"
)

// ContentType returns the media type to serve the original with, or "" for
// an unknown kind.
func (k Kind) ContentType() string {
	switch k {
	case KindPDF:
		return "application/pdf"
	case KindDOCX:
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case KindMarkdown:
		return "text/markdown; charset=utf-8"
	case KindText:
		return "text/plain; charset=utf-8"
	}
	return ""
}

// Ext returns the file name extension for the kind, with its dot, or "" for
// an unknown kind.
func (k Kind) Ext() string {
	switch k {
	case KindPDF:
		return ".pdf"
	case KindDOCX:
		return ".docx"
	case KindMarkdown:
		return ".md"
	case KindText:
		return ".txt"
	}
	return ""
}

// Page is one unit of a document's text: a PDF page, or for other kinds a
// passage of about 300 words. Number counts from 1 and is the PDF page number
// for PDFs, the passage number otherwise.
type Page struct {
	Number int
	Text   string
}

// Document is the text of a document.
type Document struct {
	Kind  Kind
	Pages []Page
	// Title is a best guess, possibly empty: the PDF's metadata title, the
	// DOCX core title or the first Markdown heading.
	Title string
}

// Options configure an Extractor. The zero value gives the defaults.
type Options struct {
	// MaxPages is the most pages a PDF may have (default 2000).
	MaxPages int
	// MaxTextBytes is the most text a document may yield (default 20 MiB).
	MaxTextBytes int64
	// Workers is how many documents are extracted at once (default 2, or 1
	// with a single CPU). Each PDF worker may hold up to 512 MiB of sandbox
	// memory, so this bounds the extractor's memory too.
	Workers int
	// Timeout bounds each Extract call in addition to its context (default
	// 2 minutes), so that a hostile file cannot hold a worker for ever even
	// when the caller's context has no deadline.
	Timeout time.Duration
	// CacheDir, if set, keeps PDFium's compiled machine code between runs,
	// so that start-up takes a fraction of a second instead of seconds (and
	// instead of most of a minute under the race detector). The process
	// executes what it finds there, so the directory must be private to the
	// portal's user: New creates it 0700 and refuses one that is a symbolic
	// link, owned by someone else, or writable by group or others.
	CacheDir string
	// Logger receives diagnostics, never document text. Nil discards them.
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultMaxPages     = 2000
	DefaultMaxTextBytes = 20 << 20
	DefaultTimeout      = 2 * time.Minute
)

// wasmMemoryPages caps the linear memory of a PDFium instance, in 64 KiB
// pages: 512 MiB, ample for text extraction from a 50 MiB PDF (images are
// not decoded) and far below the 4 GiB a wasm32 module could otherwise take.
const wasmMemoryPages = 512 << 20 >> 16

// Extractor extracts text from documents. It holds a pool of sandboxed
// PDFium instances, so create one per process and share it; it is safe for
// concurrent use.
type Extractor struct {
	opts  Options
	log   *slog.Logger
	pool  pdfium.Pool
	cache wazero.CompilationCache // nil without Options.CacheDir
	// sem bounds concurrent extractions of every kind, not only PDFs, so that
	// the memory held by parsers stays within Workers documents.
	sem chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// New starts the PDFium pool, which compiles the WebAssembly module (seconds,
// unless Options.CacheDir holds the result of an earlier run), so call it
// once at start-up. ctx bounds start-up only; the pool lives until Close.
func New(ctx context.Context, opts Options) (*Extractor, error) {
	if opts.MaxPages <= 0 {
		opts.MaxPages = DefaultMaxPages
	}
	if opts.MaxTextBytes <= 0 {
		opts.MaxTextBytes = DefaultMaxTextBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = min(2, runtime.NumCPU())
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start pdfium: %w", err)
	}

	start := time.Now()
	rc := wazero.NewRuntimeConfig()
	var cache wazero.CompilationCache
	if opts.CacheDir != "" {
		if err := privateDir(opts.CacheDir); err != nil {
			return nil, fmt.Errorf("pdfium code cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("pdfium code cache: %w", err)
		}
		cache = c
		rc = rc.WithCompilationCache(cache)
	}
	stderr := &logWriter{log: log}
	pool, err := webassembly.Init(webassembly.Config{
		// The pool's workers derive their contexts from this one, so it must
		// outlive the caller's start-up context.
		Context:  context.WithoutCancel(ctx),
		MinIdle:  1,
		MaxIdle:  opts.Workers,
		MaxTotal: opts.Workers,
		// No mounts: the library would mount the host's "/" by default, and
		// PDFium needs no files, since documents are passed as bytes.
		FSConfig: wazero.NewFSConfig(),
		RuntimeConfig: rc.
			// The bundled module needs exception handling, as in the
			// library's default configuration.
			WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
			WithMemoryLimitPages(wasmMemoryPages).
			// Lets Kill stop a call that is stuck inside PDFium.
			WithCloseOnContextDone(true),
		Stdout: stderr,
		Stderr: stderr,
		// A fresh instance per document (the library's default): nothing one
		// file does to PDFium's memory survives into the next.
		ReuseWorkers: false,
	})
	if err != nil {
		if cache != nil {
			cache.Close(ctx)
		}
		return nil, fmt.Errorf("start pdfium: %w", err)
	}
	log.Info("pdfium pool started", "workers", opts.Workers, "duration", time.Since(start))
	return &Extractor{
		opts:  opts,
		log:   log,
		pool:  pool,
		cache: cache,
		sem:   make(chan struct{}, opts.Workers),
	}, nil
}

// privateDir creates dir (0700) if needed and checks that only this user
// can change what is in it.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %v)", dir, fi.Mode().Perm())
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user", dir, uid)
	}
	return nil
}

// Close stops the PDFium pool. Extract fails after Close.
func (x *Extractor) Close() error {
	x.closeOnce.Do(func() {
		if err := x.pool.Close(); err != nil {
			x.closeErr = fmt.Errorf("close pdfium pool: %w", err)
		}
		if x.cache != nil {
			if err := x.cache.Close(context.Background()); err != nil && x.closeErr == nil {
				x.closeErr = fmt.Errorf("close pdfium code cache: %w", err)
			}
		}
	})
	return x.closeErr
}

// Extract reads the document of the given kind (from Detect) from r, which
// holds size bytes. It waits for a free worker, and gives up when ctx ends or
// Options.Timeout passes, returning the context's error. Errors wrap
// ErrUnsupported, ErrUnparsable or ErrTooLarge when the document is at fault.
func (x *Extractor) Extract(ctx context.Context, kind Kind, r io.ReaderAt, size int64) (*Document, error) {
	if size < 0 {
		return nil, fmt.Errorf("extract %s: negative size %d", kind, size)
	}
	ctx, cancel := context.WithTimeout(ctx, x.opts.Timeout)
	defer cancel()

	select {
	case x.sem <- struct{}{}:
		defer func() { <-x.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("extract %s: wait for a worker: %w", kind, context.Cause(ctx))
	}

	start := time.Now()
	var (
		doc *Document
		err error
	)
	switch kind {
	case KindPDF:
		doc, err = x.extractPDF(ctx, r, size)
	case KindDOCX:
		doc, err = x.extractDOCX(ctx, r, size)
	case KindMarkdown, KindText:
		doc, err = x.extractText(kind, r, size)
	default:
		err = fmt.Errorf("%w: kind %q", ErrUnsupported, kind)
	}
	if err != nil {
		x.log.Debug("extraction failed", "kind", kind, "bytes", size, "duration", time.Since(start), "err", err)
		return nil, fmt.Errorf("extract %s: %w", kind, err)
	}
	doc.Kind = kind
	doc.Title = cleanTitle(doc.Title)
	x.log.Debug("extracted", "kind", kind, "bytes", size, "pages", len(doc.Pages), "duration", time.Since(start))
	return doc, nil
}

// budget counts extracted text against Options.MaxTextBytes.
type budget struct{ left int64 }

func (b *budget) take(n int) error {
	b.left -= int64(n)
	if b.left < 0 {
		return fmt.Errorf("%w: more extracted text than the limit", ErrTooLarge)
	}
	return nil
}

// readAll reads the size bytes of r.
func readAll(r io.ReaderAt, size int64) ([]byte, error) {
	b := make([]byte, size)
	n, err := r.ReadAt(b, 0)
	if int64(n) == size {
		// ReadAt may report io.EOF along with the last byte.
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("read document: %w", err)
}

// maxTitleRunes bounds a title, which comes from the document and could be
// of any length.
const maxTitleRunes = 300

// cleanTitle collapses white space and drops control characters.
func cleanTitle(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if utf8.RuneCountInString(s) > maxTitleRunes {
		s = string([]rune(s)[:maxTitleRunes])
	}
	return s
}

// logWriter turns PDFium's console output into debug logs, since it is
// diagnostics about a document rather than an error of the portal.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	w.log.Debug("pdfium output", "text", strings.TrimSpace(string(p)))
	return len(p), nil
}
