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
	"runtime/debug"
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
	// ErrClosed reports an extraction asked for after Close, or cut short
	// by it.
	ErrClosed = errors.New("extractor closed")
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
	// IdleStop is how long the PDFium pool stays up after the last PDF
	// extraction before it is stopped to give its memory back (default 5
	// minutes; negative keeps it until Close). The next PDF starts it
	// again, which takes a fraction of a second with CacheDir.
	IdleStop time.Duration
	// CacheDir, if set, keeps PDFium's compiled machine code between starts
	// of the pool and between runs, so that a start takes a fraction of a
	// second instead of seconds (and instead of most of a minute under the
	// race detector). The process executes what it finds there, so the
	// directory must be private to the portal's user: New creates it 0700,
	// and New and every start refuse one that is a symbolic link, owned by
	// someone else, or writable by group or others.
	CacheDir string
	// Logger receives diagnostics, never document text. Nil discards them.
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultMaxPages     = 2000
	DefaultMaxTextBytes = 20 << 20
	DefaultTimeout      = 2 * time.Minute
	DefaultIdleStop     = 5 * time.Minute
)

// wasmMemoryPages caps the linear memory of a PDFium instance, in 64 KiB
// pages: 512 MiB, ample for text extraction from a 50 MiB PDF (images are
// not decoded) and far below the 4 GiB a wasm32 module could otherwise take.
const wasmMemoryPages = 512 << 20 >> 16

// Extractor extracts text from documents. It holds a pool of sandboxed
// PDFium instances, started on the first PDF and stopped again when PDFs
// stop coming (Options.IdleStop): uploads are rare, and a started pool
// holds about 30 MiB (the decoded module and its machine code; each
// document's instance adds its own memory while it runs) that the rest of
// the portal can use meanwhile. Create one Extractor per process and share
// it; it is safe for concurrent use.
type Extractor struct {
	opts Options
	log  *slog.Logger
	// sem bounds concurrent extractions of every kind, not only PDFs, so that
	// the memory held by parsers stays within Workers documents.
	sem chan struct{}
	// life ends at Close, with ErrClosed as its cause. The pool's workers
	// derive from it, and it cuts short the extractions still running.
	life    context.Context
	endLife context.CancelCauseFunc
	// inflight counts Extract calls and the goroutines that start and stop
	// pools, so that Close can wait for them. It is only added to under mu
	// while closed is false.
	inflight sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	running  *pdfPool   // nil while stopped
	starting *poolStart // the start under way, if any
	// users counts PDF extractions that hold the running pool or wait for
	// it to start; the pool is stopped only when there are none.
	users int
	// idle stops the pool after IdleStop without users; idleGen tells a
	// stale timer's callback that it no longer applies.
	idle    *time.Timer
	idleGen uint64
	starts  int // pools started, for tests

	closeOnce sync.Once
	closeErr  error
}

// pdfPool is one started PDFium pool.
type pdfPool struct {
	pool pdfium.Pool
	// cache is the pool's own handle on the code cache (nil without
	// Options.CacheDir). It is opened per pool and closed with it, because
	// wazero keeps the machine code of what was compiled through a cache in
	// memory for as long as the cache lives, even after the runtime that
	// compiled it is closed (one cache for the Extractor's life kept some
	// 30 MiB resident after the pool stopped). The files stay for the next
	// start.
	cache wazero.CompilationCache
}

func (p *pdfPool) close() error {
	err := p.pool.Close()
	if err != nil {
		err = fmt.Errorf("close pdfium pool: %w", err)
	}
	if p.cache != nil {
		if cerr := p.cache.Close(context.Background()); cerr != nil && err == nil {
			err = fmt.Errorf("close pdfium code cache: %w", cerr)
		}
	}
	return err
}

// poolStart is a start of the pool that extractions wait for. err is set
// before done is closed.
type poolStart struct {
	done chan struct{}
	err  error
}

