package search

import (
	"context"
	"fmt"

	"portal/access"
)

// SuggestLimit is the most titles a suggestion answer holds.
const SuggestLimit = 8

// SuggestQuery is what a reader has typed so far in a search box, already
// validated by its parser.
type SuggestQuery struct {
	Text string
	Lang string // the reader's language, for pages and training
}

// Suggestion is one title offered as a reader types.
type Suggestion struct {
	Kind  string `json:"kind"` // "page", "training" or "research"
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Suggestions answers a SuggestQuery.
type Suggestions struct {
	Query       string       `json:"query"`
	Lang        string       `json:"lang"`
	Suggestions []Suggestion `json:"suggestions"`
}

// SuggestPublic suggests the titles of public pages and lessons in q's
// language, for anonymous readers. Its answers depend on the query alone
// and are cached like public searches.
func (s *Searcher) SuggestPublic(ctx context.Context, q SuggestQuery) (*Suggestions, error) {
	s.dropStale(ctx)
	if res, ok := s.suggestCache.get(q); ok {
		return res, nil
	}
	res, err := s.suggest(ctx, access.Subject{}, false, q)
	if err != nil {
		return nil, err
	}
	s.suggestCache.put(q, res)
	return res, nil
}

// SuggestMember suggests the titles subj may see: research records (one
// per record) and pages and lessons, public and members-only, in q's
// language. It goes through the same access filter and tenant token as
// Member; the API re-checks research suggestions against the store, as it
// does search hits. Never cached: the answer depends on who asks.
func (s *Searcher) SuggestMember(ctx context.Context, subj access.Subject, q SuggestQuery) (*Suggestions, error) {
	return s.suggest(ctx, subj, true, q)
}

func (s *Searcher) suggest(ctx context.Context, subj access.Subject, research bool, q SuggestQuery) (*Suggestions, error) {
	acc, err := Access(access.Filter(subj))
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
	siteFilter, err := And(acc, lang)
	if err != nil {
		return nil, err
	}
	text := queryText(q.Text)
	// Every word typed must be in the title ("all"): a suggestion that
	// drops the words being typed would not be what the reader is after.
	site := func(index string) searchRequest {
		return searchRequest{
			IndexUID: index, Q: text, Filter: siteFilter,
			AttributesToSearchOn: []string{"title"},
			MatchingStrategy:     "all",
			AttributesToRetrieve: []string{"id", "kind", "title", "url", "original"},
			Locales:              []string{localeFor(q.Lang)},
		}
	}
	queries := []searchRequest{site(IndexPages), site(IndexTraining)}
	if research {
		researchFilter, err := And(acc)
		if err != nil {
			return nil, err
		}
		queries = append(queries, searchRequest{
			IndexUID: IndexResearch, Q: text, Filter: researchFilter,
			AttributesToSearchOn: []string{"title", "title_n"},
			MatchingStrategy:     "all",
			AttributesToRetrieve: []string{"doc_id", "title"},
		})
	}
	req := multiSearchRequest{Federation: federation{Limit: SuggestLimit}, Queries: queries}
	var ans answer
	if err := s.meili.search(ctx, token, "/multi-search", req, &ans, "suggest"); err != nil {
		return nil, err
	}
	res := &Suggestions{Query: q.Text, Lang: q.Lang, Suggestions: make([]Suggestion, 0, len(ans.Hits))}
	for i := range ans.Hits {
		h := &ans.Hits[i]
		switch h.Federation.IndexUID {
		case IndexResearch:
			res.Suggestions = append(res.Suggestions, Suggestion{Kind: "research", ID: h.DocID, Title: h.Title,
				URL: "/" + q.Lang + "/research/document/?id=" + h.DocID})
		case IndexPages, IndexTraining:
			hit := siteHit(h)
			res.Suggestions = append(res.Suggestions, Suggestion{Kind: hit.Kind, ID: hit.ID, Title: hit.Title, URL: hit.URL})
		default:
			return nil, fmt.Errorf("suggest: hit from unexpected index %q", h.Federation.IndexUID)
		}
	}
	return res, nil
}
