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

var _ research.Indexer = (*ResearchIndexer)(nil)

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
	doc, ps := r.researchDoc(d, passages)
	return r.ix.IndexResearch(ctx, doc, ps)
}

// DeleteDocument implements research.Indexer.
func (r *ResearchIndexer) DeleteDocument(ctx context.Context, id string) error {
	return r.ix.DeleteResearch(ctx, id)
}

// Rebuild implements research.Indexer with a ResearchBuild.
func (r *ResearchIndexer) Rebuild(ctx context.Context, confirmed func(records int)) (research.IndexBuild, error) {
	b, err := r.ix.BeginResearchBuild(ctx, confirmed)
	if err != nil {
		return nil, err
	}
	return researchBuild{r: r, b: b}, nil
}

// researchBuild is a ResearchBuild fed with research records.
type researchBuild struct {
	r *ResearchIndexer
	b *ResearchBuild
}

func (rb researchBuild) Add(ctx context.Context, d research.Document, passages []research.Passage) error {
	doc, ps := rb.r.researchDoc(d, passages)
	return rb.b.Add(ctx, doc, ps)
}

func (rb researchBuild) Remove(ctx context.Context, ids []string) error { return rb.b.Remove(ctx, ids) }
func (rb researchBuild) Wait(ctx context.Context) error                 { return rb.b.Wait(ctx) }
func (rb researchBuild) Swap(ctx context.Context) error                 { return rb.b.Swap(ctx) }
func (rb researchBuild) Close(ctx context.Context) error                { return rb.b.Close(ctx) }

// researchDoc is what the index takes of a record's current version; with
// ResearchRecords, the one mapping from a record to its index records.
func (r *ResearchIndexer) researchDoc(d research.Document, passages []research.Passage) (ResearchDoc, []ResearchPassage) {
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
		ps[i] = ResearchPassage{Number: p.Number, Text: p.Text, Recognised: p.Recognised}
	}
	return doc, ps
}
