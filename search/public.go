package search

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meilisearch/meilisearch-go"

	"portal/access"
)

// Limits on what a public search may ask of Meilisearch.
const (
	MaxQueryBytes  = 512
	MaxPage        = 100
	PublicPageSize = 10
)

// PublicQuery is a search of the public site's pages and training, already
// validated by its parser.
type PublicQuery struct {
	Text    string
	Lang    string
	Section string // optional facet filter
	Page    int    // 1-based
}

// Hit is one search result as the API returns it.
type Hit struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Lang    string `json:"lang"`
	Title   string `json:"title"`
	URL     string `json:"url"`
	Section string `json:"section"`
	// Snippet is HTML: the page text, escaped, with the matched words
	// wrapped in <mark> elements and nothing else.
	Snippet string `json:"snippet"`
}

// FacetValue is one value of a facet with the number of matching pages.
type FacetValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Results is one page of search results.
type Results struct {
	Query      string                  `json:"query"`
	Lang       string                  `json:"lang"`
	Page       int                     `json:"page"`
	TotalPages int                     `json:"totalPages"`
	Total      int                     `json:"total"`
	Hits       []Hit                   `json:"hits"`
	Facets     map[string][]FacetValue `json:"facets"`
}

// Searcher runs searches with a search-only key.
type Searcher struct {
	client meilisearch.ServiceReader
	cache  *publicCache
}

// Public answers are cached this long. The public indexes change when the
// site is rebuilt and reindexed; a reader may see the old answer for at most
// this long after that, unless the reindex ran in this process (ClearCache).
const publicCacheTTL = 30 * time.Second

// NewSearcher returns a Searcher over client, which should hold a key that
// can only search.
func NewSearcher(client meilisearch.ServiceReader) *Searcher {
	return &Searcher{client: client, cache: newPublicCache(publicCacheTTL, 10000, time.Now)}
}

// ClearCache forgets cached public answers; call it after reindexing.
func (s *Searcher) ClearCache() { s.cache.clear() }

// Highlight markers: private-use characters that cannot come from page text
// (Hugo's feed is plain text of Markdown), replaced after escaping.
const (
	markStart = "\uE000"
	markEnd   = "\uE001"
)

// Public searches public pages and training in one language, federated so
// that both indexes rank in one list.
func (s *Searcher) Public(ctx context.Context, q PublicQuery) (*Results, error) {
	if res, ok := s.cache.get(q); ok {
		return res, nil
	}
	res, err := s.public(ctx, q)
	if err != nil {
		return nil, err
	}
	s.cache.put(q, res)
	return res, nil
}

func (s *Searcher) public(ctx context.Context, q PublicQuery) (*Results, error) {
	// Anonymous readers see what access.CanSee allows a subject without
	// groups: public pages.
	acc, err := Access(access.Filter(access.Subject{}))
	if err != nil {
		return nil, err
	}
	lang, err := Equals("lang", q.Lang)
	if err != nil {
		return nil, err
	}
	clauses := []Clause{acc, lang}
	if q.Section != "" {
		sec, err := Equals("section", q.Section)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, sec)
	}
	filter, err := And(clauses...)
	if err != nil {
		return nil, err
	}
	// The facet counts must not depend on the section chosen, or the other
	// sections would vanish from the list once one is picked.
	facetFilter, err := And(acc, lang)
	if err != nil {
		return nil, err
	}
	query := func(index string, f []any) *meilisearch.SearchRequest {
		return &meilisearch.SearchRequest{
			IndexUID:              index,
			Query:                 queryText(q.Text),
			Filter:                f,
			AttributesToRetrieve:  []string{"id", "kind", "lang", "title", "url", "section", "description"},
			AttributesToCrop:      []string{"content:30"},
			AttributesToHighlight: []string{"content", "title"},
			HighlightPreTag:       markStart,
			HighlightPostTag:      markEnd,
			CropMarker:            "…",
			Locales:               []string{localeFor(q.Lang)},
		}
	}
	req := &meilisearch.MultiSearchRequest{
		Federation: &meilisearch.MultiSearchFederation{
			Offset: int64((q.Page - 1) * PublicPageSize),
			Limit:  PublicPageSize,
		},
		Queries: []*meilisearch.SearchRequest{query(IndexPages, filter), query(IndexTraining, filter)},
	}
	resp, err := s.client.MultiSearch(ctx, req)
	if err != nil {
		return nil, classify(err, "search")
	}
	res := &Results{
		Query: q.Text, Lang: q.Lang, Page: q.Page,
		Total: int(resp.EstimatedTotalHits),
		Hits:  make([]Hit, 0, len(resp.Hits)),
	}
	res.TotalPages = (res.Total + PublicPageSize - 1) / PublicPageSize
	for _, h := range resp.Hits {
		hit, err := decodeHit(h)
		if err != nil {
			return nil, err
		}
		res.Hits = append(res.Hits, hit)
	}
	facets, err := s.sectionFacets(ctx, queryText(q.Text), facetFilter)
	if err != nil {
		return nil, err
	}
	res.Facets = map[string][]FacetValue{"section": facets}
	return res, nil
}