// New returns an Extractor. It does no lengthy work: the PDFium pool, which
// compiles the WebAssembly module (a fraction of a second when
// Options.CacheDir holds the result of an earlier run, seconds otherwise),
// is started by the first PDF extraction and stopped after Options.IdleStop
// without one. New checks Options.CacheDir, so that a misconfigured cache is
// reported at start-up rather than by an upload. ctx bounds New only.
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
	if opts.IdleStop == 0 {
		opts.IdleStop = DefaultIdleStop
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("new extractor: %w", err)
	}
	if opts.CacheDir != "" {
		if err := privateDir(opts.CacheDir); err != nil {
			return nil, fmt.Errorf("pdfium code cache: %w", err)
		}
	}
	life, end := context.WithCancelCause(context.Background())
	return &Extractor{
		opts:    opts,
		log:     log,
		sem:     make(chan struct{}, opts.Workers),
		life:    life,
		endLife: end,
	}, nil
}

// startPool starts a PDFium pool: it compiles the WebAssembly module, or
// loads its machine code from Options.CacheDir.
func (x *Extractor) startPool() (*pdfPool, error) {
	start := time.Now()
	rc := wazero.NewRuntimeConfig()
	var cache wazero.CompilationCache
	if x.opts.CacheDir != "" {
		// Checked again at each start: the process is about to execute
		// what it finds there.
		if err := privateDir(x.opts.CacheDir); err != nil {
			return nil, fmt.Errorf("pdfium code cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(x.opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("pdfium code cache: %w", err)
		}
		cache = c
		rc = rc.WithCompilationCache(cache)
	}
	stderr := &logWriter{log: x.log}
	pool, err := webassembly.Init(webassembly.Config{
		// The pool's workers derive their contexts from this one, so it must
		// outlive the extraction that started the pool; it ends at Close.
		Context: x.life,
		// No instance waits idle: each document gets a fresh one anyway
		// (ReuseWorkers below), made when it is asked for.
		MinIdle:  0,
		MaxIdle:  x.opts.Workers,
		MaxTotal: x.opts.Workers,
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
			cache.Close(context.Background())
		}
		return nil, fmt.Errorf("start pdfium: %w", err)
	}
	x.log.Info("pdfium pool started", "workers", x.opts.Workers, "duration", time.Since(start))
	return &pdfPool{pool: pool, cache: cache}, nil
}

// acquirePool returns the running pool, starting it if it is not, and
// counts the caller as a user until it calls releasePool (which it must not
// do when acquirePool fails). Concurrent callers share one start. A start
// carries on when its callers give up, so that the next one finds the
// pool; a start that fails is reported to the callers that waited for it
// and tried again by the next.
func (x *Extractor) acquirePool(ctx context.Context) (pdfium.Pool, error) {
	x.mu.Lock()
	x.users++
	x.stopIdleTimerLocked()
	for x.running == nil {
		if x.closed {
			x.mu.Unlock()
			x.releasePool()
			return nil, ErrClosed
		}
		st := x.starting
		if st == nil {
			st = &poolStart{done: make(chan struct{})}
			x.starting = st
			x.inflight.Add(1)
			go x.start(st)
		}
		x.mu.Unlock()
		select {
		case <-st.done:
		case <-ctx.Done():
			x.releasePool()
			return nil, fmt.Errorf("wait for pdfium to start: %w", context.Cause(ctx))
		}
		if st.err != nil {
			x.releasePool()
			return nil, st.err
		}
		x.mu.Lock()
	}
	pool := x.running.pool
	x.mu.Unlock()
	return pool, nil
}

// start runs one start of the pool and publishes its result.
func (x *Extractor) start(st *poolStart) {
	defer x.inflight.Done()
	p, err := x.startPool()
	var discard *pdfPool
	x.mu.Lock()
	x.starting = nil
	switch {
	case err != nil:
		st.err = err
	case x.closed:
		st.err, discard = ErrClosed, p
	default:
		x.running = p
		x.starts++
		if x.users == 0 {
			// Everyone who waited gave up: the pool still counts as used now.
			x.armIdleTimerLocked()
		}
	}
	x.mu.Unlock()
	close(st.done)
	if err != nil {
		x.log.Warn("pdfium pool failed to start", "err", err)
	}
	if discard != nil {
		if err := discard.close(); err != nil {
			x.log.Warn("stop pdfium pool", "err", err)
		}
	}
}

// releasePool ends a use of the pool that acquirePool began.
func (x *Extractor) releasePool() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.users--
	if x.users == 0 && x.running != nil && !x.closed {
		x.armIdleTimerLocked()
	}
}

