package search

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"portal/access"
)

// Members' searches are enforced twice (DESIGN.md): the API's own filter
// array starts with the access clause, and the request is sent with a tenant
// token whose search rules carry the same clause, so even a bug in the
// request building could not return what Meilisearch was told to hide.

// tokenLifetime bounds a tenant token (SECURITY.md MS-5): it cannot be
// revoked alone, so it must die soon.
const tokenLifetime = 15 * time.Minute

// Tokens mints and caches tenant tokens per access rule, signed with the
// search key; the master key is never involved.
type Tokens struct {
	url    string
	key    string // the search key, which signs
	keyUID string
	http   *http.Client
	signer meilisearch.ServiceManager
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]tokenEntry
}

type tokenEntry struct {
	client  meilisearch.ServiceManager
	expires time.Time
}

// NewTokens returns a token source for the search key with the given UID.
func NewTokens(url, searchKey, searchKeyUID string, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{url: url, key: searchKey, keyUID: searchKeyUID, http: newHTTPClient(), now: now,
		signer: NewClient(url, searchKey), cache: map[string]tokenEntry{}}
}

// client returns a Meilisearch client authenticated with a tenant token for
// rule, minting one when none is cached or the cached one is about to end.
func (t *Tokens) client(rule access.Rule, filter string) (meilisearch.ServiceManager, error) {
	// Keyed by the filter itself: two rules that print alike can never
	// share a token unless they filter alike.
	key := filter
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.cache[key]; ok && now.Add(time.Minute).Before(e.expires) {
		return e.client, nil
	}
	expires := now.Add(tokenLifetime)
	rules := map[string]any{}
	for _, idx := range []string{IndexResearch, IndexPages, IndexTraining} {
		rules[idx] = map[string]any{"filter": filter}
	}
	tok, err := t.signer.GenerateTenantToken(t.keyUID, rules, &meilisearch.TenantTokenOptions{APIKey: t.key, ExpiresAt: expires})
	if err != nil {
		return nil, fmt.Errorf("tenant token: %w", err)
	}
	c := meilisearch.New(t.url, meilisearch.WithAPIKey(tok), meilisearch.WithCustomClient(t.http), meilisearch.DisableRetries())
	if len(t.cache) > 10000 {
		clear(t.cache) // bounded memory; tokens are cheap to mint
	}
	t.cache[key] = tokenEntry{client: c, expires: expires}
	return c, nil
}

// MemberQuery is a member's search, already validated by its parser.
type MemberQuery struct {
	Text      string
	Lang      string // the reader's language, for pages and training
	Scope     string // "all" (research, pages, training) or "research"
	Topics    []string
	Countries []string
	Regions   []string
	Types     []string
	Languages []string
	TLPs      []string
	YearFrom  int
	YearTo    int
	Sort      string // "relevance", "newest" or "oldest"
	Page      int
}

// MemberPageSize is the number of hits per page of a member's search.
const MemberPageSize = 20

// researchFacets are the research attributes members can narrow by.
func researchFacets() []string {
	return []string{"topics", "countries", "regions", "type", "language", "tlp"}
}

// MemberHit is a hit of a member's search: a page, a training page or a
// research document.
type MemberHit struct {
	Hit
	Access  []string `json:"access,omitempty"`
	TLP     string   `json:"tlp,omitempty"`
	Page    int      `json:"page,omitempty"` // the PDF page or passage of the best match
	Year    int      `json:"year,omitempty"`
	Type    string   `json:"type,omitempty"`
	Authors []string `json:"authors,omitempty"`
	Topics  []string `json:"topics,omitempty"`
}

// MemberResults is one page of a member's search.
type MemberResults struct {
	Query      string                  `json:"query"`
	Lang       string                  `json:"lang"`
	Scope      string                  `json:"scope"`
	Page       int                     `json:"page"`
	TotalPages int                     `json:"totalPages"`
	Total      int                     `json:"total"`
	Hits       []MemberHit             `json:"hits"`
	Facets     map[string][]FacetValue `json:"facets"`
	YearRange  *[2]int                 `json:"yearRange,omitempty"`
}

// HasFilters reports whether q narrows the research results.
func (q MemberQuery) HasFilters() bool {
	return len(q.Topics)+len(q.Countries)+len(q.Regions)+len(q.Types)+len(q.Languages)+len(q.TLPs) > 0 ||
		q.YearFrom != 0 || q.YearTo != 0
}

