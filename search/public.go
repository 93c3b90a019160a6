package search

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode/utf8"

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

// Searcher runs the portal's searches with the search-only key. Every
// search, a member's or an anonymous reader's, goes through a tenant token
// carrying the reader's access rule, besides the filter of the request
// itself.
type Searcher struct {
	key    string // the search key: health and version
	meili  transport
	tokens *tokens
	cache  *publicCache[PublicQuery, Results]
	// suggestCache keeps anonymous readers' suggestions (suggest.go).
	suggestCache *publicCache[SuggestQuery, Suggestions]
	gen          *generation // nil: no other instance to hear from
}

// Public answers are cached this long. The public indexes change when the
// site is rebuilt and reindexed; a reader may see the old answer for at most
// this long after that, unless the reindex ran in this process (ClearCache).
const publicCacheTTL = 30 * time.Second

// NewSearcher returns a Searcher for the Meilisearch at url. key must be a
// key that can only search (it signs the tenant tokens) and keyUID its UID.
func NewSearcher(url, key, keyUID string) *Searcher {
	return &Searcher{
		key:          key,
		meili:        transport{url: url, http: newHTTPClient()},
		tokens:       newTokens(key, keyUID),
		cache:        newPublicCache[PublicQuery, Results](publicCacheTTL, 10000, time.Now),
		suggestCache: newPublicCache[SuggestQuery, Suggestions](publicCacheTTL, 10000, time.Now),
	}
}

// ClearCache forgets cached public answers; call it after reindexing.
func (s *Searcher) ClearCache() { s.cache.clear(); s.suggestCache.clear() }

// WatchGeneration makes s drop its cached public answers when the counter
// read returns moves (PublicGeneration, bumped by `portal index site`),
// reading it at most once a second: so that every instance, not only the
// one that reindexed, stops answering from the old indexes. Call it before
// s serves.
func (s *Searcher) WatchGeneration(read func(ctx context.Context) (int64, error)) {
	s.gen = &generation{read: read, now: time.Now}
	// The first read sets the baseline: nothing is cached yet.
	s.gen.changed(context.Background())
}

// dropStale forgets the cached public answers if another instance (or
// this one) changed the public indexes since they were cached.
func (s *Searcher) dropStale(ctx context.Context) {
	if s.gen != nil && s.gen.changed(ctx) {
		s.ClearCache()
	}
}

// Highlight markers: private-use characters that cannot come from page text
// (Hugo's feed is plain text of Markdown), replaced after escaping.
const (
	markStart = "\uE000"
	markEnd   = "\uE001"
	// cropMarker stands where Meilisearch cut a passage.
	cropMarker = "…"
)

// Public searches public pages and training in one language, federated so
// that both indexes rank in one list.
func (s *Searcher) Public(ctx context.Context, q PublicQuery) (*Results, error) {
	s.dropStale(ctx)
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
	token, err := s.tokens.get(acc.expr)
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
	text := queryText(q.Text)
	query := func(index string) searchRequest {
		return searchRequest{
			IndexUID:              index,
			Q:                     text,
			Filter:                filter,
			AttributesToRetrieve:  []string{"id", "kind", "lang", "title", "url", "section", "description", "original"},
			AttributesToCrop:      []string{"content:30"},
			AttributesToHighlight: []string{"content", "title"},
			HighlightPreTag:       markStart,
			HighlightPostTag:      markEnd,
			CropMarker:            cropMarker,
			Locales:               []string{localeFor(q.Lang)},
		}
	}
	req := multiSearchRequest{
		Federation: federation{Offset: (q.Page - 1) * PublicPageSize, Limit: PublicPageSize},
		Queries:    []searchRequest{query(IndexPages), query(IndexTraining)},
	}
	// The section counts must not depend on the section chosen, or the
	// other sections would vanish from the list once one is picked. With
	// none chosen, the hits' own search counts them; with one, a second
	// search without it does.
	if q.Section == "" {
		req.Federation.FacetsByIndex = sectionFacetsByIndex()
		req.Federation.MergeFacets = &mergeFacets{MaxValuesPerFacet: 50}
	}
	var ans answer
	if err := s.meili.search(ctx, token, "/multi-search", req, &ans, "search"); err != nil {
		return nil, err
	}
	res := &Results{
		Query: q.Text, Lang: q.Lang, Page: q.Page,
		Total: ans.EstimatedTotalHits,
		Hits:  make([]Hit, 0, len(ans.Hits)),
	}
	res.TotalPages = (res.Total + PublicPageSize - 1) / PublicPageSize
	for i := range ans.Hits {
		res.Hits = append(res.Hits, siteHit(&ans.Hits[i]))
	}
	counts := ans.FacetDistribution["section"]
	if q.Section != "" {
		facetFilter, err := And(acc, lang)
		if err != nil {
			return nil, err
		}
		if counts, err = s.sectionCounts(ctx, token, text, facetFilter); err != nil {
			return nil, err
		}
	}
	res.Facets = map[string][]FacetValue{"section": facetValues(counts)}
	return res, nil
}

func sectionFacetsByIndex() map[string][]string {
	return map[string][]string{IndexPages: {"section"}, IndexTraining: {"section"}}
}

// sectionCounts counts the matches of text in each section.
func (s *Searcher) sectionCounts(ctx context.Context, token, text string, filter []any) (map[string]int, error) {
	req := multiSearchRequest{
		Federation: federation{Limit: 1, FacetsByIndex: sectionFacetsByIndex(),
			MergeFacets: &mergeFacets{MaxValuesPerFacet: 50}},
		Queries: []searchRequest{
			{IndexUID: IndexPages, Q: text, Filter: filter, AttributesToRetrieve: []string{"id"}},
			{IndexUID: IndexTraining, Q: text, Filter: filter, AttributesToRetrieve: []string{"id"}},
		},
	}
	var ans answer
	if err := s.meili.search(ctx, token, "/multi-search", req, &ans, "facet search"); err != nil {
		return nil, err
	}
	return ans.FacetDistribution["section"], nil
}

// siteHit shapes a page or training hit. A page whose searchable text is
// folded (Arabic) is shown as written: its original title, and the passage
// Meilisearch cropped and marked in the folded text mapped back onto the
// original (see Page.Original).
func siteHit(h *hitDoc) Hit {
	title, description, snippet := h.Title, h.Description, h.Formatted.Content
	if o := h.Original; o != nil {
		title, description = o.Title, o.Description
		// A passage that does not map back (the index out of step with
		// its own documents) gives way to the description as written:
		// never show readers the folded text.
		var ok bool
		if snippet, ok = restoreOriginal(snippet, o.Content, cropMarker); !ok {
			snippet = ""
		}
	}
	if !strings.Contains(snippet, markStart) && description != "" {
		// No match in the body (the title or description matched): the
		// description reads better than the body's first words.
		snippet = description
	}
	return Hit{
		ID: h.ID, Kind: h.Kind, Lang: h.Lang, Title: title,
		URL: h.URL, Section: h.Section, Snippet: snippetHTML(snippet),
	}
}

// snippetHTML escapes text and only then turns the highlight markers into
// <mark> elements, so the result contains no markup but those.
//
// Adjacent matches become one: Meilisearch's Arabic segmentation splits the
// article from its noun (ال|أطفال), and a reader who searched for the word
// expects it marked as one.
func snippetHTML(s string) string {
	s = strings.ReplaceAll(s, markEnd+markStart, "")
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
