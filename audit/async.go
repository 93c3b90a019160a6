package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"portal/metrics"
)

// Async records entries in the background, many to a transaction. It is for
// the frequent events whose write should not wait on a disk sync in the
// request's path — members' searches. Logins, admin acts and downloads use
// Record, which has committed before the request answers. An entry given to
// Async is in the log within flushEvery, or at Close; a crash in between
// loses at most that window.
type Async struct {
	log     *Log
	logger  *slog.Logger
	metrics *metrics.Metrics
	ch      chan Entry
	done    chan struct{}

	// mu orders Record and Close: a Record that comes after Close (a
	// request still running when the server's drain deadline passed) is
	// written directly instead of panicking on the closed channel.
	mu     sync.RWMutex
	closed bool
}

const (
	flushEvery = 50 * time.Millisecond
	maxBatch   = 256
)

// NewAsync starts the background writer. Close stops it. m, which may be
// nil, counts the entries that could not be written and sees the queue's
// depth.
func NewAsync(log *Log, logger *slog.Logger, m *metrics.Metrics) *Async {
	a := &Async{log: log, logger: logger, metrics: m, ch: make(chan Entry, 4*maxBatch), done: make(chan struct{})}
	m.GaugeFunc("portal_audit_queue_depth", "Audit entries queued for the background writer.",
		func() float64 { return float64(len(a.ch)) })
	go a.run()
	return a
}

// Record queues e. When the queue is full it waits: entries are never
// dropped, and the wait slows the callers down to what the disk can take.
func (a *Async) Record(e Entry) {
	if e.Time.IsZero() {
		e.Time = a.log.now()
	}
	a.mu.RLock()
	if !a.closed {
		a.ch <- e
		a.mu.RUnlock()
		return
	}
	a.mu.RUnlock()
	a.write([]Entry{e})
}

// Close writes what is queued and stops the writer. It is safe to call
// more than once.
func (a *Async) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
}

// write commits entries in one transaction.
func (a *Async) write(entries []Entry) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.log.RecordBatch(ctx, entries); err != nil {
		a.logger.Error("audit: write batch", "entries", len(entries), "error", err)
		a.metrics.AuditWriteFailed(len(entries))
	}
}

func (a *Async) run() {
	defer close(a.done)
	var batch []Entry
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		a.write(batch)
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-a.ch:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 {
				timer.Reset(flushEvery)
			}
			batch = append(batch, e)
			if len(batch) >= maxBatch {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}
