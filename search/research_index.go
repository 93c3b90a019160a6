package search

import (
	"context"

	"portal/research"
)

// ResearchIndexer is the research library's index: it implements
// research.Indexer over an Indexer.
type ResearchIndexer struct {
	ix     *Indexer
	labels map[string][]string // topic id → its labels in every language
}

// NewResearchIndexer returns the research library's index.
func NewResearchIndexer(ix *Indexer) (*ResearchIndexer, error) {
	topics, err := research.Topics()
	if err != nil {
		return nil, err
	}
	labels := map[string][]string{}
	for _, t := range topics {
		for _, l := range t.Labels {
			labels[t.ID] = append(labels[t.ID], NormalizeArabic(l))
		}
	}
	return &ResearchIndexer{ix: ix, labels: labels}, nil
}

// IndexDocument implements research.Indexer.
func (r *ResearchIndexer) IndexDocument(ctx context.Context, d research.Document, passages []research.Passage) error {
	doc := ResearchDoc{
		ID: d.ID, Version: d.CurrentVersion, Title: d.Title, Abstract: d.Abstract, Authors: d.Authors,
		Organisation: d.Organisation, Year: d.Year, Language: d.Language, Type: string(d.Type), Topics: d.Topics,
		Countries: d.Countries, Regions: d.Regions, AccessGroups: d.AccessGroups, TLP: string(d.TLP), UpdatedAt: d.UpdatedAt,
	}
	for _, t := range d.Topics {
		doc.TopicLabels = append(doc.TopicLabels, r.labels[t]...)
	}
	ps := make([]ResearchPassage, len(passages))
	for i, p := range passages {
		ps[i] = ResearchPassage{Number: p.Number, Text: p.Text}
	}
	return r.ix.IndexResearch(ctx, doc, ps)
}

// DeleteDocument implements research.Indexer.
func (r *ResearchIndexer) DeleteDocument(ctx context.Context, id string) error {
	return r.ix.DeleteResearch(ctx, id)
}
