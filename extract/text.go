package extract

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Passage sizes, in words, for documents without pages: passages aim at
// passageWords and never exceed maxPassageWords, so that a search hit points
// to a readable stretch of text.
const (
	passageWords    = 300
	maxPassageWords = 450
)

// extractText reads a Markdown or plain text file. The whole file is checked
// again as Detect checked its head: valid UTF-8, no NUL or binary bytes, no
// markup at the start.
func (x *Extractor) extractText(kind Kind, r io.ReaderAt, size int64) (*Document, error) {
	if size > x.opts.MaxTextBytes {
		return nil, fmt.Errorf("%w: %d bytes of text, limit %d", ErrTooLarge, size, x.opts.MaxTextBytes)
	}
	b, err := readAll(r, size)
	if err != nil {
		return nil, err
	}
	if problem := textProblem(b, false); problem != "" {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, problem)
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	doc := &Document{Pages: passages(paragraphs(text))}
	if kind == KindMarkdown {
		doc.Title = markdownTitle(text)
	}
	return doc, nil
}

var blankLines = regexp.MustCompile(`\n[ \t\r\f]*\n`)

// paragraphs splits text at blank lines and drops empty paragraphs.
func paragraphs(text string) []string {
	var ps []string
	for _, p := range blankLines.Split(text, -1) {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// passages groups paragraphs into passages of about passageWords words,
// numbered from 1. A paragraph longer than maxPassageWords is cut into
// pieces of passageWords words, losing its line breaks, which do not matter
// for search.
func passages(paras []string) []Page {
	var (
		pages []Page
		cur   []string
		words int
	)
	flush := func() {
		if len(cur) > 0 {
			pages = append(pages, Page{Number: len(pages) + 1, Text: strings.Join(cur, "\n\n")})
			cur, words = nil, 0
		}
	}
	add := func(p string, n int) {
		if words > 0 && words+n > maxPassageWords {
			flush()
		}
		cur = append(cur, p)
		words += n
		if words >= passageWords {
			flush()
		}
	}
	for _, p := range paras {
		fields := strings.Fields(p)
		if len(fields) <= maxPassageWords {
			add(p, len(fields))
			continue
		}
		for len(fields) > 0 {
			n := min(passageWords, len(fields))
			add(strings.Join(fields[:n], " "), n)
			fields = fields[n:]
		}
	}
	flush()
	return pages
}

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	setextLine    = regexp.MustCompile(`^ {0,3}(?:=+|-+)[ \t]*$`)
	fenceDelim    = regexp.MustCompile("^ {0,3}(?:```|~~~)")
	frontMatter   = regexp.MustCompile(`(?s)\A---\n.*?\n---\n`)
	frontMatterTi = regexp.MustCompile(`(?m)^title:[ \t]*["']?(.*?)["']?[ \t]*$`)
)

// markdownTitle returns the title from YAML front matter if there is one,
// else the first heading (ATX "# Title" or setext "Title\n====="), outside
// fenced code blocks.
func markdownTitle(text string) string {
	if fm := frontMatter.FindString(text); fm != "" {
		if m := frontMatterTi.FindStringSubmatch(fm); m != nil && m[1] != "" {
			return m[1]
		}
		text = text[len(fm):]
	}
	lines := strings.Split(text, "\n")
	inFence := false
	for i, line := range lines {
		if fenceDelim.MatchString(line) {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			return m[1]
		}
		if i+1 < len(lines) && strings.TrimSpace(line) != "" && setextLine.MatchString(lines[i+1]) &&
			!mdList.MatchString(line) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
