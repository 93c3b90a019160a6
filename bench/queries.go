package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meilisearch/meilisearch-go"

	"portal/access"
	"portal/search"
)

// Member is a seeded member who searches.
type Member struct {
	Email    string
	Password string
	TOTP     string
	Groups   []string // sorted, with "members"
	Cookie   string   // the session cookie after login ("name=value")
	Token    string   // a tenant token with the same rules as the portal's
	Filter   string   // the access clause
}

// MemberGroups are the members of the search loads: every specialist group
// alone, and a member of two.
var MemberGroups = [][]string{
	{"members"},
	{"members", "victim-identification"},
	{"members", "access-blocking"},
	{"members", "trainers"},
	{"access-blocking", "members", "victim-identification"},
}

// Query is one search of a mix, as the portal is asked and as Meilisearch
// is asked directly for the same answer.
type Query struct {
	Kind      string // "member-all", "member-research", "public", "member-suggest" or "public-suggest"
	User      int    // index into the members (member kinds)
	PortalURL string // path and query of GET /api/search
	RawPath   string // Meilisearch endpoint
	RawBody   []byte // its JSON body
}

// Anonymous reports whether q is asked by a reader who is not logged in.
func (q Query) Anonymous() bool { return strings.HasPrefix(q.Kind, "public") }

// MemberParams are the portal's member search parameters.
type MemberParams struct {
	Q         string
	Lang      string
	Page      int
	Scope     string
	Sort      string
	Topics    []string
	Countries []string
	Regions   []string
	Types     []string
	Languages []string
	TLPs      []string
	YearFrom  int
	YearTo    int
}

func (p MemberParams) hasFilters() bool {
	return len(p.Topics)+len(p.Countries)+len(p.Regions)+len(p.Types)+len(p.Languages)+len(p.TLPs) > 0 ||
		p.YearFrom != 0 || p.YearTo != 0
}

func (p MemberParams) url() string {
	v := url.Values{}
	v.Set("q", p.Q)
	if p.Lang != "" {
		v.Set("lang", p.Lang)
	}
	if p.Page > 1 {
		v.Set("page", strconv.Itoa(p.Page))
	}
	if p.Scope != "" {
		v.Set("scope", p.Scope)
	}
	if p.Sort != "" {
		v.Set("sort", p.Sort)
	}
	for name, vals := range map[string][]string{"topics": p.Topics, "countries": p.Countries, "regions": p.Regions,
		"type": p.Types, "language": p.Languages, "tlp": p.TLPs} {
		for _, x := range vals {
			v.Add(name, x)
		}
	}
	if p.YearFrom != 0 {
		v.Set("year_from", strconv.Itoa(p.YearFrom))
	}
	if p.YearTo != 0 {
		v.Set("year_to", strconv.Itoa(p.YearTo))
	}
	return "/api/search?" + v.Encode()
}

// Highlight markers and page sizes of the portal's searches (search
// package; unexported there, checked by the equivalence check).
const (
	markStart      = "\uE000"
	markEnd        = "\uE001"
	memberPageSize = search.MemberPageSize
	publicPageSize = search.PublicPageSize
)

func researchFacets() []string {
	return []string{"topics", "countries", "regions", "type", "language", "tlp", "year"}
}

func researchRequest(text string, filter []any) *meilisearch.SearchRequest {
	return &meilisearch.SearchRequest{
		IndexUID: search.IndexResearch,
		Query:    text,
		Filter:   filter,
		AttributesToRetrieve: []string{"doc_id", "page", "title", "summary", "text_original", "authors", "year", "type",
			"topics", "access_groups", "tlp"},
		AttributesToCrop:      []string{"text:30"},
		AttributesToHighlight: []string{"text"},
		HighlightPreTag:       markStart,
		HighlightPostTag:      markEnd,
		CropMarker:            "…",
	}
}

