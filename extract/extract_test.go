package extract_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"portal/extract"
	"portal/extract/extracttest"
)

// The PDFium pool takes a moment to start (on first use), so most tests
// share two Extractors: one with the defaults and one with small limits.
var (
	shared  *extract.Extractor
	limited *extract.Extractor
)

// Limits of the limited Extractor.
const (
	limitedPages     = 3
	limitedTextBytes = 4000
)

func TestMain(m *testing.M) {
	flag.Parse()
	ctx := context.Background()
	var err error
	shared, err = extract.New(ctx, extract.Options{CacheDir: extracttest.CacheDir()})
	if err != nil {
		log.Fatalf("start extractor: %v", err)
	}
	limited, err = extract.New(ctx, extract.Options{
		MaxPages:     limitedPages,
		MaxTextBytes: limitedTextBytes,
		Workers:      1,
		CacheDir:     extracttest.CacheDir(),
	})
	if err != nil {
		log.Fatalf("start limited extractor: %v", err)
	}
	code := m.Run()
	shared.Close()
	limited.Close()
	os.Exit(code)
}

func extractBytes(t *testing.T, x *extract.Extractor, kind extract.Kind, b []byte) (*extract.Document, error) {
	t.Helper()
	return x.Extract(t.Context(), kind, bytes.NewReader(b), int64(len(b)))
}

// synthPages returns n pages of synthetic filler, each naming its page.
func synthPages(n int) []string {
	pages := make([]string, n)
	for i := range pages {
		pages[i] = fmt.Sprintf("Synthetic test page %d of %d. This text is generated for tests and describes nothing real.\n"+
			"Coordination between agencies relies on shared procedures, training and documented case handling.", i+1, n)
	}
	return pages
}

func TestExtractPDFPages(t *testing.T) {
	pages := synthPages(5)
	const phrase = "zebracorn lighthouse protocol"
	pages[2] += "\nUnique phrase: " + phrase + "."
	doc, err := extractBytes(t, shared, extract.KindPDF, extracttest.PDF(t, pages))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if doc.Kind != extract.KindPDF || doc.Title != extracttest.Title || len(doc.Pages) != 5 {
		t.Fatalf("got kind %q, title %q, %d pages; want pdf, %q, 5 pages", doc.Kind, doc.Title, len(doc.Pages), extracttest.Title)
	}
	for i, p := range doc.Pages {
		if p.Number != i+1 {
			t.Errorf("page %d has Number %d", i+1, p.Number)
		}
		if want := fmt.Sprintf("Synthetic test page %d of 5", i+1); !strings.Contains(p.Text, want) {
			t.Errorf("page %d text %q lacks %q", i+1, p.Text, want)
		}
		if got := strings.Contains(p.Text, phrase); got != (p.Number == 3) {
			t.Errorf("page %d contains the phrase: %v, want %v", p.Number, got, p.Number == 3)
		}
	}
}

func TestExtractPDFThroughput(t *testing.T) {
	const n = 300
	pdf := extracttest.PDF(t, synthPages(n))
	start := time.Now()
	doc, err := extractBytes(t, shared, extract.KindPDF, pdf)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	d := time.Since(start)
	if len(doc.Pages) != n {
		t.Fatalf("got %d pages, want %d", len(doc.Pages), n)
	}
	t.Logf("%d pages (%d KiB) in %v: %.0f pages/s", n, len(pdf)>>10, d, n/d.Seconds())
}

func TestExtractPDFUnparsable(t *testing.T) {
	good := extracttest.PDF(t, synthPages(4))
	// An /Encrypt dictionary whose password check fails for the empty user
	// password is all PDFium needs to ask for a password.
	encrypted := bytes.Replace(good, []byte("trailer\n<<"), []byte("trailer\n<< /Encrypt << /Filter /Standard /V 1 /R 2 /P -4 "+
		"/O <"+strings.Repeat("41", 32)+"> /U <"+strings.Repeat("42", 32)+"> >> /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]"), 1)
	if bytes.Equal(encrypted, good) {
		t.Fatal("could not add an /Encrypt dictionary to the test PDF")
	}
	tests := []struct {
		name string
		pdf  []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated or corrupt"},
		{"header only", []byte("%PDF-1.7\n"), "truncated or corrupt"},
		{"no pages", extracttest.PDF(t, nil), "no pages"},
		{"encrypted", encrypted, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extractBytes(t, shared, extract.KindPDF, tt.pdf)
			if !errors.Is(err, extract.ErrUnparsable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want ErrUnparsable mentioning %q", err, tt.want)
			}
		})
	}
}

