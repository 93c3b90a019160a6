package search

import (
	"context"
	"fmt"
	"time"

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
}

// passageRecord is a research index record.
type passageRecord struct {
	ID           string   `json:"id"`
	DocID        string   `json:"doc_id"`
	Version      int      `json:"version"`
	Page         int      `json:"page"`
	Title        string   `json:"title"`
	TitleN       string   `json:"title_n"`
	Abstract     string   `json:"abstract"`
	Text         string   `json:"text"`
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

// IndexResearch adds or replaces a document's passages and waits for
// Meilisearch to confirm. New passages go in before stale ones are deleted,
// so the document never drops out of search while it is updated.
func (ix *Indexer) IndexResearch(ctx context.Context, d ResearchDoc, passages []ResearchPassage) error {
	if len(passages) == 0 {
		passages = []ResearchPassage{{Number: 1}}
	}
	recs := make([]passageRecord, len(passages))
	for i, p := range passages {
		recs[i] = passageRecord{
			ID:    fmt.Sprintf("%s-v%d-p%d", d.ID, d.Version, p.Number),
			DocID: d.ID, Version: d.Version, Page: p.Number,
			Title: d.Title, TitleN: NormalizeArabic(d.Title), Abstract: NormalizeArabic(d.Abstract),
			Text: NormalizeArabic(p.Text), Authors: d.Authors, Organisation: d.Organisation, Year: d.Year,
			Language: d.Language, Type: d.Type, Topics: d.Topics, TopicsText: d.TopicLabels,
			Countries: d.Countries, Regions: d.Regions, AccessGroups: d.AccessGroups, TLP: d.TLP,
			UpdatedAt: d.UpdatedAt.Unix(),
		}
	}
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
