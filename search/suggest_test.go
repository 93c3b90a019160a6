package search_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"portal/access"
	"portal/search"
)

// Anonymous readers' suggestions come from the cache of public answers;
// a member's never do, and carry the member's access rule in the request's
// filter. The real Meilisearch answers, behind a proxy that counts what
// it is asked (the process itself does not tell).
func TestSuggestCachesOnlyPublicAnswers(t *testing.T) {
	l := startLibrary(t)
	page := search.Page{ID: strings.Repeat("5", 32), URL: "/en/notices/", Lang: "en", Kind: search.KindPage,
		Section: "Notices", Title: "Yellow and Green Notices", Content: "Synthetic page for the suggestion test.",
		AccessGroups: []string{access.Public}, TLP: string(access.Clear)}
	lesson := search.Page{ID: strings.Repeat("6", 32), URL: "/en/training/notices-and-ncbs/", Lang: "en", Kind: search.KindTraining,
		Section: "Training", Title: "Notices and National Central Bureaus", Content: "Synthetic lesson for the suggestion test.",
		AccessGroups: []string{access.Public}, TLP: string(access.Clear)}
	if err := l.indexer.IndexSite(t.Context(), []search.Page{page, lesson}); err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(l.url)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		calls  int
		bodies []string
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		mu.Lock()
		calls++
		bodies = append(bodies, string(b))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	asked := func() (int, string) {
		mu.Lock()
		defer mu.Unlock()
		return calls, bodies[len(bodies)-1]
	}

	s := search.NewSearcher(srv.URL, l.searchKey, search.SearchKey().UID)
	q := search.SuggestQuery{Text: "yellow", Lang: "en"}
	for range 3 {
		res, err := s.SuggestPublic(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Suggestions) != 1 || res.Suggestions[0].Title != page.Title {
			t.Fatalf("public suggestions %+v", res.Suggestions)
		}
	}
	n, last := asked()
	if n != 1 {
		t.Errorf("3 anonymous suggestions asked Meilisearch %d times, want 1", n)
	}
	if strings.Contains(last, `"research"`) {
		t.Errorf("anonymous suggestions searched the research index: %s", last)
	}
	subj := access.Subject{Groups: []string{"members", "victim-identification"}}
	for range 2 {
		if _, err := s.SuggestMember(t.Context(), subj, q); err != nil {
			t.Fatal(err)
		}
	}
	n, last = asked()
	if n != 3 {
		t.Errorf("2 member suggestions after the anonymous ones: %d requests in all, want 3", n)
	}
	if !strings.Contains(last, `"research"`) || !strings.Contains(last, "victim-identification") {
		t.Errorf("member suggestions: request %s lacks the research index or the member's access clause", last)
	}
}
