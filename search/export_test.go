package search

import (
	"context"
	"time"
)

// SetPayloadLimit makes b send payloads of at most about n bytes, so that a
// test sees several.
func (b *ResearchBuild) SetPayloadLimit(n int) { b.limit = n }

// SetNow gives ix a clock, so that a test can age build indexes.
func (ix *Indexer) SetNow(now func() time.Time) { ix.now = now }

// GenerationCheck is how often WatchGeneration reads the counter.
const GenerationCheck = generationCheck

// NewWatchingSearcher returns a Searcher with empty caches on clock that
// follows the generation read returns (WatchGeneration without its first
// read), for TestPublicCacheFollowsGeneration.
func NewWatchingSearcher(clock func() time.Time, read func(context.Context) (int64, error)) *Searcher {
	s := &Searcher{cache: newPublicCache[PublicQuery, Results](time.Hour, 100, clock),
		suggestCache: newPublicCache[SuggestQuery, Suggestions](time.Hour, 100, clock)}
	s.gen = &generation{now: clock, read: read}
	return s
}

// DropStale is dropStale, which every public search runs first.
func (s *Searcher) DropStale(ctx context.Context) { s.dropStale(ctx) }

// CachePut and Cached reach the public answers' cache.
func (s *Searcher) CachePut(q PublicQuery, r *Results) { s.cache.put(q, r) }
func (s *Searcher) Cached(q PublicQuery) bool          { _, ok := s.cache.get(q); return ok }
