package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// RateCounter counts requests per key in the database shared by every
// instance, so that the per-address limit holds across instances rather
// than once per instance (migration 0012). store.DB implements it.
type RateCounter interface {
	// HitRateLimit counts one request under key and returns the count so
	// far; the count may be dropped after expires.
	HitRateLimit(ctx context.Context, key string, expires time.Time) (int64, error)
}

// dbRateLimiter is echo's RateLimiterStore over a RateCounter: at most
// burst requests per address in each fixed window of burst/rate seconds,
// the same average as the token bucket of echo's memory store (with up to
// twice the burst across a window's edge), counted by one upsert.
type dbRateLimiter struct {
	db     RateCounter
	limit  int64
	window time.Duration
	now    func() time.Time
}

func newDBRateLimiter(db RateCounter, rate float64, burst int) *dbRateLimiter {
	if burst <= 0 {
		// As echo's memory store does.
		burst = max(1, int(rate))
	}
	window := time.Duration(float64(burst) / rate * float64(time.Second))
	if window < time.Millisecond {
		window = time.Millisecond
	}
	return &dbRateLimiter{db: db, limit: int64(burst), window: window, now: time.Now}
}

// Allow implements middleware.RateLimiterStore.
func (l *dbRateLimiter) Allow(id string) (bool, error) { return l.allow(context.Background(), id) }

// AllowContext implements middleware.RateLimiterStoreContext, with the
// request's context.
func (l *dbRateLimiter) AllowContext(c *echo.Context, id string) (bool, error) {
	return l.allow(c.Request().Context(), id)
}

func (l *dbRateLimiter) allow(ctx context.Context, id string) (bool, error) {
	n := l.now().UnixNano() / int64(l.window)
	expires := time.Unix(0, (n+1)*int64(l.window))
	hits, err := l.db.HitRateLimit(ctx, "secret "+id+" "+strconv.FormatInt(n, 10), expires)
	if err != nil {
		return false, err
	}
	return hits <= l.limit, nil
}

// rateLimiter returns the middleware of the per-address limit: counted in
// the database when one is given, else in this process's memory.
func rateLimiter(db RateCounter, rate float64, burst int, log *slog.Logger) echo.MiddlewareFunc {
	if db == nil {
		return middleware.RateLimiter(middleware.NewRateLimiterMemoryStoreWithConfig(
			middleware.RateLimiterMemoryStoreConfig{Rate: rate, Burst: burst, ExpiresIn: 3 * time.Minute}))
	}
	cfg := middleware.DefaultRateLimiterConfig
	cfg.Store = newDBRateLimiter(db, rate, burst)
	cfg.DenyHandler = func(c *echo.Context, id string, err error) error {
		if err != nil {
			// A limit that cannot be counted is not granted: these routes
			// check secrets, and the database they need is failing anyway.
			log.ErrorContext(c.Request().Context(), "api: count request for the rate limit", "error", err)
			return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
				Message: "the service is unavailable; try again shortly", Err: err}
		}
		return middleware.ErrRateLimitExceeded
	}
	return middleware.RateLimiterWithConfig(cfg)
}
