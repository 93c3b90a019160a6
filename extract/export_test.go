package extract

// PoolState reports whether the PDFium pool runs, whether a start is under
// way, and how many pools x has started.
func (x *Extractor) PoolState() (running, starting bool, starts int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.running != nil, x.starting != nil, x.starts
}
