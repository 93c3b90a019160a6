package search

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/meilisearch/meilisearch-go"
)

// IndexResearch is the index of the research library: one record per
// passage (a PDF page, or a few hundred words), each carrying its document's
// metadata and access fields, collapsed to one hit per document by the
// distinct attribute doc_id.
const IndexResearch = "research"

// ResearchDoc is what the research index needs of a document version.
type ResearchDoc struct {
	ID           string
	Version      int
	Title        string
	Abstract     string
	Authors      []string
	Organisation string
	Year         int
	Language     string
	Type         string
	Topics       []string
	TopicLabels  []string // the topics' labels in all languages, to be found by any
	Countries    []string
	Regions      []string
	AccessGroups []string
	TLP          string
	UpdatedAt    time.Time
}

// ResearchPassage is one page or passage of a document's text.
type ResearchPassage struct {
	Number int
	Text   string
	// Recognised says the text was read by OCR from a scanned page.
	Recognised bool
}

// ResearchRecord is a research index record: one passage of a document
// version, with the document's fields.
type ResearchRecord struct {
	ID       string `json:"id"`
	DocID    string `json:"doc_id"`
	Version  int    `json:"version"`
	Page     int    `json:"page"`
	Title    string `json:"title"`
	TitleN   string `json:"title_n"`
	Abstract string `json:"abstract"`
	Summary  string `json:"summary"`
	Text     string `json:"text"`
	// TextOriginal is the passage as written when Text, which is searched,
	// holds it folded (Arabic): hits show it, with the matches found in
	// Text marked at the same letters (restoreOriginal). Empty otherwise.
	TextOriginal string `json:"text_original,omitempty"`
	// Recognised marks text read by OCR from a page without a text layer.
	Recognised   bool     `json:"recognised,omitempty"`
	Authors      []string `json:"authors"`
	Organisation string   `json:"organisation"`
	Year         int      `json:"year"`
	Language     string   `json:"language"`
	Type         string   `json:"type"`
	Topics       []string `json:"topics"`
	TopicsText   []string `json:"topics_text"`
	Countries    []string `json:"countries"`
	Regions      []string `json:"regions"`
	AccessGroups []string `json:"access_groups"`
	TLP          string   `json:"tlp"`
	UpdatedAt    int64    `json:"updated_at"`
}

// ResearchRecords maps a document version to its index records, one per
// passage, each carrying the document's fields. It is the one place that
// does so, for a single push, a rebuild and the benchmark's raw side alike.
// A document without text still gets a record, so that its metadata can be
// found.
func ResearchRecords(d ResearchDoc, passages []ResearchPassage) []ResearchRecord {
	if len(passages) == 0 {
		passages = []ResearchPassage{{Number: 1}}
	}
	titleN, abstractN, summary := NormalizeArabic(d.Title), NormalizeArabic(d.Abstract), Summary(d.Abstract)
	recs := make([]ResearchRecord, len(passages))
	for i, p := range passages {
		text := NormalizeArabic(p.Text)
		original := ""
		if text != p.Text {
			original = p.Text
		}
		recs[i] = ResearchRecord{
			ID:    fmt.Sprintf("%s-v%d-p%d", d.ID, d.Version, p.Number),
			DocID: d.ID, Version: d.Version, Page: p.Number,
			Title: d.Title, TitleN: titleN, Abstract: abstractN, Summary: summary,
			Text: text, TextOriginal: original, Recognised: p.Recognised, Authors: d.Authors, Organisation: d.Organisation, Year: d.Year,
			Language: d.Language, Type: d.Type, Topics: d.Topics, TopicsText: d.TopicLabels,
			Countries: d.Countries, Regions: d.Regions, AccessGroups: d.AccessGroups, TLP: d.TLP,
			UpdatedAt: d.UpdatedAt.Unix(),
		}
	}
	return recs
}

// summaryRunes is the longest summary, in runes, before its ellipsis.
const summaryRunes = 240

