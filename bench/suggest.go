package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"portal/access"
	"portal/search"
)

// SuggestParams is what a reader has typed into a search box when the
// typeahead asks for titles.
type SuggestParams struct {
	Q      string
	Lang   string
	Member bool
}

// SuggestMix draws n distinct typeahead requests as readers type them: the
// first three letters or more of a title word, sometimes after a whole
// word. Members type words of the research vocabulary (the synthetic
// records' titles are drawn from it) as well as page titles; anonymous
// readers type page titles; both mostly in English.
func SuggestMix(seed uint64, n int, member bool, pages []search.Page) []SuggestParams {
	r := rand.New(rand.NewPCG(seed, 0x73756767))
	byLang := map[string][]string{}
	for _, p := range pages {
		for _, w := range strings.FieldsFunc(strings.ToLower(p.Title), func(c rune) bool {
			return !unicode.IsLetter(c) && c != '-'
		}) {
			if utf8.RuneCountInString(w) >= 4 {
				byLang[p.Lang] = append(byLang[p.Lang], w)
			}
		}
	}
	if member {
		byLang["en"] = append(byLang["en"], englishDomain...)
	}
	seen := map[SuggestParams]bool{}
	var out []SuggestParams
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		lang := pickWeighted(r, []string{"en", "fr", "es", "ar"}, []int{70, 12, 10, 8})
		pool := byLang[lang]
		if len(pool) == 0 {
			continue
		}
		word := []rune(pool[r.IntN(len(pool))])
		typed := string(word[:3+r.IntN(len(word)-2)])
		if r.IntN(3) == 0 {
			typed = pool[r.IntN(len(pool))] + " " + typed
		}
		p := SuggestParams{Q: typed, Lang: lang, Member: member}
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// SuggestQueries turns a typeahead mix into requests: GET /api/suggest for
// the portal and the one federated multi-search it sends Meilisearch, as
// search.Searcher's suggest builds it (members: i-th by member i mod
// len(members), with their access filter; anonymous: the public filter).
func SuggestQueries(mix []SuggestParams, members []Member) ([]Query, error) {
	out := make([]Query, len(mix))
	for i, p := range mix {
		q := Query{Kind: "public-suggest"}
		var subj access.Subject
		if p.Member {
			q.Kind, q.User = "member-suggest", i%len(members)
			subj = access.Subject{Groups: members[q.User].Groups}
		}
		body, err := rawSuggest(p, subj)
		if err != nil {
			return nil, fmt.Errorf("suggestion %d: %w", i, err)
		}
		q.PortalURL = "/api/suggest?" + url.Values{"q": {p.Q}, "lang": {p.Lang}}.Encode()
		q.RawPath, q.RawBody = "/multi-search", body
		out[i] = q
	}
	return out, nil
}

func rawSuggest(p SuggestParams, subj access.Subject) ([]byte, error) {
	acc, err := search.Access(access.Filter(subj))
	if err != nil {
		return nil, err
	}
	lang, err := search.Equals("lang", p.Lang)
	if err != nil {
		return nil, err
	}
	siteFilter, err := search.And(acc, lang)
	if err != nil {
		return nil, err
	}
	text := search.NormalizeArabic(p.Q)
	type request struct {
		IndexUID             string   `json:"indexUid"`
		Q                    string   `json:"q"`
		Filter               []any    `json:"filter"`
		AttributesToSearchOn []string `json:"attributesToSearchOn"`
		MatchingStrategy     string   `json:"matchingStrategy"`
		AttributesToRetrieve []string `json:"attributesToRetrieve"`
		Locales              []string `json:"locales,omitempty"`
	}
	locale := map[string]string{"en": "eng", "fr": "fra", "es": "spa", "ar": "ara"}[p.Lang]
	site := func(index string) request {
		return request{IndexUID: index, Q: text, Filter: siteFilter, AttributesToSearchOn: []string{"title"},
			MatchingStrategy: "all", AttributesToRetrieve: []string{"id", "kind", "title", "url", "original"},
			Locales: []string{locale}}
	}
	queries := []request{site(search.IndexPages), site(search.IndexTraining)}
	if p.Member {
		researchFilter, err := search.And(acc)
		if err != nil {
			return nil, err
		}
		queries = append(queries, request{IndexUID: search.IndexResearch, Q: text, Filter: researchFilter,
			AttributesToSearchOn: []string{"title", "title_n"}, MatchingStrategy: "all",
			AttributesToRetrieve: []string{"doc_id", "title"}})
	}
	return json.Marshal(map[string]any{"federation": map[string]any{"limit": search.SuggestLimit}, "queries": queries})
}
