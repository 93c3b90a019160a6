package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"

	"portal/search"
)

type healthBody struct {
	Status      string        `json:"status"`
	Meilisearch search.Status `json:"meilisearch"`
}

// health reports whether the portal can serve searches: 200 with
// Meilisearch's status and version, 503 when Meilisearch cannot be reached.
func (s *Server) health(c *echo.Context) error {
	st, err := s.search.Health(c.Request().Context())
	if err != nil {
		return searchError(err)
	}
	body := healthBody{Status: "ok", Meilisearch: st}
	if st.Outdated {
		body.Status = "degraded"
	}
	return c.JSON(http.StatusOK, body)
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