func TestExtractPDFLimits(t *testing.T) {
	_, err := extractBytes(t, limited, extract.KindPDF, extracttest.PDF(t, synthPages(limitedPages+1)))
	if !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("%d pages: got %v, want ErrTooLarge", limitedPages+1, err)
	}
	long := make([]string, limitedPages)
	for i := range long {
		long[i] = strings.Repeat("Synthetic filler text for the extracted text limit. ", 30)
	}
	_, err = extractBytes(t, limited, extract.KindPDF, extracttest.PDF(t, long))
	if !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("%d bytes of text: got %v, want ErrTooLarge", len(long)*len(long[0]), err)
	}
	if _, err := extractBytes(t, limited, extract.KindPDF, extracttest.PDF(t, synthPages(limitedPages))); err != nil {
		t.Errorf("%d pages: %v", limitedPages, err)
	}
}

func TestExtractPDFDeadline(t *testing.T) {
	pdf := extracttest.PDF(t, synthPages(1500))
	for _, timeout := range []time.Duration{time.Millisecond, 30 * time.Millisecond, 80 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		start := time.Now()
		_, err := shared.Extract(ctx, extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("timeout %v: got %v, want context.DeadlineExceeded", timeout, err)
		}
		if d := time.Since(start); d > timeout+2*time.Second {
			t.Errorf("timeout %v: Extract returned after %v", timeout, d)
		}
	}
	// The killed instances are replaced: the pool still works.
	if _, err := extractBytes(t, shared, extract.KindPDF, extracttest.PDF(t, synthPages(2))); err != nil {
		t.Fatalf("Extract after deadlines: %v", err)
	}
}

