package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Head names one entry of the chain by its ID and MAC (its Hash). The chain
// alone cannot show that its newest entries were cut off: what remains
// still links up. A head kept off the machine can: the log must still hold
// that entry, with that MAC. `portal serve` writes the head to its
// structured log every few minutes and after each admin act, so that log
// shipping keeps a copy; `portal audit anchor` prints it for an operator's
// own records; `portal audit verify --expect-head` checks against one.
type Head struct {
	ID  int64
	MAC string
}

// String gives the head as "ID:MAC", the form ParseHead reads.
func (h Head) String() string { return strconv.FormatInt(h.ID, 10) + ":" + h.MAC }

// Head returns the head that names e.
func (e Entry) Head() Head { return Head{ID: e.ID, MAC: e.Hash} }

// ParseHead reads "ID:MAC": a positive entry ID and its MAC, 64 hex digits.
func ParseHead(s string) (Head, error) {
	id, mac, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n < 1 {
		return Head{}, fmt.Errorf("audit: head %q: want ID:MAC, a positive entry ID and its MAC", s)
	}
	mac = strings.ToLower(mac)
	if len(mac) != 64 || strings.Trim(mac, "0123456789abcdef") != "" {
		return Head{}, fmt.Errorf("audit: head %q: the MAC must be 64 hex digits", s)
	}
	return Head{ID: n, MAC: mac}, nil
}

// Anchor writes the log's current head to logger, as the message
// "audit head" with the attributes id, mac and reason, and returns it. An
// empty log has the zero Head.
func (l *Log) Anchor(ctx context.Context, logger *slog.Logger, reason string) (Head, error) {
	e, err := l.Head(ctx)
	if err != nil {
		return Head{}, err
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "audit head",
		slog.Int64("id", e.ID), slog.String("mac", e.Hash), slog.String("reason", reason))
	return e.Head(), nil
}

// RunAnchor writes the head (Anchor) every interval, reason "periodic",
// and whenever a reason arrives on now (for example after an admin act),
// until ctx ends. A failure is logged and tried again at the next tick.
func (l *Log) RunAnchor(ctx context.Context, logger *slog.Logger, every time.Duration, now <-chan string) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		reason := "periodic"
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case reason = <-now:
		}
		if _, err := l.Anchor(ctx, logger, reason); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("audit: write the head", "error", err)
		}
	}
}
