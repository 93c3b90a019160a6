package extract

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on a DOCX archive. Headers are only used to refuse early: sizes are
// counted on the bytes actually decompressed, since a hostile archive can
// declare anything.
const (
	maxZipEntries = 2000
	maxEntryBytes = 50 << 20
	maxTotalBytes = 200 << 20
	// maxRatio is the most an entry may expand relative to its compressed
	// size; ratioFloor is the size below which any ratio is allowed, because
	// small, repetitive XML parts legitimately compress very well.
	maxRatio   = 100
	ratioFloor = 1 << 20
	// maxCoreBytes bounds docProps/core.xml, which only holds metadata.
	maxCoreBytes = 1 << 20
)

// XML namespaces of the WordprocessingML vocabulary (transitional and
// strict), of Dublin Core (the title) and of markup compatibility.
const (
	nsWord       = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsWordStrict = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	nsDC         = "http://purl.org/dc/elements/1.1/"
	nsMC         = "http://schemas.openxmlformats.org/markup-compatibility/2006"
)

// extractDOCX reads the paragraphs of word/document.xml and the title of
// docProps/core.xml. Only those two parts are decompressed, so nothing else
// in the archive costs more than its directory entry.
func (x *Extractor) extractDOCX(ctx context.Context, r io.ReaderAt, size int64) (*Document, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		// zip.ErrInsecurePath comes with a usable reader, but a Word
		// document never has such names.
		return nil, fmt.Errorf("%w: not a valid ZIP archive: %v", ErrUnparsable, err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("%w: %d archive entries, limit %d", ErrTooLarge, len(zr.File), maxZipEntries)
	}
	// Part names are case-insensitive in Office packages. Duplicates are
	// refused because readers could disagree on which one is the document.
	parts := make(map[string]*zip.File, len(zr.File))
	var declared uint64
	for _, f := range zr.File {
		name := strings.ToLower(f.Name)
		if parts[name] != nil {
			return nil, fmt.Errorf("%w: duplicate archive entry %q", ErrUnparsable, f.Name)
		}
		parts[name] = f
		declared += f.UncompressedSize64
		if f.UncompressedSize64 > maxEntryBytes || declared > maxTotalBytes {
			return nil, fmt.Errorf("%w: archive declares more than %d MiB per entry or %d MiB in all",
				ErrTooLarge, maxEntryBytes>>20, maxTotalBytes>>20)
		}
	}
	document := parts["word/document.xml"]
	if document == nil || parts["[content_types].xml"] == nil {
		return nil, fmt.Errorf("%w: a ZIP archive but not a Word document", ErrUnsupported)
	}

	text := &budget{left: x.opts.MaxTextBytes}
	paras, err := readParagraphs(ctx, document, size, text)
	if err != nil {
		return nil, err
	}
	doc := &Document{Pages: passages(paras)}
	if core := parts["docprops/core.xml"]; core != nil {
		title, err := readCoreTitle(core, size)
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		if err != nil {
			// The title is a nicety; a document without a readable one is
			// still worth indexing.
			x.log.Debug("docx core properties unreadable", "err", err)
		}
		doc.Title = title
	}
	return doc, nil
}

// openBounded returns a reader of f's content, from an archive of
// archiveSize bytes, that fails with ErrTooLarge once the entry expands past
// limit bytes or past maxRatio times its compressed size. The total across
// entries needs no counting: the directory's sizes were checked, and
// archive/zip fails an entry that expands past its declared size.
func openBounded(f *zip.File, limit, archiveSize int64) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrUnparsable, f.Name, err)
	}
	// The compressed size comes from the directory too; it cannot exceed
	// the archive.
	compressed := min(int64(f.CompressedSize64), archiveSize)
	return &boundedReader{
		rc:    rc,
		r:     io.LimitReader(rc, limit+1),
		name:  f.Name,
		max:   limit,
		ratio: max(ratioFloor, maxRatio*compressed),
	}, nil
}

// boundedReader counts what an entry has expanded to.
type boundedReader struct {
	rc    io.Closer
	r     io.Reader
	name  string
	n     int64
	max   int64
	ratio int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.max:
		return n, fmt.Errorf("%w: %s expands past %d MiB", ErrTooLarge, b.name, b.max>>20)
	case b.n > b.ratio:
		return n, fmt.Errorf("%w: %s expands more than %d times its compressed size", ErrTooLarge, b.name, maxRatio)
	}
	return n, err
}

func (b *boundedReader) Close() error { return b.rc.Close() }

// newXMLDecoder returns a strict decoder. encoding/xml resolves no external
// entities and no DTDs, and bounds nesting depth, so only the size of the
// input needs bounding, which the reader does.
func newXMLDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.Strict = true
	return d
}

// readParagraphs streams word/document.xml and returns the text of its
// paragraphs: runs' w:t text, w:tab as a tab, w:br and w:cr as line breaks.
// Alternative content is read once (mc:Fallback duplicates mc:Choice).
func readParagraphs(ctx context.Context, f *zip.File, archiveSize int64, text *budget) ([]string, error) {
	rc, err := openBounded(f, maxEntryBytes, archiveSize)
	if err != nil {
		return nil, err
	}
	defer rc.Close()

	isW := func(n xml.Name) bool { return n.Space == nsWord || n.Space == nsWordStrict }
	var (
		paras []string
		cur   strings.Builder
		inRun int  // depth of w:r; tabs outside runs are tab stops, not text
		inT   bool // inside w:t
	)
	d := newXMLDecoder(rc)
	for tokens := 0; ; tokens++ {
		// Checking every token would cost more than the parsing.
		if tokens%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: word/document.xml: %v", ErrUnparsable, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == nsMC && t.Name.Local == "Fallback" {
				if err := d.Skip(); err != nil {
					if errors.Is(err, ErrTooLarge) {
						return nil, err
					}
					return nil, fmt.Errorf("%w: word/document.xml: %v", ErrUnparsable, err)
				}
				continue
			}
			if !isW(t.Name) {
				continue
			}
			switch t.Name.Local {
			case "r":
				inRun++
			case "t":
				inT = inRun > 0
			case "tab":
				if inRun > 0 {
					cur.WriteByte('\t')
				}
			case "br", "cr":
				if inRun > 0 {
					cur.WriteByte('\n')
				}
			}
		case xml.EndElement:
			if !isW(t.Name) {
				continue
			}
			switch t.Name.Local {
			case "r":
				inRun = max(0, inRun-1)
			case "t":
				inT = false
			case "p":
				if err := text.take(cur.Len() + 1); err != nil {
					return nil, err
				}
				paras = append(paras, cur.String())
				cur.Reset()
			}
		case xml.CharData:
			if inT {
				if cur.Len() > int(text.left) {
					return nil, fmt.Errorf("%w: more extracted text than the limit", ErrTooLarge)
				}
				cur.Write(t)
			}
		}
	}
	if cur.Len() > 0 {
		paras = append(paras, cur.String())
	}
	return paras, nil
}

// readCoreTitle returns dc:title from docProps/core.xml.
func readCoreTitle(f *zip.File, archiveSize int64) (string, error) {
	rc, err := openBounded(f, maxCoreBytes, archiveSize)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	d := newXMLDecoder(rc)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return "", nil
		}
		if errors.Is(err, ErrTooLarge) {
			return "", err
		}
		if err != nil {
			return "", fmt.Errorf("docProps/core.xml: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == nsDC && se.Name.Local == "title" {
			var title string
			if err := d.DecodeElement(&title, &se); err != nil {
				return "", fmt.Errorf("docProps/core.xml title: %w", err)
			}
			return title, nil
		}
	}
}
