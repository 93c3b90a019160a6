package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"
)

// readingRoutes are the routes of reading research where search found it:
// page text and page images (issue 15).
func (s *Server) readingRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/research/:id/pages/:n", policy: Member, handler: s.pageText},
		{method: http.MethodGet, path: "/research/:id/pages/:n/preview", policy: Member, handler: s.pagePreview},
	}
}

// GET /api/research/:id/pages/:n/preview?width=W: the page as a PNG. The
// URL is no capability: access is decided on every request, before the
// page and width are looked at, so a record the reader may not see is 404
// whatever they guess. Like every API answer it is no-store, since access
// can change.
func (s *Server) pagePreview(c *echo.Context) error {
	// Unparsable numbers go to the service as 0, which refuses them only
	// after the access check.
	n, _ := strconv.Atoi(c.Param("n"))
	width, _ := strconv.Atoi(c.QueryParam("width"))
	b, err := s.research.Preview(c.Request().Context(), currentUser(c), c.Param("id"), n, width, client(c))
	if err != nil {
		return researchError(err)
	}
	return c.Blob(http.StatusOK, "image/png", b)
}

// GET /api/research/:id/pages/:n: the text of one page (PDF) or passage
// (other kinds), to read beside the page's image.
func (s *Server) pageText(c *echo.Context) error {
	n, _ := strconv.Atoi(c.Param("n"))
	p, err := s.research.Page(c.Request().Context(), currentUser(c), c.Param("id"), n, client(c))
	if err != nil {
		return researchError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"number": p.Number, "pages": p.Pages, "kind": string(p.Kind),
		"text": p.Text, "recognised": p.Recognised})
}