func (s *Searcher) sectionFacets(ctx context.Context, text string, filter []any) ([]FacetValue, error) {
	req := &meilisearch.MultiSearchRequest{
		Federation: &meilisearch.MultiSearchFederation{
			Limit:         1,
			FacetsByIndex: map[string][]string{IndexPages: {"section"}, IndexTraining: {"section"}},
			MergeFacets:   &meilisearch.MultiSearchFederationMergeFacets{MaxValuesPerFacet: 50},
		},
		Queries: []*meilisearch.SearchRequest{
			{IndexUID: IndexPages, Query: text, Filter: filter, AttributesToRetrieve: []string{"id"}},
			{IndexUID: IndexTraining, Query: text, Filter: filter, AttributesToRetrieve: []string{"id"}},
		},
	}
	resp, err := s.client.MultiSearch(ctx, req)
	if err != nil {
		return nil, classify(err, "facet search")
	}
	var counts map[string]int
	if raw, ok := resp.FacetDistribution["section"]; ok {
		if err := json.Unmarshal(raw, &counts); err != nil {
			return nil, fmt.Errorf("decode facets: %w", err)
		}
	}
	out := make([]FacetValue, 0, len(counts))
	for v, n := range counts {
		out = append(out, FacetValue{Value: v, Count: n})
	}
	sortFacets(out)
	return out, nil
}

func decodeHit(h meilisearch.Hit) (Hit, error) {
	var doc struct {
		ID          string `json:"id"`
		Kind        string `json:"kind"`
		Lang        string `json:"lang"`
		Title       string `json:"title"`
		URL         string `json:"url"`
		Section     string `json:"section"`
		Description string `json:"description"`
		Formatted   struct {
			Content string `json:"content"`
		} `json:"_formatted"`
	}
	if err := h.DecodeInto(&doc); err != nil {
		return Hit{}, fmt.Errorf("decode hit: %w", err)
	}
	snippet := doc.Formatted.Content
	if !strings.Contains(snippet, markStart) && doc.Description != "" {
		// No match in the body (the title or description matched): the
		// description reads better than the body's first words.
		snippet = doc.Description
	}
	return Hit{
		ID: doc.ID, Kind: doc.Kind, Lang: doc.Lang, Title: doc.Title,
		URL: doc.URL, Section: doc.Section, Snippet: snippetHTML(snippet),
	}, nil
}

// snippetHTML escapes text and only then turns the highlight markers into
// <mark> elements, so the result contains no markup but those.
func snippetHTML(s string) string {
	s = html.EscapeString(s)
	s = strings.ReplaceAll(s, markStart, "<mark>")
	return strings.ReplaceAll(s, markEnd, "</mark>")
}

// ValidQueryText reports whether text may be sent to Meilisearch as a query.
func ValidQueryText(text string) error {
	if len(text) > MaxQueryBytes {
		return fmt.Errorf("query longer than %d bytes", MaxQueryBytes)
	}
	if !utf8.ValidString(text) {
		return fmt.Errorf("query is not valid UTF-8")
	}
	return nil
}

// queryText prepares a reader's words for Meilisearch: Arabic is folded as
// the indexed text was.
func queryText(text string) string {
	return NormalizeArabic(text)
}

func localeFor(lang string) string {
	switch lang {
	case "fr":
		return "fra"
	case "es":
		return "spa"
	case "ar":
		return "ara"
	}
	return "eng"
}
