package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"portal/alerts"
)

// alertRoutes are the routes of saved searches, followed records, the
// notifications inbox and the mailed unsubscribe link (package alerts).
func (s *Server) alertRoutes() []route {
	routes := []route{
		{method: http.MethodGet, path: "/me/saved-searches", policy: Member, handler: s.listSavedSearches},
		{method: http.MethodPost, path: "/me/saved-searches", policy: Member, handler: s.saveSearch},
		{method: http.MethodPatch, path: "/me/saved-searches/:id", policy: Member, handler: s.updateSavedSearch},
		{method: http.MethodDelete, path: "/me/saved-searches/:id", policy: Member, handler: s.deleteSavedSearch},
		{method: http.MethodGet, path: "/me/follows", policy: Member, handler: s.listFollows},
		{method: http.MethodPost, path: "/me/follows", policy: Member, handler: s.follow},
		{method: http.MethodDelete, path: "/me/follows/:id", policy: Member, handler: s.unfollow},
		{method: http.MethodGet, path: "/me/notifications", policy: Member, handler: s.notifications},
		{method: http.MethodPost, path: "/me/notifications/read", policy: Member, handler: s.markNotificationsRead},
		// The token is the credential: it is checked like one.
		{method: http.MethodPost, path: "/alerts/unsubscribe", policy: Public, handler: s.unsubscribe, throttled: true},
	}
	for i := range routes {
		routes[i].handler = s.withAlerts(routes[i].handler)
	}
	return routes
}

// withAlerts answers 503 while the server has no alerts service (a server
// built for a test of something else).
func (s *Server) withAlerts(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.alerts == nil {
			return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
				Message: "Saved searches and notifications are not available on this server."}
		}
		return h(c)
	}
}

// alertsError maps package alerts' errors to the API's.
func alertsError(err error) error {
	var invalid *alerts.ValidationError
	switch {
	case errors.As(err, &invalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Message: invalid.Field + ": " + invalid.Reason, Err: err}
	case errors.Is(err, alerts.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Not found.", Err: err}
	case errors.Is(err, alerts.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "You already have this one.", Err: err}
	}
	return err
}

// filtersView is the wire form of a saved search's filters: the member
// search's parameters, by the same names.
type filtersView struct {
	Topics    []string `json:"topics,omitempty"`
	Countries []string `json:"countries,omitempty"`
	Regions   []string `json:"regions,omitempty"`
	Type      []string `json:"type,omitempty"`
	Language  []string `json:"language,omitempty"`
	TLP       []string `json:"tlp,omitempty"`
	YearFrom  int      `json:"year_from,omitempty"`
	YearTo    int      `json:"year_to,omitempty"`
}

// query checks text and f with the member search's own parser, so that a
// saved search holds exactly what the search page accepts.
func (f filtersView) query(text string) (alerts.Query, error) {
	v := url.Values{"q": {text}, "scope": {"research"}, "topics": f.Topics, "countries": f.Countries,
		"regions": f.Regions, "type": f.Type, "language": f.Language, "tlp": f.TLP}
	if f.YearFrom != 0 {
		v.Set("year_from", strconv.Itoa(f.YearFrom))
	}
	if f.YearTo != 0 {
		v.Set("year_to", strconv.Itoa(f.YearTo))
	}
	q, err := parseMemberQuery(v)
	if err != nil {
		return alerts.Query{}, err
	}
	return alerts.QueryOf(q), nil
}

type savedSearchView struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Text      string           `json:"text"`
	Filters   filtersView      `json:"filters"`
	Alert     alerts.Frequency `json:"alert"`
	CreatedAt time.Time        `json:"createdAt"`
	UpdatedAt time.Time        `json:"updatedAt"`
}

func viewSavedSearch(ss alerts.SavedSearch) savedSearchView {
	q := ss.Query
	return savedSearchView{ID: ss.ID, Name: ss.Name, Text: q.Text, Alert: ss.Alert, CreatedAt: ss.CreatedAt, UpdatedAt: ss.UpdatedAt,
		Filters: filtersView{Topics: q.Topics, Countries: q.Countries, Regions: q.Regions, Type: q.Types,
			Language: q.Languages, TLP: q.TLPs, YearFrom: q.YearFrom, YearTo: q.YearTo}}
}