// RawMember builds the Meilisearch request equivalent to a member's
// search: the same indexes, filter array (access clause first), facets,
// highlighting, cropping and page, as search.Searcher.Member sends it.
func RawMember(p MemberParams, groups []string) (kind, path string, body []byte, err error) {
	acc, err := search.Access(access.Filter(access.Subject{Groups: groups}))
	if err != nil {
		return "", "", nil, err
	}
	text := search.NormalizeArabic(p.Q)
	lang := p.Lang
	if lang == "" {
		lang = "en"
	}
	page := max(p.Page, 1)
	if p.Scope == "research" || p.hasFilters() || (p.Sort != "" && p.Sort != "relevance") {
		clauses := []search.Clause{acc}
		var user []search.Clause
		for field, vals := range map[string][]string{"topics": p.Topics, "countries": p.Countries, "regions": p.Regions,
			"type": p.Types, "language": p.Languages, "tlp": p.TLPs} {
			if len(vals) == 0 {
				continue
			}
			c, err := search.OneOf(field, vals)
			if err != nil {
				return "", "", nil, err
			}
			user = append(user, c)
		}
		if p.YearFrom != 0 || p.YearTo != 0 {
			hi := p.YearTo
			if hi == 0 {
				hi = 9999
			}
			c, err := search.Between("year", p.YearFrom, hi)
			if err != nil {
				return "", "", nil, err
			}
			user = append(user, c)
		}
		slices.SortFunc(user, func(a, b search.Clause) int { return strings.Compare(a.String(), b.String()) })
		filter, err := search.And(append(clauses, user...)...)
		if err != nil {
			return "", "", nil, err
		}
		req := researchRequest(text, filter)
		req.IndexUID = ""
		per := int64(memberPageSize)
		req.HitsPerPage, req.Page = &per, int64(page)
		req.Facets = researchFacets()
		switch p.Sort {
		case "newest":
			req.Sort = []string{"year:desc", "updated_at:desc"}
		case "oldest":
			req.Sort = []string{"year:asc", "updated_at:asc"}
		}
		body, err := json.Marshal(req)
		return "member-research", "/indexes/" + search.IndexResearch + "/search", body, err
	}
	langClause, err := search.Equals("lang", lang)
	if err != nil {
		return "", "", nil, err
	}
	siteFilter, err := search.And(acc, langClause)
	if err != nil {
		return "", "", nil, err
	}
	researchFilter, err := search.And(acc)
	if err != nil {
		return "", "", nil, err
	}
	site := func(index string) *meilisearch.SearchRequest {
		return &meilisearch.SearchRequest{
			IndexUID: index, Query: text, Filter: siteFilter,
			AttributesToRetrieve:  []string{"id", "kind", "lang", "title", "url", "section", "description", "original", "access_groups", "tlp"},
			AttributesToCrop:      []string{"content:30"},
			AttributesToHighlight: []string{"content"},
			HighlightPreTag:       markStart, HighlightPostTag: markEnd, CropMarker: "…",
		}
	}
	req := &meilisearch.MultiSearchRequest{
		Federation: &meilisearch.MultiSearchFederation{
			Offset:        int64((page - 1) * memberPageSize),
			Limit:         memberPageSize,
			FacetsByIndex: map[string][]string{search.IndexResearch: researchFacets()},
			MergeFacets:   &meilisearch.MultiSearchFederationMergeFacets{MaxValuesPerFacet: 300},
		},
		Queries: []*meilisearch.SearchRequest{researchRequest(text, researchFilter), site(search.IndexPages), site(search.IndexTraining)},
	}
	body, err = json.Marshal(req)
	return "member-all", "/multi-search", body, err
}

