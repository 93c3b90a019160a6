package search_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"portal/access"
	"portal/search"
)

// Anonymous readers' suggestions come from the cache of public answers;
// a member's never do, and carry the member's access rule in the request's
// filter. A stand-in plays Meilisearch here because what is tested is how
// often it is asked, which the real process does not tell; TestSuggest in
// package api runs the real one.
func TestSuggestCachesOnlyPublicAnswers(t *testing.T) {
	var calls atomic.Int32
	var lastBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Queries []struct {
				IndexUID string `json:"indexUid"`
				Filter   []any  `json:"filter"`
			} `json:"queries"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Error(err)
		}
		b, _ := json.Marshal(req)
		lastBody = string(b)
		_, _ = w.Write([]byte(`{"hits":[{"id":"p1","kind":"page","title":"Yellow and Green Notices","url":"/en/notices/","_federation":{"indexUid":"pages"}}]}`))
	}))
	defer srv.Close()
	s := search.NewSearcher(srv.URL, "search-key-for-tests-0123456789", "00000000-0000-0000-0000-000000000000")
	q := search.SuggestQuery{Text: "yellow", Lang: "en"}
	for range 3 {
		res, err := s.SuggestPublic(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Suggestions) != 1 || res.Suggestions[0].Title != "Yellow and Green Notices" {
			t.Fatalf("public suggestions %+v", res.Suggestions)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("3 anonymous suggestions asked Meilisearch %d times, want 1", n)
	}
	if strings.Contains(lastBody, `"research"`) {
		t.Errorf("anonymous suggestions searched the research index: %s", lastBody)
	}
	subj := access.Subject{Groups: []string{"members", "victim-identification"}}
	for range 2 {
		if _, err := s.SuggestMember(t.Context(), subj, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("2 member suggestions after the anonymous ones: %d calls in all, want 3", n)
	}
	if !strings.Contains(lastBody, `"research"`) || !strings.Contains(lastBody, "victim-identification") {
		t.Errorf("member suggestions: request %s lacks the research index or the member's access clause", lastBody)
	}
}
