package search

import (
	"context"
	"sync"
	"time"
)

// publicCache keeps anonymous search results for a short while. Public
// readers ask the same few questions over and over, and their answers depend
// only on the query, so one answer serves all of them. Members' results are
// never cached: they depend on who asks (SECURITY.md MS-10).
// Typeahead suggestions for anonymous readers are kept the same way, keyed
// by their own query type.
type publicCache[Q comparable, R any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[Q]cacheEntry[R]
}

type cacheEntry[R any] struct {
	res     *R
	expires time.Time
}

func newPublicCache[Q comparable, R any](ttl time.Duration, max int, now func() time.Time) *publicCache[Q, R] {
	return &publicCache[Q, R]{ttl: ttl, max: max, now: now, entries: make(map[Q]cacheEntry[R])}
}

// get returns a cached answer. Callers must not modify it.
func (c *publicCache[Q, R]) get(q Q) (*R, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[q]
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e.res, true
}

func (c *publicCache[Q, R]) put(q Q, res *R) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Dropping everything is crude but bounded and cheap; a full cache
		// of a skewed query mix refills with its head within seconds.
		clear(c.entries)
	}
	c.entries[q] = cacheEntry[R]{res: res, expires: c.now().Add(c.ttl)}
}

// Clear forgets every answer, after the public indexes change.
func (c *publicCache[Q, R]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// PublicGeneration names the counter that `portal index site` bumps after
// changing the public indexes, and that every instance's Searcher watches
// to drop its cached public answers (migration 0012, generations).
const PublicGeneration = "public-search"

// generationCheck is how often a Searcher reads the counter at most.
const generationCheck = time.Second

// generation watches a counter shared by the instances: when it moves,
// the public indexes changed and the cache is stale.
type generation struct {
	read func(ctx context.Context) (int64, error)
	now  func() time.Time

	mu      sync.Mutex
	checked time.Time
	value   int64
}

// changed reports whether the counter moved since the last read; it reads
// at most once every generationCheck, and a failed read changes nothing
// (the cache's own expiry still bounds staleness).
// The read happens outside the lock: the request that claims the check
// reads, and the others go on with the cache meanwhile.
func (g *generation) changed(ctx context.Context) bool {
	g.mu.Lock()
	now := g.now()
	if now.Sub(g.checked) < generationCheck {
		g.mu.Unlock()
		return false
	}
	g.checked = now
	g.mu.Unlock()
	v, err := g.read(ctx)
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if v == g.value {
		return false
	}
	g.value = v
	return true
}