// RawPublic builds the one Meilisearch request that answers an anonymous
// search: the page of hits and the section facet counts, federated over
// pages and training in the reader's language, as the portal sends it when
// no section is chosen.
func RawPublic(q, lang string, page int) ([]byte, error) {
	acc, err := search.Access(access.Filter(access.Subject{}))
	if err != nil {
		return nil, err
	}
	l, err := search.Equals("lang", lang)
	if err != nil {
		return nil, err
	}
	filter, err := search.And(acc, l)
	if err != nil {
		return nil, err
	}
	locale := map[string]string{"en": "eng", "fr": "fra", "es": "spa", "ar": "ara"}[lang]
	query := func(index string) *meilisearch.SearchRequest {
		return &meilisearch.SearchRequest{
			IndexUID:              index,
			Query:                 search.NormalizeArabic(q),
			Filter:                filter,
			AttributesToRetrieve:  []string{"id", "kind", "lang", "title", "url", "section", "description", "original"},
			AttributesToCrop:      []string{"content:30"},
			AttributesToHighlight: []string{"content", "title"},
			HighlightPreTag:       markStart,
			HighlightPostTag:      markEnd,
			CropMarker:            "…",
			Locales:               []string{locale},
		}
	}
	req := &meilisearch.MultiSearchRequest{
		Federation: &meilisearch.MultiSearchFederation{
			Offset:        int64((max(page, 1) - 1) * publicPageSize),
			Limit:         publicPageSize,
			FacetsByIndex: map[string][]string{search.IndexPages: {"section"}, search.IndexTraining: {"section"}},
			MergeFacets:   &meilisearch.MultiSearchFederationMergeFacets{MaxValuesPerFacet: 50},
		},
		Queries: []*meilisearch.SearchRequest{query(search.IndexPages), query(search.IndexTraining)},
	}
	return json.Marshal(req)
}

// typo makes one plausible typing mistake in a Latin word of five letters
// or more: a swapped pair or a wrong letter, never the first letter.
func typo(r *rand.Rand, w string) string {
	if utf8.RuneCountInString(w) < 5 || strings.IndexFunc(w, func(c rune) bool { return c > unicode.MaxASCII }) >= 0 {
		return w
	}
	b := []byte(w)
	i := 1 + r.IntN(len(b)-2)
	if r.IntN(2) == 0 {
		b[i], b[i+1] = b[i+1], b[i]
	} else {
		b[i] = "abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]
	}
	return string(b)
}

