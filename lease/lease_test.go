package lease_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portal/lease"
	"portal/store"
	"portal/store/storetest"
)

// cutStore is the real database behind a switch that, once cut, fails
// every call: the instance's network to the database is gone, or the
// instance is frozen, while the database lives on.
type cutStore struct {
	db  *store.DB
	cut atomic.Bool
}

var errCut = errors.New("database unreachable (test)")

func (c *cutStore) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if c.cut.Load() {
		return false, errCut
	}
	return c.db.AcquireLease(ctx, name, holder, now, until)
}

func (c *cutStore) ReleaseLease(ctx context.Context, name, holder string) error {
	if c.cut.Load() {
		return errCut
	}
	return c.db.ReleaseLease(ctx, name, holder)
}

// watch records which runner's work runs, and fails the test if two run
// at once.
type watch struct {
	t       *testing.T
	mu      sync.Mutex
	running map[string]bool
	starts  []string
}

func (w *watch) work(who string) func(ctx context.Context) {
	return func(ctx context.Context) {
		w.mu.Lock()
		for other := range w.running {
			w.t.Errorf("%s started while %s runs", who, other)
		}
		w.running[who] = true
		w.starts = append(w.starts, who)
		w.mu.Unlock()
		<-ctx.Done()
		w.mu.Lock()
		delete(w.running, who)
		w.mu.Unlock()
	}
}

func (w *watch) current() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for who := range w.running {
		return who, len(w.starts)
	}
	return "", len(w.starts)
}

// within polls cond every 20 ms for up to d.
func within(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// waitFor waits until who runs, and returns how long that took.
func (w *watch) waitFor(who string, within time.Duration) time.Duration {
	w.t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cur, _ := w.current(); cur == who {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cur, n := w.current()
	w.t.Fatalf("%s did not take over within %v (running: %q, %d starts)", who, within, cur, n)
	return 0
}

func TestOneHolderAndTakeOver(t *testing.T) {
	db := storetest.Open(t)
	opts := lease.Options{TTL: 2 * time.Second, Renew: 300 * time.Millisecond, Retry: 200 * time.Millisecond}
	w := &watch{t: t, running: map[string]bool{}}
	stores := map[string]*cutStore{"a": {db: db}, "b": {db: db}, "c": {db: db}}
	stops := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	start := func(who string) {
		ctx, cancel := context.WithCancel(context.Background())
		stops[who] = cancel
		r := lease.New(stores[who], opts)
		wg.Go(func() { r.Run(ctx, "work", w.work(who)) })
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
		wg.Wait()
	}()

	start("a")
	w.waitFor("a", 2*time.Second)
	start("b")
	start("c")
	// Several renewals later, a still runs alone.
	time.Sleep(3 * opts.TTL / 2)
	if cur, n := w.current(); cur != "a" || n != 1 {
		t.Fatalf("running %q after %d starts, want a alone", cur, n)
	}

	// a loses the database: its work stops before its lease expires, and
	// another instance (b or c, whichever retries first) takes over within
	// TTL and a retry.
	stores["a"].cut.Store(true)
	cutAt := time.Now()
	var next string
	if !within(opts.TTL+2*time.Second, func() bool {
		cur, _ := w.current()
		next = cur
		return cur == "b" || cur == "c"
	}) {
		cur, n := w.current()
		t.Fatalf("nobody took over from a (running %q, %d starts)", cur, n)
	}
	took := time.Since(cutAt)
	t.Logf("%s took over %v after the holder was cut off (TTL %v)", next, took, opts.TTL)
	if took > opts.TTL+opts.Retry+time.Second {
		t.Errorf("take-over took %v, want within TTL %v and a retry", took, opts.TTL)
	}

	// The new holder stops cleanly: it gives the lease up, and the last
	// instance takes over at its next retry rather than after the TTL.
	last := map[string]string{"b": "c", "c": "b"}[next]
	stops[next]()
	took = w.waitFor(last, opts.TTL)
	if took > opts.TTL/2 {
		t.Errorf("take-over after a clean stop took %v, want about one retry (%v)", took, opts.Retry)
	}
	holder, _, err := db.LeaseHolder(t.Context(), "work")
	if err != nil || holder == "" {
		t.Fatalf("LeaseHolder = %q, %v", holder, err)
	}
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
