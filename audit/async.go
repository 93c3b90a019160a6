package audit

import (
	"context"
	"log/slog"
	"time"
)

// Async records entries in the background, many to a transaction. It is for
// the frequent events whose write should not wait on a disk sync in the
// request's path — members' searches. Logins, admin acts and downloads use
// Record, which has committed before the request answers. An entry given to
// Async is in the log within flushEvery, or at Close; a crash in between
// loses at most that window.
type Async struct {
	log    *Log
	logger *slog.Logger
	ch     chan Entry
	done   chan struct{}
}

const (
	flushEvery = 50 * time.Millisecond
	maxBatch   = 256
)

// NewAsync starts the background writer. Close stops it.
func NewAsync(log *Log, logger *slog.Logger) *Async {
	a := &Async{log: log, logger: logger, ch: make(chan Entry, 4*maxBatch), done: make(chan struct{})}
	go a.run()
	return a
}

// Record queues e. When the queue is full it waits: entries are never
// dropped, and the wait slows the callers down to what the disk can take.
func (a *Async) Record(e Entry) {
	if e.Time.IsZero() {
		e.Time = a.log.now()
	}
	a.ch <- e
}

// Close writes what is queued and stops the writer.
func (a *Async) Close() {
	close(a.ch)
	<-a.done
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
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.log.RecordBatch(ctx, batch); err != nil {
			a.logger.Error("audit: write batch", "entries", len(batch), "error", err)
		}
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