// Summary is what a search hit shows of a record when its text did not
// match: the abstract as written (not normalised: it is read, not
// searched), whole if it has at most 240 runes. A longer one is cut at the
// last word boundary within its first 240 runes, trailing spaces and
// separating punctuation are dropped, and "…" is appended, so the result
// has at most 241 runes. A first word longer than 240 runes is cut inside.
func Summary(abstract string) string {
	if utf8.RuneCountInString(abstract) <= summaryRunes {
		return abstract
	}
	end := 0 // byte offset just after the first summaryRunes runes
	for range summaryRunes {
		_, size := utf8.DecodeRuneInString(abstract[end:])
		end += size
	}
	cut := abstract[:end]
	// When the next rune is a space, the cut already ends a word.
	if next, _ := utf8.DecodeRuneInString(abstract[end:]); !unicode.IsSpace(next) {
		if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 0 {
			cut = cut[:i]
		}
	}
	if trimmed := strings.TrimRightFunc(cut, summaryTrim); trimmed != "" {
		cut = trimmed
	}
	return cut + "…"
}

// summaryTrim reports whether r may go before a summary's ellipsis:
// spaces and punctuation that separates words or ends a sentence.
func summaryTrim(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(",;:.-–—،؛", r)
}

// IndexResearch adds or replaces a document's passages and waits for
// Meilisearch to confirm. New passages go in before stale ones are deleted,
// so the document never drops out of search while it is updated.
func (ix *Indexer) IndexResearch(ctx context.Context, d ResearchDoc, passages []ResearchPassage) error {
	recs := ResearchRecords(d, passages)
	pk := "id"
	for start := 0; start < len(recs); start += batchSize {
		end := min(start+batchSize, len(recs))
		info, err := ix.client.Index(IndexResearch).AddDocuments(ctx, recs[start:end], &meilisearch.DocumentOptions{PrimaryKey: &pk})
		if err := ix.wait(ctx, info, err, "add passages"); err != nil {
			return err
		}
	}
	if d.Version <= 1 {
		return nil
	}
	// A version's passages keep their ids when it is indexed again, so
	// only older versions can leave passages behind.
	id, err := Equals("doc_id", d.ID)
	if err != nil {
		return err
	}
	older, err := Between("version", 0, d.Version-1)
	if err != nil {
		return err
	}
	stale, err := And(id, older)
	if err != nil {
		return err
	}
	info, err := ix.client.Index(IndexResearch).DeleteDocumentsByFilter(ctx, stale, nil)
	return ix.wait(ctx, info, err, "delete stale passages")
}

// DeleteResearch removes every passage of a document and waits.
func (ix *Indexer) DeleteResearch(ctx context.Context, id string) error {
	c, err := Equals("doc_id", id)
	if err != nil {
		return err
	}
	f, err := And(c)
	if err != nil {
		return err
	}
	info, err := ix.client.Index(IndexResearch).DeleteDocumentsByFilter(ctx, f, nil)
	return ix.wait(ctx, info, err, "delete document")
}

// ResearchStats is what the index holds, to compare with the store.
type ResearchStats struct {
	Documents int
	Versions  map[string]int // document id → indexed version
}

// ResearchContents lists the indexed documents and versions (distinct by
// document), to check that the index equals the store after a reindex.
func (ix *Indexer) ResearchContents(ctx context.Context) (ResearchStats, error) {
	st := ResearchStats{Versions: map[string]int{}}
	const pageSize = 1000
	for offset := int64(0); ; offset += pageSize {
		var res meilisearch.DocumentsResult
		err := ix.client.Index(IndexResearch).GetDocuments(ctx, &meilisearch.DocumentsQuery{
			Offset: offset, Limit: pageSize, Fields: []string{"doc_id", "version"}}, &res)
		if err != nil {
			return st, classify(err, "list research documents")
		}
		for _, h := range res.Results {
			var r struct {
				DocID   string `json:"doc_id"`
				Version int    `json:"version"`
			}
			if err := h.DecodeInto(&r); err != nil {
				return st, err
			}
			st.Versions[r.DocID] = max(st.Versions[r.DocID], r.Version)
		}
		if len(res.Results) < pageSize {
			break
		}
	}
	st.Documents = len(st.Versions)
	return st, nil
}
