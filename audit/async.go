package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"portal/metrics"
)

// Async records entries in the background, many to a transaction. It is for
// the frequent events whose write should not wait on a disk sync in the
// request's path — members' searches. Logins, admin acts and downloads use
// Record, which has committed before the request answers. An entry given to
// Async is in the log within flushEvery, or at Close; a crash in between
// loses at most that window.
//
// A batch that fails to commit is kept and tried again, with a growing
// pause, until it commits: a busy or briefly failing database loses no
// entry. While it keeps failing the queue cannot drain, and after
// AsyncOptions.Stall Record refuses new entries with ErrUnavailable, so
// that the caller refuses the request instead of serving it unaudited.
type Async struct {
	log     *Log
	logger  *slog.Logger
	metrics *metrics.Metrics
	opts    AsyncOptions
	ch      chan Entry
	done    chan struct{}
	// stop ends the pauses between retries: at Close a failing batch is
	// tried once more, not for ever.
	stop     chan struct{}
	stopOnce sync.Once
	// failingSince is when the batch being written first failed, in Unix
	// nanoseconds; 0 while writes succeed.
	failingSince atomic.Int64

	// mu orders Record and Close: a Record that comes after Close (a
	// request still running when the server's drain deadline passed) is
	// written directly instead of panicking on the closed channel.
	mu     sync.RWMutex
	closed bool
}

// ErrUnavailable means that the audit log is not being written: entries
// queued earlier have failed to commit for longer than AsyncOptions.Stall,
// or the queue stayed full. Whatever the entry was to record must not
// happen.
var ErrUnavailable = errors.New("audit: the log cannot be written")

// AsyncOptions tune an Async. Zero values take the defaults.
type AsyncOptions struct {
	// Stall is how long writes may keep failing before Record refuses new
	// entries (default 5 s): short enough that little is served while the
	// log is down, long enough that a retry absorbs a passing failure.
	Stall time.Duration
	// QueueWait is how long Record waits for room in a full queue
	// (default 1 s) before it refuses.
	QueueWait time.Duration
}

const (
	flushEvery = 50 * time.Millisecond
	maxBatch   = 256
	// The pause between retries of a failing batch doubles from
	// firstRetry up to maxRetry.
	firstRetry = 50 * time.Millisecond
	maxRetry   = time.Second
)

// NewAsync starts the background writer with the default options. Close
// stops it. m, which may be nil, counts the entries that could not be
// written and sees the queue's depth.
func NewAsync(log *Log, logger *slog.Logger, m *metrics.Metrics) *Async {
	return NewAsyncWith(log, logger, m, AsyncOptions{})
}

// NewAsyncWith is NewAsync with options.
func NewAsyncWith(log *Log, logger *slog.Logger, m *metrics.Metrics, opts AsyncOptions) *Async {
	if opts.Stall <= 0 {
		opts.Stall = 5 * time.Second
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = time.Second
	}
	a := &Async{log: log, logger: logger, metrics: m, opts: opts, ch: make(chan Entry, 4*maxBatch),
		done: make(chan struct{}), stop: make(chan struct{})}
	m.GaugeFunc("portal_audit_queue_depth", "Audit entries queued for the background writer.",
		func() float64 { return float64(len(a.ch)) })
	go a.run()
	return a
}

// Ready returns ErrUnavailable when Record would refuse an entry now
// because writes have been failing for longer than the stall limit. A
// caller checks it before doing work that it could not record.
func (a *Async) Ready() error {
	since := a.failingSince.Load()
	if since != 0 && time.Since(time.Unix(0, since)) > a.opts.Stall {
		return ErrUnavailable
	}
	return nil
}

// Record queues e. It returns ErrUnavailable, queueing nothing, when the
// queue cannot drain (Ready) or stays full for QueueWait; then the event
// must not take place. When the queue is merely full it waits: the wait
// slows the callers down to what the disk can take.
func (a *Async) Record(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = a.log.now()
	}
	if err := a.Ready(); err != nil {
		return err
	}
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return a.log.RecordBatch(context.WithoutCancel(ctx), []Entry{e})
	}
	defer a.mu.RUnlock()
	select {
	case a.ch <- e:
		return nil
	default:
	}
	wait := time.NewTimer(a.opts.QueueWait)
	defer wait.Stop()
	select {
	case a.ch <- e:
		return nil
	case <-wait.C:
		return ErrUnavailable
	case <-ctx.Done():
		return errors.Join(ErrUnavailable, ctx.Err())
	}
}

// Close writes what is queued and stops the writer. A batch that still
// fails is tried once more and then reported lost. It is safe to call more
// than once.
func (a *Async) Close() {
	a.stopOnce.Do(func() { close(a.stop) })
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
}

// write commits entries in one transaction.
func (a *Async) write(entries []Entry) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.log.RecordBatch(ctx, entries)
	if err != nil {
		a.metrics.AuditWriteFailed(len(entries))
	}
	return err
}

// commit writes batch, retrying with a growing pause until it commits or
// the Async is closing; closing, it tries once and reports a failure as
// entries lost.
func (a *Async) commit(batch []Entry) {
	pause := firstRetry
	for attempt := 1; ; attempt++ {
		err := a.write(batch)
		if err == nil {
			if since := a.failingSince.Swap(0); since != 0 {
				a.logger.Warn("audit: writes resumed", "entries", len(batch), "attempts", attempt,
					"failing_for", time.Since(time.Unix(0, since)))
			}
			return
		}
		a.failingSince.CompareAndSwap(0, time.Now().UnixNano())
		select {
		case <-a.stop:
			a.logger.Error("audit: entries lost at shutdown: the log could not be written", "entries", len(batch), "error", err)
			return
		default:
		}
		if attempt == 1 {
			a.logger.Error("audit: write batch; retrying", "entries", len(batch), "error", err)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-a.stop:
			t.Stop()
		}
		pause = min(2*pause, maxRetry)
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
		a.commit(batch)
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
