package relevance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// Getter fetches an API path (with its query string) and returns the body
// of a 200 answer.
type Getter func(ctx context.Context, path string) ([]byte, error)

// APIRunner answers queries through the portal's search API, the path
// every reader's search takes: public queries as an anonymous reader's
// /api/search in the query's language (through anon), research queries as
// a member's research search with the query's filters (through member, a
// session of a member of every group). ids maps the research record ids the portal gave the
// corpus to their corpus keys.
func APIRunner(anon, member Getter, ids map[string]string) Runner {
	return func(ctx context.Context, q Query) ([]string, error) {
		v := url.Values{"q": {q.Q}, "lang": {q.Lang}}
		if q.Scope == ScopeResearch {
			v.Set("scope", "research")
			for k, vals := range q.Filters {
				v[k] = vals
			}
		} else if q.Section != "" {
			v.Set("section", q.Section)
		}
		get := anon
		if q.Scope == ScopeResearch {
			get = member
		}
		body, err := get(ctx, "/api/search?"+v.Encode())
		if err != nil {
			return nil, err
		}
		var res struct {
			Hits []struct{ ID, URL string }
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("decode search answer: %w", err)
		}
		ranked := make([]string, 0, len(res.Hits))
		for _, h := range res.Hits {
			if q.Scope == ScopeResearch {
				key, ok := ids[h.ID]
				if !ok {
					key = "other:" + h.ID
				}
				ranked = append(ranked, key)
			} else {
				ranked = append(ranked, q.Key(h.URL))
			}
		}
		return ranked, nil
	}
}
