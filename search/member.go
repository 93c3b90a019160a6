package search

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"portal/access"
)

// Members' searches are enforced twice (SECURITY.md MS-4): the API's own filter
// array starts with the access clause, and the request is sent with a tenant
// token whose search rules carry the same clause, so even a bug in the
// request building could not return what Meilisearch was told to hide.

// tokenLifetime bounds a tenant token (SECURITY.md MS-5): it cannot be
// revoked alone, so it must die soon.
const tokenLifetime = 15 * time.Minute

// tokens mints and caches tenant tokens per access rule, signed with the
// search key; the master key is never involved. Minting is an HMAC and a
// JSON encoding, cheap but not free, and a rule's token serves every
// subject with that rule, so each is reused until shortly before it ends.
type tokens struct {
	key    string // the search key, which signs
	keyUID string
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]tokenEntry
}

// signTenantToken signs a tenant token as Meilisearch checks it: a JWT
// (RFC 7519) signed with HS256 under the search key, naming the key's UID,
// the search rules and the expiry. It is a local HMAC, so it needs no
// client; the claims are those of meilisearch-go's GenerateTenantToken, in
// the same order, which a test holds it to.
func signTenantToken(key, keyUID string, rules map[string]any, expires time.Time) (string, error) {
	if key == "" || keyUID == "" {
		return "", errors.New("tenant token: the search key and its UID are required")
	}
	claims, err := json.Marshal(struct {
		APIKeyUID   string         `json:"apiKeyUid"`
		SearchRules map[string]any `json:"searchRules"`
		Exp         int64          `json:"exp"`
	}{keyUID, rules, expires.Unix()})
	if err != nil {
		return "", fmt.Errorf("tenant token: %w", err)
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

type tokenEntry struct {
	token   string
	expires time.Time
}

func newTokens(searchKey, searchKeyUID string) *tokens {
	return &tokens{key: searchKey, keyUID: searchKeyUID, now: time.Now, cache: map[string]tokenEntry{}}
}

// get returns a tenant token whose search rules apply filter to every index.
func (t *tokens) get(filter string) (string, error) {
	// Keyed by the filter itself: two rules that print alike can never
	// share a token unless they filter alike.
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.cache[filter]; ok && now.Add(time.Minute).Before(e.expires) {
		return e.token, nil
	}
	expires := now.Add(tokenLifetime)
	rules := map[string]any{}
	for _, idx := range []string{IndexResearch, IndexPages, IndexTraining} {
		rules[idx] = map[string]any{"filter": filter}
	}
	tok, err := signTenantToken(t.key, t.keyUID, rules, expires)
	if err != nil {
		return "", fmt.Errorf("tenant token: %w", err)
	}
	if len(t.cache) > 10000 {
		clear(t.cache) // bounded memory; tokens are cheap to mint
	}
	t.cache[filter] = tokenEntry{token: tok, expires: expires}
	return tok, nil
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
	// IDs, when set, limits the research hits to these records: the
	// digest of saved searches (package alerts) matches a search against
	// the records that changed. Members' own searches never set it.
	IDs []string
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
	Access []string `json:"access,omitempty"`
	TLP    string   `json:"tlp,omitempty"`
	Page   int      `json:"page,omitempty"` // the PDF page or passage of the best match
	// Recognised says the best match is in text read by OCR from a scan.
	Recognised bool     `json:"recognised,omitempty"`
	Year       int      `json:"year,omitempty"`
	Type       string   `json:"type,omitempty"`
	Authors    []string `json:"authors,omitempty"`
	Topics     []string `json:"topics,omitempty"`
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
	return len(q.Topics)+len(q.Countries)+len(q.Regions)+len(q.Types)+len(q.Languages)+len(q.TLPs)+len(q.IDs) > 0 ||
		q.YearFrom != 0 || q.YearTo != 0
}

func (q MemberQuery) userClauses() ([]Clause, error) {
	var out []Clause
	for field, vals := range map[string][]string{"topics": q.Topics, "countries": q.Countries, "regions": q.Regions,
		"type": q.Types, "language": q.Languages, "tlp": q.TLPs, "doc_id": q.IDs} {
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
func (s *Searcher) Member(ctx context.Context, subj access.Subject, q MemberQuery) (*MemberResults, error) {
	acc, err := Access(access.Filter(subj))
	if err != nil {
		return nil, err
	}
	token, err := s.tokens.get(acc.expr)
	if err != nil {
		return nil, err
	}
	user, err := q.userClauses()
	if err != nil {
		return nil, err
	}
	text := queryText(q.Text)
	if q.Scope == "research" || q.HasFilters() || (q.Sort != "" && q.Sort != "relevance") {
		return s.memberResearch(ctx, token, q, text, acc, user)
	}
	return s.memberAll(ctx, token, q, text, acc)
}

// researchRequest asks for what a research hit shows. The abstract is
// searched but not retrieved: its first words are indexed apart as the
// summary, since Meilisearch returns every retrieved attribute twice (as
// is and formatted) and whole abstracts were most of each answer. The
// passage as written is retrieved too, present only for folded (Arabic)
// passages, so that their hits read as written.
func researchRequest(text string, filter []any) searchRequest {
	return searchRequest{
		IndexUID: IndexResearch,
		Q:        text,
		Filter:   filter,
		AttributesToRetrieve: []string{"doc_id", "page", "recognised", "title", "summary", "text_original", "authors", "year", "type",
			"topics", "access_groups", "tlp"},
		AttributesToCrop:      []string{"text:30"},
		AttributesToHighlight: []string{"text"},
		HighlightPreTag:       markStart,
		HighlightPostTag:      markEnd,
		CropMarker:            cropMarker,
	}
}

// memberFacets are the research facets of a member's search: the ones
// members narrow by, and the years for the range.
func memberFacets() []string { return append(researchFacets(), "year") }

func (s *Searcher) memberResearch(ctx context.Context, token string, q MemberQuery, text string, acc Clause, user []Clause) (*MemberResults, error) {
	filter, err := And(append([]Clause{acc}, user...)...)
	if err != nil {
		return nil, err
	}
	req := researchRequest(text, filter)
	req.IndexUID = ""
	req.HitsPerPage, req.Page = MemberPageSize, q.Page
	req.Facets = memberFacets()
	switch q.Sort {
	case "newest":
		req.Sort = []string{"year:desc", "updated_at:desc"}
	case "oldest":
		req.Sort = []string{"year:asc", "updated_at:asc"}
	}
	var ans answer
	if err := s.meili.search(ctx, token, "/indexes/"+IndexResearch+"/search", req, &ans, "research search"); err != nil {
		return nil, err
	}
	res := &MemberResults{Query: q.Text, Lang: q.Lang, Scope: "research", Page: q.Page,
		Total: ans.TotalHits, TotalPages: ans.TotalPages}
	res.Hits = make([]MemberHit, 0, len(ans.Hits))
	for i := range ans.Hits {
		res.Hits = append(res.Hits, researchHit(&ans.Hits[i], q.Lang))
	}
	res.Facets, res.YearRange = memberFacetValues(&ans)
	return res, nil
}

func (s *Searcher) memberAll(ctx context.Context, token string, q MemberQuery, text string, acc Clause) (*MemberResults, error) {
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
	site := func(index string) searchRequest {
		return searchRequest{
			IndexUID: index, Q: text, Filter: siteFilter,
			AttributesToRetrieve:  []string{"id", "kind", "lang", "title", "url", "section", "description", "original", "access_groups", "tlp"},
			AttributesToCrop:      []string{"content:30"},
			AttributesToHighlight: []string{"content"},
			HighlightPreTag:       markStart, HighlightPostTag: markEnd, CropMarker: cropMarker,
		}
	}
	req := multiSearchRequest{
		Federation: federation{
			Offset:        (q.Page - 1) * MemberPageSize,
			Limit:         MemberPageSize,
			FacetsByIndex: map[string][]string{IndexResearch: memberFacets()},
			MergeFacets:   &mergeFacets{MaxValuesPerFacet: 300},
		},
		Queries: []searchRequest{researchRequest(text, researchFilter), site(IndexPages), site(IndexTraining)},
	}
	var ans answer
	if err := s.meili.search(ctx, token, "/multi-search", req, &ans, "member search"); err != nil {
		return nil, err
	}
	res := &MemberResults{Query: q.Text, Lang: q.Lang, Scope: "all", Page: q.Page, Total: ans.EstimatedTotalHits}
	res.TotalPages = (res.Total + MemberPageSize - 1) / MemberPageSize
	res.Hits = make([]MemberHit, 0, len(ans.Hits))
	for i := range ans.Hits {
		h := &ans.Hits[i]
		// Only research hits are checked against the store afterwards,
		// so a hit of unknown origin is refused rather than guessed at.
		switch h.Federation.IndexUID {
		case IndexResearch:
			res.Hits = append(res.Hits, researchHit(h, q.Lang))
		case IndexPages, IndexTraining:
			res.Hits = append(res.Hits, MemberHit{Hit: siteHit(h), Access: h.Access, TLP: h.TLP})
		default:
			return nil, fmt.Errorf("member search: hit from unexpected index %q", h.Federation.IndexUID)
		}
	}
	res.Facets, res.YearRange = memberFacetValues(&ans)
	return res, nil
}

// researchHit shapes a research passage into a hit: the passage's matched
// words if the text matched, else the record's summary.
func researchHit(h *hitDoc, lang string) MemberHit {
	snippet := h.Formatted.Text
	if h.TextOriginal != "" {
		// Folded Arabic: shown as written, or not at all (see siteHit).
		var ok bool
		if snippet, ok = restoreOriginal(snippet, h.TextOriginal, cropMarker); !ok {
			snippet = ""
		}
	}
	if !strings.Contains(snippet, markStart) && h.Summary != "" {
		snippet = h.Summary
	}
	return MemberHit{
		Hit: Hit{ID: h.DocID, Kind: "research", Lang: lang, Title: h.Title,
			URL: "/" + lang + "/research/document/?id=" + h.DocID, Snippet: snippetHTML(snippet)},
		Access: h.Access, TLP: h.TLP, Page: h.Page, Recognised: h.Recognised, Year: h.Year, Type: h.Type,
		Authors: h.Authors, Topics: h.Topics,
	}
}

// memberFacetValues lists every research facet (empty ones too, so the page
// can show them) and the year range of the matches.
func memberFacetValues(ans *answer) (map[string][]FacetValue, *[2]int) {
	out := make(map[string][]FacetValue, len(researchFacets()))
	for _, f := range researchFacets() {
		out[f] = facetValues(ans.FacetDistribution[f])
	}
	if y, ok := ans.FacetStats["year"]; ok {
		return out, &[2]int{int(y.Min), int(y.Max)}
	}
	return out, nil
}
