// Package gen writes small, real PDF and DOCX files from plain text, so that
// tests and the demo seeder can exercise upload, extraction and search with
// synthetic documents instead of binary files checked into the repository.
//
// The output is deterministic (no dates, no random identifiers): the same
// input always gives the same bytes, hence the same content hash in the blob
// store. Whatever text callers pass should be synthetic and say so.
package gen

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// Page geometry in PDF points (A4). A line holds about 80 characters of
// 11-point Helvetica between the margins, and a page about 50 lines.
const (
	pageWidth    = 595
	pageHeight   = 842
	margin       = 56
	fontSize     = 11
	leading      = 14
	lineChars    = 80
	linesPerPage = (pageHeight - 2*margin) / leading
)

// ErrTooLong reports page text that does not fit on one page.
var ErrTooLong = errors.New("page text does not fit on one page")

// PDF returns a PDF 1.7 file with one page per element of pages, its text set
// in Helvetica and wrapped at about 80 characters, and title in the document
// information dictionary. An empty pages gives a valid PDF with no pages,
// which extraction must reject.
//
// The file is written by hand rather than with a PDF library: the format
// needed here is a few objects and a cross-reference table, and a fixture
// generator should not add a dependency to the module. Text is encoded as
// WinAnsi (Windows-1252), the standard fonts' encoding; characters outside
// it become "?".
func PDF(title string, pages []string) ([]byte, error) {
	// Objects: 1 catalog, 2 page tree, 3 font, 4 info, then a page object and
	// its content stream per page.
	const firstPageObj = 5
	pageObj := func(i int) int { return firstPageObj + 2*i }

	var b bytes.Buffer
	// The second line marks the file as binary for transfer tools, as the
	// specification recommends.
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := []int{0} // object 0 is the head of the free list

	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets)-1, body)
	}

	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", pageObj(i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(fmt.Sprintf("<< /Title %s /Producer %s >>",
		textString(title), textString("portal extract/gen (synthetic document)")))

	for i, text := range pages {
		lines := wrap(text, lineChars)
		if len(lines) > linesPerPage {
			return nil, fmt.Errorf("page %d: %w (%d lines, at most %d)", i+1, ErrTooLong, len(lines), linesPerPage)
		}
		var content bytes.Buffer
		fmt.Fprintf(&content, "BT\n/F1 %d Tf\n%d TL\n%d %d Td\n", fontSize, leading, margin, pageHeight-margin)
		for _, line := range lines {
			fmt.Fprintf(&content, "%s Tj T*\n", winAnsiHex(line))
		}
		content.WriteString("ET\n")

		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>",
			pageWidth, pageHeight, pageObj(i)+1))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.Bytes()))
	}

	xref := b.Len()
	// Each cross-reference entry is exactly 20 bytes, end of line included.
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes(), nil
}

// wrap splits text into lines of at most width runes, breaking at spaces
// where it can; the text's own line breaks are kept.
func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			lines = append(lines, "")
			continue
		}
		var line []rune
		for _, w := range words {
			for r := []rune(w); len(r) > 0; {
				switch {
				case len(line) == 0 && len(r) > width:
					lines = append(lines, string(r[:width]))
					r = r[width:]
				case len(line) == 0:
					line, r = r, nil
				case len(line)+1+len(r) <= width:
					line = append(append(line, ' '), r...)
					r = nil
				default:
					lines = append(lines, string(line))
					line = nil
				}
			}
		}
		lines = append(lines, string(line))
	}
	return lines
}

// winAnsiHex returns s as a PDF hexadecimal string in WinAnsi encoding. Hex
// strings need no escaping, so no input can break out of the string.
func winAnsiHex(s string) string {
	var b strings.Builder
	b.WriteByte('<')
	for _, r := range s {
		c, ok := charmap.Windows1252.EncodeRune(r)
		if !ok {
			c = '?'
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	b.WriteByte('>')
	return b.String()
}

// textString returns s as a PDF text string: UTF-16BE with a byte order
// mark, in hexadecimal, which holds any Unicode text.
func textString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteByte('>')
	return b.String()
}

// DOCX returns a minimal Office Open XML word-processing document with one
// paragraph per element of paragraphs and title as its core property. In a
// paragraph, "\t" becomes a tab and "\n" a line break, as Word writes them.
func DOCX(title string, paragraphs []string) ([]byte, error) {
	var body bytes.Buffer
	for _, p := range paragraphs {
		body.WriteString("<w:p><w:r>")
		for i, line := range strings.Split(p, "\n") {
			if i > 0 {
				body.WriteString("<w:br/>")
			}
			for j, cell := range strings.Split(line, "\t") {
				if j > 0 {
					body.WriteString("<w:tab/>")
				}
				if cell == "" {
					continue
				}
				body.WriteString(`<w:t xml:space="preserve">`)
				if err := xml.EscapeText(&body, []byte(cell)); err != nil {
					return nil, fmt.Errorf("escape paragraph text: %w", err)
				}
				body.WriteString("</w:t>")
			}
		}
		body.WriteString("</w:r></w:p>")
	}
	var escTitle bytes.Buffer
	if err := xml.EscapeText(&escTitle, []byte(title)); err != nil {
		return nil, fmt.Errorf("escape title: %w", err)
	}

	parts := []struct{ name, body string }{
		// Word itself writes the content types first; some tools sniff for it.
		{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
			`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
			`</Types>`},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
			`</Relationships>`},
		{"word/document.xml", xml.Header + `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
			body.String() + `</w:body></w:document>`},
		{"docProps/core.xml", xml.Header + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">` +
			`<dc:title>` + escTitle.String() + `</dc:title><dc:creator>portal extract/gen (synthetic document)</dc:creator></cp:coreProperties>`},
	}

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, p := range parts {
		// A zero Modified time is written as the DOS epoch, keeping the output
		// deterministic.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate})
		if err != nil {
			return nil, fmt.Errorf("add %s: %w", p.name, err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			return nil, fmt.Errorf("write %s: %w", p.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finish docx: %w", err)
	}
	return out.Bytes(), nil
}