func (x *Extractor) armIdleTimerLocked() {
	x.stopIdleTimerLocked()
	if x.opts.IdleStop < 0 {
		return
	}
	gen := x.idleGen
	x.idle = time.AfterFunc(x.opts.IdleStop, func() { x.stopIdle(gen) })
}

func (x *Extractor) stopIdleTimerLocked() {
	// A callback that has fired already but waits for mu sees the new
	// generation and does nothing.
	x.idleGen++
	if x.idle != nil {
		x.idle.Stop()
		x.idle = nil
	}
}

// stopIdle stops the pool if nothing has used it since the timer of
// generation gen was armed.
func (x *Extractor) stopIdle(gen uint64) {
	x.mu.Lock()
	if x.closed || gen != x.idleGen || x.users > 0 || x.running == nil {
		x.mu.Unlock()
		return
	}
	p := x.running
	x.running, x.idle = nil, nil
	x.inflight.Add(1)
	x.mu.Unlock()
	defer x.inflight.Done()

	if err := p.close(); err != nil {
		x.log.Warn("stop idle pdfium pool", "err", err)
	}
	// What the pool held is garbage now, but an idle process would not
	// collect it and return the pages to the operating system for minutes:
	// do both now, once, since giving the memory back is why the pool was
	// stopped.
	debug.FreeOSMemory()
	x.log.Info("pdfium pool stopped after idle time", "idle", x.opts.IdleStop)
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

// Close cuts short the extractions still running (they fail with
// ErrClosed), waits for them and for a start of the pool under way, and
// stops the pool if it runs. Extract fails with ErrClosed after Close.
func (x *Extractor) Close() error {
	x.closeOnce.Do(func() {
		x.mu.Lock()
		x.closed = true
		x.stopIdleTimerLocked()
		x.mu.Unlock()
		x.endLife(ErrClosed)
		x.inflight.Wait()
		// Nothing starts or stops a pool any more.
		x.mu.Lock()
		p := x.running
		x.running = nil
		x.mu.Unlock()
		if p != nil {
			x.closeErr = p.close()
		}
	})
	return x.closeErr
}

// Extract reads the document of the given kind (from Detect) from r, which
// holds size bytes. It waits for a free worker and, for the first PDF in a
// while, for the PDFium pool to start; it gives up when ctx ends or
// Options.Timeout passes, returning the context's error. Errors wrap
// ErrUnsupported, ErrUnparsable or ErrTooLarge when the document is at
// fault, and ErrClosed after Close.
func (x *Extractor) Extract(ctx context.Context, kind Kind, r io.ReaderAt, size int64) (*Document, error) {
	if size < 0 {
		return nil, fmt.Errorf("extract %s: negative size %d", kind, size)
	}
	ctx, done, err := x.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", kind, err)
	}
	defer done()

	start := time.Now()
	var doc *Document
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

// begin starts a call that parses a document: it counts the call for
// Close, bounds it by Options.Timeout and by Close, and waits for a free
// worker. The caller runs done when the call ends, and uses the context
// begin returns.
func (x *Extractor) begin(ctx context.Context) (context.Context, func(), error) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil, nil, ErrClosed
	}
	x.inflight.Add(1)
	x.mu.Unlock()

	// Close ends the call too.
	ctx, cancelCause := context.WithCancelCause(ctx)
	stopOnClose := context.AfterFunc(x.life, func() { cancelCause(context.Cause(x.life)) })
	ctx, cancel := context.WithTimeout(ctx, x.opts.Timeout)
	end := func() {
		cancel()
		stopOnClose()
		cancelCause(nil)
		x.inflight.Done()
	}
	select {
	case x.sem <- struct{}{}:
		return ctx, func() { <-x.sem; end() }, nil
	case <-ctx.Done():
		err := context.Cause(ctx)
		end()
		return nil, nil, fmt.Errorf("wait for a worker: %w", err)
	}
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