func (q MemberQuery) userClauses() ([]Clause, error) {
	var out []Clause
	for field, vals := range map[string][]string{"topics": q.Topics, "countries": q.Countries, "regions": q.Regions,
		"type": q.Types, "language": q.Languages, "tlp": q.TLPs} {
		if len(vals) == 0 {
			continue
		}
		c, err := OneOf(field, vals)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if q.YearFrom != 0 || q.YearTo != 0 {
		lo, hi := q.YearFrom, q.YearTo
		if hi == 0 {
			hi = 9999
		}
		c, err := Between("year", lo, hi)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	// Map iteration order must not make equal queries differ.
	slices.SortFunc(out, func(a, b Clause) int { return strings.Compare(a.expr, b.expr) })
	return out, nil
}

// Member searches what s may see. Filters, a sort or the research scope
// search the research library alone, with exact totals and facets;
// otherwise research, pages and training are searched together.
func (s *Searcher) Member(ctx context.Context, tokens *Tokens, subj access.Subject, q MemberQuery) (*MemberResults, error) {
	rule := access.Filter(subj)
	acc, err := Access(rule)
	if err != nil {
		return nil, err
	}
	client, err := tokens.client(rule, acc.expr)
	if err != nil {
		return nil, err
	}
	user, err := q.userClauses()
	if err != nil {
		return nil, err
	}
	text := queryText(q.Text)
	if q.Scope == "research" || q.HasFilters() || (q.Sort != "" && q.Sort != "relevance") {
		return s.memberResearch(ctx, client, q, text, acc, user)
	}
	return s.memberAll(ctx, client, q, text, acc)
}

func researchRequest(text string, filter []any) *meilisearch.SearchRequest {
	return &meilisearch.SearchRequest{
		IndexUID: IndexResearch,
		Query:    text,
		Filter:   filter,
		AttributesToRetrieve: []string{"doc_id", "version", "page", "title", "abstract", "authors", "year", "type",
			"topics", "access_groups", "tlp", "language"},
		AttributesToCrop:      []string{"text:30"},
		AttributesToHighlight: []string{"text"},
		HighlightPreTag:       markStart,
		HighlightPostTag:      markEnd,
		CropMarker:            "…",
	}
}

func (s *Searcher) memberResearch(ctx context.Context, client meilisearch.ServiceManager, q MemberQuery, text string, acc Clause, user []Clause) (*MemberResults, error) {
	filter, err := And(append([]Clause{acc}, user...)...)
	if err != nil {
		return nil, err
	}
	req := researchRequest(text, filter)
	per := int64(MemberPageSize)
	req.HitsPerPage, req.Page = &per, int64(q.Page)
	req.Facets = researchFacets()
	req.Facets = append(req.Facets, "year")
	switch q.Sort {
	case "newest":
		req.Sort = []string{"year:desc", "updated_at:desc"}
	case "oldest":
		req.Sort = []string{"year:asc", "updated_at:asc"}
	}
	resp, err := client.Index(IndexResearch).Search(ctx, text, req)
	if err != nil {
		return nil, classify(err, "research search")
	}
	res := &MemberResults{Query: q.Text, Lang: q.Lang, Scope: "research", Page: q.Page,
		Total: int(resp.TotalHits), TotalPages: int(resp.TotalPages)}
	res.Hits = make([]MemberHit, 0, len(resp.Hits))
	for _, h := range resp.Hits {
		hit, err := decodeResearchHit(h, q.Lang)
		if err != nil {
			return nil, err
		}
		res.Hits = append(res.Hits, hit)
	}
	res.Facets, res.YearRange, err = decodeFacets(resp.FacetDistribution, resp.FacetStats)
	return res, err
}

func (s *Searcher) memberAll(ctx context.Context, client meilisearch.ServiceManager, q MemberQuery, text string, acc Clause) (*MemberResults, error) {
	lang, err := Equals("lang", q.Lang)
	if err != nil {
		return nil, err
	}
	siteFilter, err := And(acc, lang)
	if err != nil {
		return nil, err
	}
	researchFilter, err := And(acc)
	if err != nil {
		return nil, err
	}
	site := func(index string) *meilisearch.SearchRequest {
		return &meilisearch.SearchRequest{
			IndexUID: index, Query: text, Filter: siteFilter,
			AttributesToRetrieve:  []string{"id", "kind", "lang", "title", "url", "section", "description", "access_groups", "tlp"},
			AttributesToCrop:      []string{"content:30"},
			AttributesToHighlight: []string{"content"},
			HighlightPreTag:       markStart, HighlightPostTag: markEnd, CropMarker: "…",
		}
	}
	resp, err := client.MultiSearch(ctx, &meilisearch.MultiSearchRequest{
		Federation: &meilisearch.MultiSearchFederation{
			Offset:        int64((q.Page - 1) * MemberPageSize),
			Limit:         MemberPageSize,
			FacetsByIndex: map[string][]string{IndexResearch: append(researchFacets(), "year")},
			MergeFacets:   &meilisearch.MultiSearchFederationMergeFacets{MaxValuesPerFacet: 300},
		},
		Queries: []*meilisearch.SearchRequest{researchRequest(text, researchFilter), site(IndexPages), site(IndexTraining)},
	})
	if err != nil {
		return nil, classify(err, "member search")
	}
	res := &MemberResults{Query: q.Text, Lang: q.Lang, Scope: "all", Page: q.Page, Total: int(resp.EstimatedTotalHits)}
	res.TotalPages = (res.Total + MemberPageSize - 1) / MemberPageSize
	res.Hits = make([]MemberHit, 0, len(resp.Hits))
	for _, h := range resp.Hits {
		var hit MemberHit
		var err error
		if _, ok := h["doc_id"]; ok {
			hit, err = decodeResearchHit(h, q.Lang)
		} else {
			var base Hit
			base, err = decodeHit(h)
			hit = MemberHit{Hit: base}
			if err == nil {
				var extra struct {
					Access []string `json:"access_groups"`
					TLP    string   `json:"tlp"`
				}
				err = h.DecodeInto(&extra)
				hit.Access, hit.TLP = extra.Access, extra.TLP
			}
		}
		if err != nil {
			return nil, err
		}
		res.Hits = append(res.Hits, hit)
	}
	dist := map[string]json.RawMessage{}
	for k, v := range resp.FacetDistribution {
		dist[k] = v
	}
	raw, err := json.Marshal(dist)
	if err != nil {
		return nil, err
	}
	var stats json.RawMessage
	if len(resp.FacetStats) > 0 {
		if stats, err = json.Marshal(resp.FacetStats); err != nil {
			return nil, err
		}
	}
	res.Facets, res.YearRange, err = decodeFacets(raw, stats)
	return res, err
}

func decodeResearchHit(h meilisearch.Hit, lang string) (MemberHit, error) {
	var doc struct {
		DocID     string   `json:"doc_id"`
		Page      int      `json:"page"`
		Title     string   `json:"title"`
		Abstract  string   `json:"abstract"`
		Authors   []string `json:"authors"`
		Year      int      `json:"year"`
		Type      string   `json:"type"`
		Topics    []string `json:"topics"`
		Access    []string `json:"access_groups"`
		TLP       string   `json:"tlp"`
		Formatted struct {
			Text string `json:"text"`
		} `json:"_formatted"`
	}
	if err := h.DecodeInto(&doc); err != nil {
		return MemberHit{}, fmt.Errorf("decode research hit: %w", err)
	}
	snippet := doc.Formatted.Text
	if !strings.Contains(snippet, markStart) && doc.Abstract != "" {
		snippet = doc.Abstract
		if r := []rune(snippet); len(r) > 240 {
			snippet = string(r[:240]) + "…"
		}
	}
	return MemberHit{
		Hit: Hit{ID: doc.DocID, Kind: "research", Lang: lang, Title: doc.Title,
			URL: "/" + lang + "/research/document/?id=" + doc.DocID, Snippet: snippetHTML(snippet)},
		Access: doc.Access, TLP: doc.TLP, Page: doc.Page, Year: doc.Year, Type: doc.Type,
		Authors: doc.Authors, Topics: doc.Topics,
	}, nil
}

func decodeFacets(dist, stats json.RawMessage) (map[string][]FacetValue, *[2]int, error) {
	out := map[string][]FacetValue{}
	var d map[string]map[string]int
	if len(dist) > 0 {
		if err := json.Unmarshal(dist, &d); err != nil {
			return nil, nil, fmt.Errorf("decode facets: %w", err)
		}
	}
	for _, f := range researchFacets() {
		vals := make([]FacetValue, 0, len(d[f]))
		for v, n := range d[f] {
			vals = append(vals, FacetValue{Value: v, Count: n})
		}
		sortFacets(vals)
		out[f] = vals
	}
	var st map[string]struct{ Min, Max float64 }
	if len(stats) > 0 {
		if err := json.Unmarshal(stats, &st); err != nil {
			return nil, nil, fmt.Errorf("decode facet stats: %w", err)
		}
	}
	if y, ok := st["year"]; ok {
		return out, &[2]int{int(y.Min), int(y.Max)}, nil
	}
	return out, nil, nil
}