// MemberMix draws n distinct member searches from seed: one to three words
// of the corpus vocabulary (some French, Spanish and Arabic), a quarter
// with a typo, about half with filters (topics, countries, regions, type,
// language, TLP, years), some sorted by date, some on page 2.
func MemberMix(seed uint64, n int, v Vocab) []MemberParams {
	r := rand.New(rand.NewPCG(seed, 0x6d656d626572))
	en := rand.NewZipf(r, 1.01, 8, uint64(len(englishDomain)-1))
	seen := map[string]bool{}
	var out []MemberParams
	for len(out) < n {
		var p MemberParams
		nw := 1 + pickIndex(r, []int{45, 40, 15})
		var words []string
		switch x := r.IntN(100); {
		case x < 8:
			for range nw {
				words = append(words, frenchWords[r.IntN(len(frenchWords))])
			}
			p.Lang = "fr"
		case x < 14:
			for range nw {
				words = append(words, spanishWords[r.IntN(len(spanishWords))])
			}
			p.Lang = "es"
		case x < 18:
			for range nw {
				words = append(words, arabicWords[r.IntN(len(arabicWords))])
			}
			p.Lang = "ar"
		case x < 22:
			words = []string{[]string{"icse", "csam", "ncb", "inhope", "interpol", "vgt"}[r.IntN(6)]}
		default:
			for range nw {
				words = append(words, englishDomain[en.Uint64()])
			}
		}
		if r.IntN(4) == 0 {
			i := r.IntN(len(words))
			words[i] = typo(r, words[i])
		}
		p.Q = strings.Join(words, " ")
		if r.IntN(100) < 48 {
			for range 1 + r.IntN(2) {
				switch r.IntN(7) {
				case 0:
					p.Topics = pickDistinct(r, v.Topics, 1+r.IntN(2), 1.2)
				case 1:
					p.Countries = pickDistinct(r, v.Countries, 1, 1.01)
				case 2:
					p.Regions = []string{regions[r.IntN(len(regions))]}
				case 3:
					p.Types = []string{docTypes[r.IntN(len(docTypes))]}
				case 4:
					p.Languages = []string{[]string{"en", "fr", "es", "ar"}[r.IntN(4)]}
				case 5:
					p.TLPs = pickDistinct(r, tlpLabels, 1+r.IntN(2), 1.01)
				case 6:
					p.YearFrom = 2000 + r.IntN(20)
					if r.IntN(2) == 0 {
						p.YearTo = p.YearFrom + r.IntN(8)
					}
				}
			}
		}
		switch x := r.IntN(100); {
		case x < 8:
			p.Sort = "newest"
		case x < 11:
			p.Sort = "oldest"
		}
		if r.IntN(10) == 0 {
			p.Scope = "research"
		}
		if r.IntN(10) == 0 {
			p.Page = 2
		}
		key := p.url()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return out
}

// MemberQueries turns the mix into requests, the i-th for member i mod
// len(members).
func MemberQueries(mix []MemberParams, members []Member) ([]Query, error) {
	out := make([]Query, len(mix))
	for i, p := range mix {
		u := i % len(members)
		kind, path, body, err := RawMember(p, members[u].Groups)
		if err != nil {
			return nil, fmt.Errorf("query %d: %w", i, err)
		}
		out[i] = Query{Kind: kind, User: u, PortalURL: p.url(), RawPath: path, RawBody: body}
	}
	return out, nil
}

// PublicParams is an anonymous search.
type PublicParams struct {
	Q    string
	Lang string
	Page int
}

// PublicMix draws distinct anonymous searches from the words of the public
// site's titles and descriptions (the feed), with typos, mostly English.
func PublicMix(seed uint64, n int, pages []search.Page) []PublicParams {
	r := rand.New(rand.NewPCG(seed, 0x7075626c6963))
	byLang := map[string][]string{}
	for _, p := range pages {
		for _, w := range strings.FieldsFunc(strings.ToLower(p.Title+" "+p.Description), func(c rune) bool {
			return !unicode.IsLetter(c) && c != '-'
		}) {
			if utf8.RuneCountInString(w) >= 4 {
				byLang[p.Lang] = append(byLang[p.Lang], w)
			}
		}
	}
	seen := map[string]bool{}
	var out []PublicParams
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		lang := pickWeighted(r, []string{"en", "fr", "es", "ar"}, []int{70, 12, 10, 8})
		pool := byLang[lang]
		if len(pool) == 0 {
			continue
		}
		var words []string
		for range 1 + pickIndex(r, []int{55, 35, 10}) {
			words = append(words, pool[r.IntN(len(pool))])
		}
		if r.IntN(5) == 0 {
			i := r.IntN(len(words))
			words[i] = typo(r, words[i])
		}
		p := PublicParams{Q: strings.Join(words, " "), Lang: lang, Page: 1}
		if r.IntN(12) == 0 {
			p.Page = 2
		}
		key := fmt.Sprint(p)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return out
}

// PublicQueries turns the mix into requests.
func PublicQueries(mix []PublicParams) ([]Query, error) {
	out := make([]Query, len(mix))
	for i, p := range mix {
		body, err := RawPublic(p.Q, p.Lang, p.Page)
		if err != nil {
			return nil, err
		}
		v := url.Values{"q": {p.Q}, "lang": {p.Lang}}
		if p.Page > 1 {
			v.Set("page", strconv.Itoa(p.Page))
		}
		out[i] = Query{Kind: "public", PortalURL: "/api/search?" + v.Encode(), RawPath: "/multi-search", RawBody: body}
	}
	return out, nil
}

// Sequence is the order in which a load sends a mix's queries.
type Sequence []int

// UniformSequence visits every query once per pass, shuffled.
func UniformSequence(seed uint64, n, length int) Sequence {
	r := rand.New(rand.NewPCG(seed, 0x756e69))
	s := make(Sequence, 0, length)
	for len(s) < length {
		perm := r.Perm(n)
		s = append(s, perm...)
	}
	return s[:length]
}

// SkewedSequence draws queries with a Zipf law (exponent s): a few popular
// searches make most of the traffic, as on a public site.
func SkewedSequence(seed uint64, n, length int, s float64) Sequence {
	r := rand.New(rand.NewPCG(seed, 0x736b6577))
	z := rand.NewZipf(r, s, 1, uint64(n-1))
	// Popularity is not the order of generation.
	rank := r.Perm(n)
	out := make(Sequence, length)
	for i := range out {
		out[i] = rank[z.Uint64()]
	}
	return out
}
