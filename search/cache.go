package search

import (
	"sync"
	"time"
)

// publicCache keeps anonymous search results for a short while. Public
// readers ask the same few questions over and over, and their answers depend
// only on the query, so one answer serves all of them. Members' results are
// never cached: they depend on who asks (SECURITY.md MS-10).
type publicCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[PublicQuery]cacheEntry
}

type cacheEntry struct {
	res     *Results
	expires time.Time
}

func newPublicCache(ttl time.Duration, max int, now func() time.Time) *publicCache {
	return &publicCache{ttl: ttl, max: max, now: now, entries: make(map[PublicQuery]cacheEntry)}
}

// get returns a cached answer. Callers must not modify it.
func (c *publicCache) get(q PublicQuery) (*Results, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[q]
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e.res, true
}

func (c *publicCache) put(q PublicQuery, res *Results) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Dropping everything is crude but bounded and cheap; a full cache
		// of a skewed query mix refills with its head within seconds.
		clear(c.entries)
	}
	c.entries[q] = cacheEntry{res: res, expires: c.now().Add(c.ttl)}
}

// Clear forgets every answer, after the public indexes change.
func (c *publicCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
