package search

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"portal/store"
)

// TestPublicCacheFollowsGeneration: an instance's cached public answers go
// within a second of another instance bumping the shared counter, and the
// counter is read at most once a second however many searches come in.
func TestPublicCacheFollowsGeneration(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		mu    sync.Mutex
		now   = time.Now()
		reads int
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s := &Searcher{cache: newPublicCache[PublicQuery, Results](time.Hour, 100, clock),
		suggestCache: newPublicCache[SuggestQuery, Suggestions](time.Hour, 100, clock)}
	s.gen = &generation{now: clock, read: func(ctx context.Context) (int64, error) {
		reads++
		return db.Generation(ctx, PublicGeneration)
	}}
	s.dropStale(t.Context()) // the baseline, as WatchGeneration reads it

	q := PublicQuery{Text: "synthetic", Lang: "en", Page: 1}
	s.cache.put(q, &Results{Query: q.Text})
	if _, err := db.BumpGeneration(t.Context(), PublicGeneration); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		s.dropStale(t.Context())
	}
	if _, ok := s.cache.get(q); !ok {
		t.Fatal("the answer went before a second had passed")
	}
	if reads != 1 {
		t.Fatalf("the counter was read %d times within a second, want once", reads)
	}
	advance(generationCheck)
	s.dropStale(t.Context())
	if _, ok := s.cache.get(q); ok {
		t.Fatal("the cached answer outlived the generation it was cached under")
	}
	// Cached again under the new generation, it stays while nothing moves.
	s.cache.put(q, &Results{Query: q.Text})
	advance(generationCheck)
	s.dropStale(t.Context())
	if _, ok := s.cache.get(q); !ok {
		t.Fatal("an answer went although the generation did not move")
	}
}
