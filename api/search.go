package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/language"
	"portal/search"
)

// search answers GET /api/search: public pages and training for anonymous
// readers; for logged-in members, also the research library and
// members-only training, as far as access.CanSee lets them.
func (s *Server) searchAny(c *echo.Context) error {
	if u, sess := currentUser(c), currentSession(c); u != nil && sess.Stage == account.StageFull {
		return s.searchMember(c, u)
	}
	return s.searchPublic(c)
}

func (s *Server) searchPublic(c *echo.Context) error {
	q, err := parsePublicQuery(c.QueryParams())
	if err != nil {
		return err
	}
	res, err := s.search.Public(c.Request().Context(), q)
	if err != nil {
		return searchError(err)
	}
	return c.JSON(http.StatusOK, res)
}

// maxSectionBytes bounds the section facet value; section titles are short.
const maxSectionBytes = 200

// parsePublicQuery validates the query string of a public search. It is the
// only reader of those parameters, for the JSON API and the no-script search
// page alike.
func parsePublicQuery(v url.Values) (search.PublicQuery, error) {
	for name, vals := range v {
		if len(vals) > 1 {
			return search.PublicQuery{}, badRequest("invalid_parameter", "Parameter "+strconv.Quote(name)+" is given more than once.")
		}
	}
	q := search.PublicQuery{Text: strings.TrimSpace(v.Get("q")), Lang: v.Get("lang"), Section: v.Get("section"), Page: 1}
	if err := search.ValidQueryText(q.Text); err != nil {
		return q, badRequest("invalid_query", "The search text is too long or not valid text.")
	}
	if q.Lang == "" {
		q.Lang = "en"
	}
	if !language.Valid(q.Lang) {
		return q, badRequest("invalid_parameter", "Parameter \"lang\" must be one of en, fr, es, ar.")
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > search.MaxPage {
			return q, badRequest("invalid_parameter", "Parameter \"page\" must be a whole number from 1 to "+strconv.Itoa(search.MaxPage)+".")
		}
		q.Page = n
	}
	if !validLabel(q.Section) {
		return q, badRequest("invalid_parameter", "Parameter \"section\" is not a valid section name.")
	}
	return q, nil
}

// validLabel accepts a section title: printable text of bounded length. The
// filter builder quotes it anyway; this keeps nonsense out of the logs.
func validLabel(s string) bool {
	if len(s) > maxSectionBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
