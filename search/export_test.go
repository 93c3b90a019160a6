package search

// SetPayloadLimit makes b send payloads of at most about n bytes, so that a
// test sees several.
func (b *ResearchBuild) SetPayloadLimit(n int) { b.limit = n }
