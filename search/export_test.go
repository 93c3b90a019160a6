package search

import "time"

// SetPayloadLimit makes b send payloads of at most about n bytes, so that a
// test sees several.
func (b *ResearchBuild) SetPayloadLimit(n int) { b.limit = n }

// SetNow gives ix a clock, so that a test can age build indexes.
func (ix *Indexer) SetNow(now func() time.Time) { ix.now = now }
