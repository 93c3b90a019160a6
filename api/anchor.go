package api

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/labstack/echo/v5"

	"portal/audit"
)

// DefaultAnchorEvery is how often a serving portal writes the audit log's
// head to its structured log when Options.AnchorEvery is not set.
const DefaultAnchorEvery = 5 * time.Minute

// anchorLoop writes the audit log's head (audit.Head) to the server's
// structured log, so that log shipping keeps a copy off the machine against
// which `portal audit verify --expect-head` catches a truncated log: at
// start, every few minutes, after each admin act and, at Close, once the
// queued entries are written. The server owns its goroutine.
type anchorLoop struct {
	log    *audit.Log
	logger *slog.Logger
	acts   chan string
	cancel context.CancelFunc
	done   chan struct{}
}

func startAnchor(log *audit.Log, logger *slog.Logger, every time.Duration) *anchorLoop {
	switch {
	case every < 0:
		// No periodic head from here; a tick in centuries keeps one loop.
		every = math.MaxInt64
	case every == 0:
		every = DefaultAnchorEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	// One pending request is enough: the head it writes covers every act
	// before it.
	a := &anchorLoop{log: log, logger: logger, acts: make(chan string, 1), cancel: cancel, done: make(chan struct{})}
	a.acts <- "start"
	go func() {
		defer close(a.done)
		log.RunAnchor(ctx, logger, every, a.acts)
	}()
	return a
}

// afterAdminAct asks for the head to be written; it never waits.
func (a *anchorLoop) afterAdminAct() {
	select {
	case a.acts <- "admin act":
	default:
	}
}

// stop ends the loop and waits for it.
func (a *anchorLoop) stop() {
	a.cancel()
	<-a.done
}

// final writes the head once more, after the loop has stopped.
func (a *anchorLoop) final() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.log.Anchor(ctx, a.logger, "shutdown"); err != nil {
		a.logger.Error("audit: write the head", "error", err)
	}
}

// anchorAfter writes the audit head after an admin act (a state-changing
// request on an admin route), whatever its outcome: refusals are audited
// too.
func (s *Server) anchorAfter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		err := next(c)
		s.anchor.afterAdminAct()
		return err
	}
}
