package search_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"portal/search"
	"portal/store/storetest"
)

// TestPublicCacheFollowsGeneration: an instance's cached public answers go
// within a second of another instance bumping the shared counter, and the
// counter is read at most once a second however many searches come in.
func TestPublicCacheFollowsGeneration(t *testing.T) {
	db := storetest.Open(t)
	var (
		mu    sync.Mutex
		now   = time.Now()
		reads int
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s := search.NewWatchingSearcher(clock, func(ctx context.Context) (int64, error) {
		reads++
		return db.Generation(ctx, search.PublicGeneration)
	})
	s.DropStale(t.Context()) // the baseline, as WatchGeneration reads it

	q := search.PublicQuery{Text: "synthetic", Lang: "en", Page: 1}
	s.CachePut(q, &search.Results{Query: q.Text})
	if _, err := db.BumpGeneration(t.Context(), search.PublicGeneration); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		s.DropStale(t.Context())
	}
	if !s.Cached(q) {
		t.Fatal("the answer went before a second had passed")
	}
	if reads != 1 {
		t.Fatalf("the counter was read %d times within a second, want once", reads)
	}
	advance(search.GenerationCheck)
	s.DropStale(t.Context())
	if s.Cached(q) {
		t.Fatal("the cached answer outlived the generation it was cached under")
	}
	// Cached again under the new generation, it stays while nothing moves.
	s.CachePut(q, &search.Results{Query: q.Text})
	advance(search.GenerationCheck)
	s.DropStale(t.Context())
	if !s.Cached(q) {
		t.Fatal("an answer went although the generation did not move")
	}
}
