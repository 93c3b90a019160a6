package api

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/research"
	"portal/search"
)

// searchMember runs a member's search and records it in the audit log. No
// member search runs unaudited: while the audit queue cannot drain it is
// not run, and its results are not sent unless the queue took its entry.
func (s *Server) searchMember(c *echo.Context, u *account.User) error {
	q, err := parseMemberQuery(c.QueryParams())
	if err != nil {
		return err
	}
	if err := s.auditQueue.Ready(); err != nil {
		return errAuditUnavailable(err)
	}
	res, err := s.search.Member(c.Request().Context(), u.Subject(), q)
	if err != nil {
		return searchError(err)
	}
	if err := s.recheckHits(c, u, res); err != nil {
		return err
	}
	if err := s.auditAsync(c, u, research.ActionSearch, "", audit.OutcomeSuccess,
		"q="+strconv.Quote(q.Text)+" scope="+res.Scope+" hits="+strconv.Itoa(res.Total)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// Allow-lists of the member search parameters. Values that pass are still
// quoted by the filter builder; these keep nonsense out of Meilisearch and
// the logs, and bound the work.
var (
	reSlug    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	reCountry = regexp.MustCompile(`^[A-Z]{2}$`)
	reLang    = regexp.MustCompile(`^[a-z]{2,5}$`)
)

const maxFilterValues = 20

func parseMemberQuery(v url.Values) (search.MemberQuery, error) {
	single := []string{"q", "lang", "page", "scope", "sort", "year_from", "year_to"}
	for _, name := range single {
		if len(v[name]) > 1 {
			return search.MemberQuery{}, badRequest("invalid_parameter", "Parameter "+strconv.Quote(name)+" is given more than once.")
		}
	}
	pub, err := parsePublicQuery(url.Values{"q": v["q"], "lang": v["lang"], "page": v["page"]})
	if err != nil {
		return search.MemberQuery{}, err
	}
	q := search.MemberQuery{Text: pub.Text, Lang: pub.Lang, Page: pub.Page, Scope: v.Get("scope"), Sort: v.Get("sort")}
	if q.Scope == "" {
		q.Scope = "all"
	}
	if q.Scope != "all" && q.Scope != "research" {
		return q, badRequest("invalid_parameter", `Parameter "scope" must be "all" or "research".`)
	}
	if q.Sort == "" {
		q.Sort = "relevance"
	}
	if !slices.Contains([]string{"relevance", "newest", "oldest"}, q.Sort) {
		return q, badRequest("invalid_parameter", `Parameter "sort" must be "relevance", "newest" or "oldest".`)
	}
	lists := []struct {
		name string
		dst  *[]string
		ok   func(string) bool
	}{
		{"topics", &q.Topics, reSlug.MatchString},
		{"countries", &q.Countries, reCountry.MatchString},
		{"regions", &q.Regions, reSlug.MatchString},
		{"type", &q.Types, reSlug.MatchString},
		{"language", &q.Languages, reLang.MatchString},
		{"tlp", &q.TLPs, func(s string) bool { return access.TLP(s).Valid() }},
	}
	for _, l := range lists {
		vals := v[l.name]
		if len(vals) > maxFilterValues {
			return q, badRequest("invalid_parameter", "Too many values for "+strconv.Quote(l.name)+".")
		}
		for _, val := range vals {
			if !l.ok(val) {
				return q, badRequest("invalid_parameter", "Parameter "+strconv.Quote(l.name)+" has an invalid value.")
			}
		}
		*l.dst = vals
	}
	for name, dst := range map[string]*int{"year_from": &q.YearFrom, "year_to": &q.YearTo} {
		if val := v.Get(name); val != "" {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 1900 || n > 2100 {
				return q, badRequest("invalid_parameter", "Parameter "+strconv.Quote(name)+" must be a year from 1900 to 2100.")
			}
			*dst = n
		}
	}
	if q.YearFrom != 0 && q.YearTo != 0 && q.YearFrom > q.YearTo {
		return q, badRequest("invalid_parameter", `"year_from" is after "year_to".`)
	}
	return q, nil
}

// recheckHits drops research hits that the store no longer lets u see. The
// index follows the store within moments, but not at once (and not while
// Meilisearch is down): a record withdrawn or narrowed a moment ago must not
// stay findable in the meantime. Facet counts may lag by as much.
func (s *Server) recheckHits(c *echo.Context, u *account.User, res *search.MemberResults) error {
	kept, err := keepSearchable(c, s.research, u, res.Hits, func(h search.MemberHit) (string, bool) {
		return h.ID, h.Kind == "research"
	})
	if err != nil {
		return err
	}
	res.Total -= len(res.Hits) - len(kept)
	res.Hits = kept
	return nil
}

// keepSearchable keeps, in place and in order, the items that are not
// research records (record reports an item's record ID, and whether it is
// one) and the records the store still lets u see: the one re-check of
// search hits and typeahead titles.
func keepSearchable[T any](c *echo.Context, rs *research.Service, u *account.User, items []T, record func(T) (string, bool)) ([]T, error) {
	var ids []string
	for _, it := range items {
		if id, ok := record(it); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return items, nil
	}
	ok, err := rs.Searchable(c.Request().Context(), u, ids)
	if err != nil {
		return nil, err
	}
	kept := items[:0]
	for _, it := range items {
		if id, isRecord := record(it); !isRecord || ok[id] {
			kept = append(kept, it)
		}
	}
	return kept, nil
}