func TestExtractPDFConcurrent(t *testing.T) {
	pdf := extracttest.PDF(t, synthPages(20))
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() {
			doc, err := shared.Extract(t.Context(), extract.KindPDF, bytes.NewReader(pdf), int64(len(pdf)))
			if err == nil && len(doc.Pages) != 20 {
				err = fmt.Errorf("got %d pages, want 20", len(doc.Pages))
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestExtractDOCX(t *testing.T) {
	const phrase = "quartz meridian checklist"
	paras := []string{
		"Synthetic test document for the extractor.",
		"Column A\tColumn B",
		"First line\nSecond line mentions the " + phrase + ".",
		"Ampersands & <angle brackets> survive escaping.",
	}
	doc, err := extractBytes(t, shared, extract.KindDOCX, extracttest.DOCX(t, "Synthetic DOCX title", paras))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if doc.Title != "Synthetic DOCX title" || len(doc.Pages) != 1 || doc.Pages[0].Number != 1 {
		t.Fatalf("got title %q and %d pages, want %q and 1 page", doc.Title, len(doc.Pages), "Synthetic DOCX title")
	}
	text := doc.Pages[0].Text
	for _, want := range []string{phrase, "Column A\tColumn B", "First line\nSecond line", "& <angle brackets>"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
}

// zipEntry is one file of a hand-built archive. When lie is set, the
// directory declares that size instead of the real one.
type zipEntry struct {
	name string
	body io.WriterTo
	lie  uint64
}

// buildZip writes entries with Deflate. A lying entry is compressed here
// and written raw, which lets its header declare any size.
func buildZip(t *testing.T, entries []zipEntry) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, e := range entries {
		if e.lie == 0 {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.body.WriteTo(w); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var comp bytes.Buffer
		fw, err := flate.NewWriter(&comp, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		crc := crc32.NewIEEE()
		if _, err := e.body.WriteTo(io.MultiWriter(fw, crc)); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: e.name, Method: zip.Deflate, CRC32: crc.Sum32(),
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: e.lie,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(comp.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// repeated writes head, n copies of unit, then tail, without holding them
// in memory.
type repeated struct {
	head, unit, tail string
	n                int
}

func (r repeated) WriteTo(w io.Writer) (int64, error) {
	chunk := []byte(strings.Repeat(r.unit, 1<<16/len(r.unit)))
	var total int64
	write := func(b []byte) error {
		n, err := w.Write(b)
		total += int64(n)
		return err
	}
	if err := write([]byte(r.head)); err != nil {
		return total, err
	}
	per := len(chunk) / len(r.unit)
	for left := r.n; left > 0; left -= per {
		if err := write(chunk[:min(left, per)*len(r.unit)]); err != nil {
			return total, err
		}
	}
	return total, write([]byte(r.tail))
}

type literal string

func (l literal) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, string(l))
	return int64(n), err
}

const (
	contentTypes = `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`
	docHead      = `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>`
	docTail      = `</w:t></w:r></w:p></w:body></w:document>`
)

func TestExtractDOCXBombs(t *testing.T) {
	small := literal(docHead + "Synthetic." + docTail)
	tests := []struct {
		name    string
		entries []zipEntry
		want    error
	}{
		// Refused on the directory's word, before decompressing anything.
		{"declares more than the entry limit", []zipEntry{
			{name: "[Content_Types].xml", body: literal(contentTypes)},
			{name: "word/document.xml", body: small, lie: 64 << 20},
		}, extract.ErrTooLarge},
		// archive/zip fails an entry that expands past its declared size,
		// as corrupt, so a lying header gains nothing.
		{"expands past its declared size", []zipEntry{
			{name: "[Content_Types].xml", body: literal(contentTypes)},
			{name: "word/document.xml", body: repeated{head: docHead, unit: "a", tail: docTail, n: 1 << 20}, lie: 1000},
		}, extract.ErrUnparsable},
		// 4 MiB from about 4 KiB: stopped after 1 MiB.
		{"compression ratio", []zipEntry{
			{name: "[Content_Types].xml", body: literal(contentTypes)},
			{name: "word/document.xml", body: repeated{head: docHead, unit: "a", tail: docTail, n: 4 << 20}},
		}, extract.ErrTooLarge},
		{"bomb in the core properties", []zipEntry{
			{name: "[Content_Types].xml", body: literal(contentTypes)},
			{name: "word/document.xml", body: small},
			{name: "docProps/core.xml", body: repeated{head: "<x>", unit: "c", tail: "</x>", n: 2 << 20}},
		}, extract.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docx := buildZip(t, tt.entries)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := extractBytes(t, shared, extract.KindDOCX, docx)
			d := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			// Cumulative allocation, not the peak: the XML decoder allocates
			// per token. It shows that decompression stopped early.
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d KiB archive refused in %v after allocating %d MiB: %v", len(docx)>>10, d, allocated>>20, err)
			if allocated > 16<<20 {
				t.Errorf("allocated %d MiB, want at most 16 MiB", allocated>>20)
			}
			if d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestExtractDOCXRefused(t *testing.T) {
	many := []zipEntry{{name: "[Content_Types].xml", body: literal(contentTypes)}, {name: "word/document.xml", body: literal(docHead + docTail)}}
	for i := range 2000 {
		many = append(many, zipEntry{name: fmt.Sprintf("word/media/%d.txt", i), body: literal("x")})
	}
	tests := []struct {
		name string
		docx []byte
		want error
	}{
		{"too many entries", buildZip(t, many), extract.ErrTooLarge},
		{"not a word document", buildZip(t, []zipEntry{{name: "[Content_Types].xml", body: literal(contentTypes)}, {name: "xl/workbook.xml", body: literal("<x/>")}}), extract.ErrUnsupported},
		{"duplicate document", buildZip(t, []zipEntry{
			{name: "[Content_Types].xml", body: literal(contentTypes)},
			{name: "word/document.xml", body: literal(docHead + docTail)},
			{name: "word/document.xml", body: literal(docHead + docTail)},
		}), extract.ErrUnparsable},
		{"malformed xml", buildZip(t, []zipEntry{{name: "[Content_Types].xml", body: literal(contentTypes)}, {name: "word/document.xml", body: literal(docHead)}}), extract.ErrUnparsable},
		{"truncated archive", extracttest.DOCX(t, "t", []string{"Synthetic."})[:200], extract.ErrUnparsable},
		{"external entity", buildZip(t, []zipEntry{{name: "[Content_Types].xml", body: literal(contentTypes)}, {name: "word/document.xml", body: literal(
			`<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + docHead + "&x;" + docTail)}}), extract.ErrUnparsable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extractBytes(t, shared, extract.KindDOCX, tt.docx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExtractMarkdownPassages(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Synthetic handbook\n\nThis handbook is synthetic test data.\n\n")
	for i := range 12 {
		fmt.Fprintf(&b, "## Section %d\n\n%s\n\n", i+1, strings.Repeat(fmt.Sprintf("section%d filler word ", i+1), 30))
	}
	b.WriteString("Closing paragraph with the unique phrase amber falcon.\n")
	doc, err := extractBytes(t, shared, extract.KindMarkdown, []byte(b.String()))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if doc.Title != "Synthetic handbook" {
		t.Errorf("got title %q, want %q", doc.Title, "Synthetic handbook")
	}
	// About 1,130 words in passages of about 300.
	if n := len(doc.Pages); n < 3 || n > 5 {
		t.Fatalf("got %d passages, want 3 to 5", n)
	}
	for i, p := range doc.Pages {
		if p.Number != i+1 {
			t.Errorf("passage %d has Number %d", i+1, p.Number)
		}
		if n := len(strings.Fields(p.Text)); n > 450 {
			t.Errorf("passage %d has %d words, want at most 450", p.Number, n)
		}
	}
	if last := doc.Pages[len(doc.Pages)-1]; !strings.Contains(last.Text, "amber falcon") {
		t.Errorf("last passage %q lacks the closing phrase", last.Text)
	}
}

func TestExtractTextLongParagraph(t *testing.T) {
	text := "\ufeffSynthetic test text.\r\n\r\n" + strings.Repeat("word ", 1000)
	doc, err := extractBytes(t, shared, extract.KindText, []byte(text))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if doc.Title != "" {
		t.Errorf("got title %q for plain text, want none", doc.Title)
	}
	total := 0
	for _, p := range doc.Pages {
		n := len(strings.Fields(p.Text))
		total += n
		if n > 450 || strings.Contains(p.Text, "\r") || strings.Contains(p.Text, "\ufeff") {
			t.Errorf("passage %d: %d words, text %.40q…", p.Number, n, p.Text)
		}
	}
	if total != 1003 {
		t.Errorf("passages hold %d words, want 1003", total)
	}
}

func TestExtractTextRefused(t *testing.T) {
	tests := []struct {
		name string
		x    *extract.Extractor
		text string
		want error
	}{
		{"NUL byte", shared, "Synthetic\x00text", extract.ErrUnsupported},
		{"invalid UTF-8", shared, "caf\xe9", extract.ErrUnsupported},
		{"HTML", shared, "<!DOCTYPE html><p>x", extract.ErrUnsupported},
		{"over the text limit", limited, strings.Repeat("a", limitedTextBytes+1), extract.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extractBytes(t, tt.x, extract.KindText, []byte(tt.text))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExtractKindMismatch(t *testing.T) {
	if _, err := extractBytes(t, shared, extract.KindPDF, []byte("Synthetic text, not a PDF.")); !errors.Is(err, extract.ErrUnsupported) {
		t.Errorf("text as PDF: got %v, want ErrUnsupported", err)
	}
	if _, err := extractBytes(t, shared, extract.Kind("exe"), []byte("x")); !errors.Is(err, extract.ErrUnsupported) {
		t.Errorf("unknown kind: got %v, want ErrUnsupported", err)
	}
}

func TestExtractMarkdownTitle(t *testing.T) {
	tests := []struct{ name, md, want string }{
		{"atx", "Intro line\n\n## Second-level first\n\n# Later", "Second-level first"},
		{"closing hashes", "# Synthetic title ##\n", "Synthetic title"},
		{"setext", "Synthetic title\n===\n\ntext", "Synthetic title"},
		{"front matter", "---\ntitle: \"From front matter\"\n---\n# Heading\n", "From front matter"},
		{"skips fenced code", "```\n# not a title\n```\n# Real title\n", "Real title"},
		{"none", "Just synthetic text.\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := extractBytes(t, shared, extract.KindMarkdown, []byte(tt.md))
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if doc.Title != tt.want {
				t.Errorf("got title %q, want %q", doc.Title, tt.want)
			}
		})
	}
}
