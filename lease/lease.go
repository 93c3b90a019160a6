// Package lease runs background work on one portal instance at a time:
// the work of a lease runs only while its instance holds the lease's row in
// the database (migration 0012), renewed well before it expires, and
// another instance takes it over once the holder stops renewing it — at
// once when the holder gives it up at shutdown, within TTL when it dies.
package lease

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Store keeps the leases; store.DB implements it.
type Store interface {
	// AcquireLease takes or renews the lease for holder until until if it
	// is free, already holder's, or expired before now.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Defaults for Options.
const (
	// DefaultTTL is how long a lease lasts unrenewed: a dead holder's work
	// is taken over within TTL plus one Retry, under a minute.
	DefaultTTL = 30 * time.Second
)

// Options adjusts a Runner.
type Options struct {
	TTL time.Duration // default DefaultTTL
	// Renew is how often the holder renews (default TTL/3), and Retry how
	// often the others try to take the lease (default TTL/3).
	Renew, Retry time.Duration
	Now          func() time.Time // default time.Now
	Logger       *slog.Logger     // default slog.Default()
}

// Runner runs the works of one instance under their leases. Its holder
// name is the instance's: host, process and a random part, so that a
// restarted process is a new holder.
type Runner struct {
	st     Store
	holder string
	opts   Options
	log    *slog.Logger
}

// New returns a Runner for this process.
func New(st Store, opts Options) *Runner {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Renew <= 0 {
		opts.Renew = opts.TTL / 3
	}
	if opts.Retry <= 0 {
		opts.Retry = opts.TTL / 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, _ := os.Hostname()
	return &Runner{st: st, opts: opts, log: opts.Logger,
		holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])}
}

// Run runs work under the lease name until ctx ends: it tries to take the
// lease every Retry; while it holds it, work runs with a context that ends
// when the lease is lost (a renewal refused, or failed with the lease's
// expiry near) or ctx ends. Run returns once work has returned and the
// lease is given up.
func (r *Runner) Run(ctx context.Context, name string, work func(ctx context.Context)) {
	for {
		if r.acquire(ctx, name) {
			r.hold(ctx, name, work)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.opts.Retry):
		}
	}
}

// acquire tries once to take the lease.
func (r *Runner) acquire(ctx context.Context, name string) bool {
	now := r.opts.Now()
	ok, err := r.st.AcquireLease(ctx, name, r.holder, now, now.Add(r.opts.TTL))
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("lease: acquire", "lease", name, "err", err)
		}
		return false
	}
	return ok
}

// hold runs work while renewing the lease, then gives the lease up.
func (r *Runner) hold(ctx context.Context, name string, work func(ctx context.Context)) {
	r.log.Info("lease: taken; running its work here", "lease", name, "holder", r.holder)
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(workCtx)
	}()
	// The lease is good until expires; a renewal that fails for long
	// enough to near it stops the work before another instance may start.
	expires := r.opts.Now().Add(r.opts.TTL)
	t := time.NewTicker(r.opts.Renew)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-done:
			break loop
		case <-t.C:
			now := r.opts.Now()
			ok, err := r.st.AcquireLease(ctx, name, r.holder, now, now.Add(r.opts.TTL))
			switch {
			case err == nil && ok:
				expires = now.Add(r.opts.TTL)
				continue
			case err == nil:
				r.log.Warn("lease: lost to another instance; stopping its work", "lease", name)
				break loop
			case ctx.Err() != nil:
				break loop
			case expires.Sub(now) < r.opts.Renew:
				r.log.Warn("lease: cannot renew before it expires; stopping its work", "lease", name, "err", err)
				break loop
			default:
				r.log.Warn("lease: renew failed; trying again", "lease", name, "err", err)
			}
		}
	}
	stop()
	<-done
	// Given up so that another instance takes over at once; with ctx
	// ended (shutdown), on a context of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.st.ReleaseLease(rctx, name, r.holder); err != nil {
		r.log.Warn("lease: release", "lease", name, "err", err)
	}
}
