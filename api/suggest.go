package api

import (
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/audit"
	"portal/research"
	"portal/search"
)

// suggestRoutes is the typeahead of the search boxes (issue 15).
func (s *Server) suggestRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/suggest", policy: Public, handler: s.suggest},
	}
}

// minSuggestRunes is the shortest text that gets suggestions: one letter
// matches too much to help.
const minSuggestRunes = 2

// GET /api/suggest?q=&lang=: titles that match what the reader has typed.
// Anonymous readers get public page and lesson titles, from the server's
// cache of public answers (like every API answer, the response itself is
// no-store: SECURITY.md MS-10); members also the titles of research records
// and members-only pages they may see, through the same access filter and
// tenant token as their searches, with each research title re-checked
// against the store and the request audited like a search.
func (s *Server) suggest(c *echo.Context) error {
	pub, err := parsePublicQuery(url.Values{"q": c.QueryParams()["q"], "lang": c.QueryParams()["lang"]})
	if err != nil {
		return err
	}
	for name := range c.QueryParams() {
		if name != "q" && name != "lang" {
			return badRequest("invalid_parameter", "Unknown parameter "+strconv.Quote(name)+".")
		}
	}
	q := search.SuggestQuery{Text: pub.Text, Lang: pub.Lang}
	u, sess := currentUser(c), currentSession(c)
	member := u != nil && sess.Stage == account.StageFull
	if utf8.RuneCountInString(q.Text) < minSuggestRunes {
		return c.JSON(http.StatusOK, search.Suggestions{Query: q.Text, Lang: q.Lang, Suggestions: []search.Suggestion{}})
	}
	if !member {
		res, err := s.search.SuggestPublic(c.Request().Context(), q)
		if err != nil {
			return searchError(err)
		}
		return c.JSON(http.StatusOK, res)
	}

	if err := s.auditQueue.Ready(); err != nil {
		return errAuditUnavailable(err)
	}
	res, err := s.search.SuggestMember(c.Request().Context(), u.Subject(), q)
	if err != nil {
		return searchError(err)
	}
	if err := s.recheckSuggestions(c, u, res); err != nil {
		return err
	}
	if err := s.auditAsync(c, u, research.ActionSearch, "", audit.OutcomeSuccess,
		"suggest q="+strconv.Quote(q.Text)+" titles="+strconv.Itoa(len(res.Suggestions))); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// recheckSuggestions drops research titles the store no longer lets u see,
// as recheckHits does for search hits.
func (s *Server) recheckSuggestions(c *echo.Context, u *account.User, res *search.Suggestions) error {
	kept, err := keepSearchable(c, s.research, u, res.Suggestions, func(sg search.Suggestion) (string, bool) {
		return sg.ID, sg.Kind == "research"
	})
	if err != nil {
		return err
	}
	res.Suggestions = kept
	return nil
}