// GET /api/me/saved-searches
func (s *Server) listSavedSearches(c *echo.Context) error {
	list, err := s.alerts.Searches(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	out := make([]savedSearchView, len(list))
	for i, ss := range list {
		out[i] = viewSavedSearch(ss)
	}
	return c.JSON(http.StatusOK, map[string]any{"searches": out})
}

// POST /api/me/saved-searches {"name", "text", "filters", "alert"}
func (s *Server) saveSearch(c *echo.Context) error {
	var body struct {
		Name    string           `json:"name"`
		Text    string           `json:"text"`
		Filters filtersView      `json:"filters"`
		Alert   alerts.Frequency `json:"alert"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	q, err := body.Filters.query(body.Text)
	if err != nil {
		return err
	}
	if body.Alert == "" {
		body.Alert = alerts.Off
	}
	ss, err := s.alerts.SaveSearch(c.Request().Context(), currentUser(c), body.Name, q, body.Alert)
	if err != nil {
		return alertsError(err)
	}
	return c.JSON(http.StatusCreated, viewSavedSearch(ss))
}

// PATCH /api/me/saved-searches/:id {"name"?, "text"?, "filters"?, "alert"?}
func (s *Server) updateSavedSearch(c *echo.Context) error {
	var body struct {
		Name    *string           `json:"name"`
		Text    *string           `json:"text"`
		Filters *filtersView      `json:"filters"`
		Alert   *alerts.Frequency `json:"alert"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	ctx, u := c.Request().Context(), currentUser(c)
	ch := alerts.SearchChange{Name: body.Name, Alert: body.Alert}
	if body.Text != nil || body.Filters != nil {
		// The text and the filters are one query: what is not sent stays.
		list, err := s.alerts.Searches(ctx, u)
		if err != nil {
			return err
		}
		var old *savedSearchView
		for _, ss := range list {
			if ss.ID == c.Param("id") {
				v := viewSavedSearch(ss)
				old = &v
			}
		}
		if old == nil {
			return alertsError(alerts.ErrNotFound)
		}
		text, filters := old.Text, old.Filters
		if body.Text != nil {
			text = *body.Text
		}
		if body.Filters != nil {
			filters = *body.Filters
		}
		q, err := filters.query(text)
		if err != nil {
			return err
		}
		ch.Query = &q
	}
	ss, err := s.alerts.UpdateSearch(ctx, u, c.Param("id"), ch)
	if err != nil {
		return alertsError(err)
	}
	return c.JSON(http.StatusOK, viewSavedSearch(ss))
}

// DELETE /api/me/saved-searches/:id
func (s *Server) deleteSavedSearch(c *echo.Context) error {
	if err := s.alerts.DeleteSearch(c.Request().Context(), currentUser(c), c.Param("id")); err != nil {
		return alertsError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// GET /api/me/follows
func (s *Server) listFollows(c *echo.Context) error {
	list, err := s.alerts.Follows(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"follows": list})
}

// POST /api/me/follows {"docId"}: 404 for a record the member may not
// see, as for one that does not exist.
func (s *Server) follow(c *echo.Context) error {
	var body struct {
		DocID string `json:"docId"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	f, err := s.alerts.FollowRecord(c.Request().Context(), currentUser(c), body.DocID)
	if err != nil {
		return alertsError(err)
	}
	return c.JSON(http.StatusCreated, f)
}

// DELETE /api/me/follows/:id (the record's ID)
func (s *Server) unfollow(c *echo.Context) error {
	if err := s.alerts.Unfollow(c.Request().Context(), currentUser(c), c.Param("id")); err != nil {
		return alertsError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// GET /api/me/notifications: the inbox, checked against access.CanSee
// now, and its unread count (the header's bell).
func (s *Server) notifications(c *echo.Context) error {
	in, err := s.alerts.Notifications(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, in)
}

// POST /api/me/notifications/read {"id"?}: one notification read, or all
// of them without an id.
func (s *Server) markNotificationsRead(c *echo.Context) error {
	var body struct {
		ID int64 `json:"id"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if err := s.alerts.MarkRead(c.Request().Context(), currentUser(c), body.ID); err != nil {
		return alertsError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /api/alerts/unsubscribe {"token"}: the mailed link's page sends the
// token from the link; no session is needed, and the token turns off the
// alert of its one search only, or ends its one follow.
func (s *Server) unsubscribe(c *echo.Context) error {
	var body struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	done, err := s.alerts.Unsubscribe(c.Request().Context(), body.Token, client(c))
	if errors.Is(err, alerts.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "invalid_token",
			Message: "This link is not valid, or what it stops no longer exists.", Err: err}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, done)
}
