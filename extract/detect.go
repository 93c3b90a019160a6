package extract

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// HeadSize is how many leading bytes Detect looks at. Callers pass that many,
// or the whole file when it is shorter.
const HeadSize = 4096

var (
	pdfMagic = []byte("%PDF-")
	zipMagic = []byte("PK\x03\x04")
	utf8BOM  = []byte("\xef\xbb\xbf")
)

// Detect decides the kind of a document from its first bytes. The content
// decides, never the name: a PDF starts with "%PDF-", a DOCX is a ZIP
// archive (Extract checks that it holds a Word document), and anything else
// must be UTF-8 text that no browser would take for markup. filename only
// chooses between Markdown and plain text. Everything else wraps
// ErrUnsupported.
func Detect(head []byte, filename string) (Kind, error) {
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	switch {
	case len(head) == 0:
		return "", fmt.Errorf("%w: empty file", ErrUnsupported)
	case bytes.HasPrefix(head, pdfMagic):
		return KindPDF, nil
	case bytes.HasPrefix(head, zipMagic):
		return KindDOCX, nil
	}
	if problem := textProblem(head, true); problem != "" {
		return "", fmt.Errorf("%w: %s", ErrUnsupported, problem)
	}
	if looksLikeMarkdown(filename, head) {
		return KindMarkdown, nil
	}
	return KindText, nil
}

// markupStarts are openings, compared case-insensitively after leading white
// space, that would let a browser or another reader take a "text" file for
// something active: HTML, SVG, XML, or a PDF whose header is not at byte 0.
var markupStarts = []string{"<!doctype html", "<html", "<svg", "<script", "<?xml", "%pdf-"}

// textProblem says why b is not acceptable text, or returns "" if it is. When
// partial, b is the head of a longer file and may end inside a character.
func textProblem(b []byte, partial bool) string {
	b = bytes.TrimPrefix(b, utf8BOM)
	if partial {
		b = trimPartialRune(b)
	}
	if !utf8.Valid(b) {
		return "not UTF-8 text"
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "contains NUL bytes"
	}
	if i := bytes.IndexFunc(b, isBinaryRune); i >= 0 {
		return "contains binary control bytes"
	}
	start := bytes.TrimLeft(b, " \t\r\n\f")
	for _, m := range markupStarts {
		if len(start) >= len(m) && strings.EqualFold(string(start[:len(m)]), m) {
			return "starts like HTML, SVG, XML or PDF, not like text"
		}
	}
	// Whatever else a browser's content sniffing takes for HTML or XML
	// (<body, <!--, <iframe, …) is refused too, so that no accepted text file
	// can render as a page if a header is ever lost.
	if ct := http.DetectContentType(b); !strings.HasPrefix(ct, "text/plain") {
		return "looks like " + strings.TrimSuffix(ct, "; charset=utf-8") + ", not like text"
	}
	return ""
}

// isBinaryRune reports the control characters that the WHATWG MIME sniffing
// standard calls binary data bytes. Text files never contain them; tab, line
// feed, form feed, carriage return and escape are allowed.
func isBinaryRune(r rune) bool {
	return r <= 0x08 || r == 0x0b || (r >= 0x0e && r <= 0x1a) || (r >= 0x1c && r <= 0x1f)
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, left by
// cutting a longer file to its head.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

var (
	mdHeading = regexp.MustCompile(`(?m)^ {0,3}#{1,6}[ \t]+\S`)
	mdList    = regexp.MustCompile(`(?m)^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S`)
	mdFence   = regexp.MustCompile("(?m)^ {0,3}(?:```|~~~)")
)

// looksLikeMarkdown decides between Markdown and plain text: by the name's
// extension when it is one of the usual ones, else by the text having a
// heading, a fenced code block or at least two list items.
func looksLikeMarkdown(filename string, text []byte) bool {
	name := strings.ToLower(filename)
	switch {
	case strings.HasSuffix(name, ".md"), strings.HasSuffix(name, ".markdown"):
		return true
	case strings.HasSuffix(name, ".txt"), strings.HasSuffix(name, ".text"):
		return false
	}
	return mdHeading.Match(text) || mdFence.Match(text) || len(mdList.FindAllIndex(text, 2)) == 2
}
