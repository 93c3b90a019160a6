package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/search"
)

// healthBody is what GET /api/health tells an admin. Everyone else gets
// the status alone (statusBody): Meilisearch's exact version and whether it
// is outdated would tell an outsider which advisories to try, so they go
// to admins and to the metrics listener only.
type healthBody struct {
	Status      string        `json:"status"`
	Meilisearch search.Status `json:"meilisearch"`
}

// health reports whether the portal can serve searches: 200 when
// Meilisearch answers, 503 when it cannot be reached. Admins see its
// version too, and "degraded" when it is outdated; others see "ok", since
// "degraded" would be the outdated flag under another name.
func (s *Server) health(c *echo.Context) error {
	st, err := s.search.Health(c.Request().Context())
	if err != nil {
		return searchError(err)
	}
	if !isAdmin(c) {
		return c.JSON(http.StatusOK, statusBody{Status: "ok"})
	}
	body := healthBody{Status: "ok", Meilisearch: st}
	if st.Outdated {
		body.Status = "degraded"
	}
	return c.JSON(http.StatusOK, body)
}

// isAdmin reports whether the request comes from a complete login with the
// admin role: what the Admin policy requires, for a public route that
// shows admins more.
func isAdmin(c *echo.Context) bool {
	u, sess := currentUser(c), currentSession(c)
	return u != nil && sess != nil && sess.Stage == account.StageFull && u.Role == account.RoleAdmin
}

// live answers GET /api/health/live: the process runs and serves HTTP.
// It checks nothing else, so that a supervisor restarts the portal only
// when the portal itself is stuck, never because a dependency is down.
func (s *Server) live(c *echo.Context) error {
	return c.JSON(http.StatusOK, statusBody{Status: "ok"})
}

// readyDeadline bounds each check of the readiness probe, so that a probe
// polled every second answers within about a second.
const readyDeadline = 800 * time.Millisecond

type statusBody struct {
	Status string `json:"status"`
}

// ready answers GET /api/health/ready: 200 when the database and
// Meilisearch both answer within readyDeadline, 503 naming what did not.
func (s *Server) ready(c *echo.Context) error {
	if down, err := s.unready(c.Request().Context()); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Message: "Not ready: " + strings.Join(down, " and ") + " did not answer in time.", Err: err}
	}
	return c.JSON(http.StatusOK, statusBody{Status: "ok"})
}

// unready runs the readiness checks side by side and names those that
// failed, in a fixed order, with their errors.
func (s *Server) unready(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, readyDeadline)
	defer cancel()
	checks := []struct {
		name string
		run  func(context.Context) error
	}{
		{"the database", s.db.Ping},
		{"Meilisearch", func(ctx context.Context) error { _, err := s.search.Health(ctx); return err }},
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			if err := ch.run(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", ch.name, err)
			}
		})
	}
	wg.Wait()
	var down []string
	for i, ch := range checks {
		if errs[i] != nil {
			down = append(down, ch.name)
		}
	}
	return down, errors.Join(errs...)
}

// searchError maps an error from the search package to the API's error.
func searchError(err error) *Error {
	switch {
	case errors.Is(err, search.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: "search_unavailable",
			Message: "Search is temporarily unavailable. Please try again in a moment.", Err: err}
	case errors.Is(err, search.ErrFilter):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_filter",
			Message: "A search filter has an invalid value.", Err: err}
	default:
		return &Error{Status: http.StatusInternalServerError, Code: "internal",
			Message: "Something went wrong on our side.", Err: err}
	}
}
