package api

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"portal/complaints"
	"portal/language"
)

// The complaints pages work without JavaScript: Hugo builds each one
// (site/layouts/complaints-*.html) with a localised Go template inside,
// like the search page, and these handlers render it. Their forms post
// back to the page itself, outside /api, with the anonymous CSRF token in
// a hidden field, since a form cannot send the API's header.
const (
	pageMarker  = "<!--portal:page-->"
	pageOpenTag = `<template id="portal-page-template">`
)

// complaintPages holds the parsed pages, reparsed when Hugo rebuilds one.
type complaintPages struct {
	mu     sync.Mutex
	shells map[string]*searchShell // by file name
}

// registerComplaintPages adds the four pages of every language to e.
func (s *Server) registerComplaintPages(e *echo.Echo) {
	s.pages = &complaintPages{shells: map[string]*searchShell{}}
	limit := middleware.BodyLimit(maxBodyBytes)
	for _, lang := range language.All() {
		base := "/" + lang + "/complaints/"
		e.GET(base, s.complaintFormPage(lang))
		e.POST(base, s.complaintFormPost(lang), limit)
		e.GET(base+"confirm/", s.complaintConfirmPage(lang))
		e.POST(base+"confirm/", s.complaintConfirmPost(lang), limit)
		e.GET(base+"status/", s.complaintStatusPage(lang))
		e.POST(base+"status/", s.complaintStatusPost(lang), limit)
		e.GET(base+"statistics/", s.complaintStatisticsPage(lang))
	}
	s.registerQueuePages(e)
}

// pageView is what the pages' templates receive; each page reads its part.
type pageView struct {
	CSRF, Token     string
	Error           string // a refusal's code; "" when none
	ErrorField      string
	Sent            bool
	Form            complaints.Form
	RetentionMonths int
	Opened          bool
	Number          string
	StatusURL       string
	MessageSent     bool
	Status          *statusView
	Months          []monthView
	Chart           *chartView
}

type statusView struct {
	Number, Domain            string
	Open                      bool
	Stages                    []stageView
	Outcome, Reason, Decision string
	Messages                  []messageView
}

type stageView struct {
	Key, Date string
	Done      bool
}

type messageView struct {
	FromComplainant bool
	Text, Date      string
}

type monthView struct {
	Month                                        string
	Opened, Decided, Upheld, Rejected, OpenAtEnd int
	Ack, Decision                                string
}

func (s *Server) pageShell(name string) (*searchShell, error) {
	info, err := s.site.root.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("complaints page: %w", err)
	}
	p := s.pages
	p.mu.Lock()
	defer p.mu.Unlock()
	if sh := p.shells[name]; sh != nil && sh.modTime.Equal(info.ModTime()) {
		return sh, nil
	}
	page, err := s.site.root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("complaints page: %w", err)
	}
	sh, err := parseShellAt(page, pageMarker, pageOpenTag)
	if err != nil {
		return nil, fmt.Errorf("complaints page %s: %w", name, err)
	}
	sh.modTime = info.ModTime()
	p.shells[name] = sh
	return sh, nil
}

// renderPage renders the built page at /lang/complaints/sub/ with view.
func (s *Server) renderPage(c *echo.Context, lang, sub string, status int, view any) error {
	if s.complaints == nil {
		return echo.ErrNotFound
	}
	sh, err := s.pageShell(path.Join(lang, "complaints", sub, "index.html"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Write(sh.before)
	if err := sh.tmpl.Execute(&buf, view); err != nil {
		return fmt.Errorf("render complaints page: %w", err)
	}
	buf.Write(sh.after)
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// The status page's address holds its token: never send it on.
	h.Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(status, buf.Bytes())
}

// anonymousCSRF returns the token this browser's forms must carry, setting
// the anonymous CSRF cookie first when there is none (see getCSRF).
func (s *Server) anonymousCSRF(c *echo.Context) (string, error) {
	if tok := s.csrfToken(c); tok != "" {
		return tok, nil
	}
	if err := setAnonymousCSRFCookie(c); err != nil {
		return "", err
	}
	return s.csrfToken(c), nil
}

// formAllowed checks a posted page form as sameOrigin checks API calls:
// the browser's own word that it comes from this site, and the token.
func (s *Server) formAllowed(c *echo.Context) bool {
	req := c.Request()
	if browserSite(req) == siteCross {
		return false
	}
	want := s.csrfToken(c)
	got := req.PostFormValue("csrf")
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// parsePageForm reads a posted page form; a multipart body (a file) is an
// attachment, which is refused.
func parsePageForm(c *echo.Context) (string, error) {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return "attachment_refused", nil
	}
	if err := req.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", fromStatus(http.StatusRequestEntityTooLarge, err)
		}
		return "", badRequest("invalid_form", "The form could not be read.")
	}
	return "", nil
}

// refusalView puts a refusal in the view, and returns the page's status.
func refusalView(err error, v *pageView) (int, error) {
	var ref *complaints.Refusal
	if !errors.As(err, &ref) {
		return 0, err
	}
	v.Error, v.ErrorField = ref.Code, ref.Field
	apiErr, _ := complaintError(err).(*Error)
	return apiErr.Status, nil
}

func (s *Server) retentionMonths() int {
	return int(math.Round(s.complaints.Retention().Hours() / 24 / 365 * 12))
}

func (s *Server) complaintFormPage(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		tok, err := s.anonymousCSRF(c)
		if err != nil {
			return err
		}
		return s.renderPage(c, lang, "", http.StatusOK, pageView{CSRF: tok, RetentionMonths: s.retentionMonths()})
	}
}

func (s *Server) complaintFormPost(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		refused, err := parsePageForm(c)
		if err != nil {
			return err
		}
		req := c.Request()
		v := pageView{RetentionMonths: s.retentionMonths(), Form: complaints.Form{Lang: lang,
			Domain: req.PostFormValue("domain"), Name: req.PostFormValue("name"), Organisation: req.PostFormValue("organisation"),
			Email: req.PostFormValue("email"), Relation: req.PostFormValue("relation"), Explanation: req.PostFormValue("explanation")}}
		allowed := refused == "" && s.formAllowed(c)
		if v.CSRF, err = s.anonymousCSRF(c); err != nil {
			return err
		}
		switch {
		case refused != "":
			v.Error = refused
			return s.renderPage(c, lang, "", http.StatusBadRequest, v)
		case !allowed:
			v.Error = "csrf"
			return s.renderPage(c, lang, "", http.StatusForbidden, v)
		}
		if err := s.complaints.File(req.Context(), v.Form, complaints.Client{IP: c.RealIP()}); err != nil {
			status, err := refusalView(err, &v)
			if err != nil {
				return err
			}
			return s.renderPage(c, lang, "", status, v)
		}
		return s.renderPage(c, lang, "", http.StatusOK, pageView{Sent: true, RetentionMonths: v.RetentionMonths})
	}
}

func (s *Server) complaintConfirmPage(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		tok, err := s.anonymousCSRF(c)
		if err != nil {
			return err
		}
		v := pageView{CSRF: tok, Token: c.QueryParam("token")}
		if v.Token == "" {
			v.Error = "invalid_token"
			return s.renderPage(c, lang, "confirm", http.StatusNotFound, v)
		}
		return s.renderPage(c, lang, "confirm", http.StatusOK, v)
	}
}

func (s *Server) complaintConfirmPost(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		refused, err := parsePageForm(c)
		if err != nil {
			return err
		}
		v := pageView{Token: c.Request().PostFormValue("token")}
		allowed := refused == "" && s.formAllowed(c)
		if v.CSRF, err = s.anonymousCSRF(c); err != nil {
			return err
		}
		if !allowed {
			v.Error = "csrf"
			if refused != "" {
				v.Error = refused
			}
			return s.renderPage(c, lang, "confirm", http.StatusForbidden, v)
		}
		opened, err := s.complaints.Confirm(c.Request().Context(), v.Token)
		if err != nil {
			status, err := refusalView(err, &v)
			if err != nil {
				return err
			}
			return s.renderPage(c, lang, "confirm", status, v)
		}
		return s.renderPage(c, lang, "confirm", http.StatusOK, pageView{Opened: true, Number: opened.Case.Number,
			StatusURL: "/" + opened.Case.Lang + "/complaints/status/?token=" + url.QueryEscape(opened.StatusToken)})
	}
}

const pageDate = "2006-01-02"

func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(pageDate)
}

func newStatusView(st complaints.Status) *statusView {
	v := &statusView{Number: st.Number, Domain: st.Domain, Open: st.Open, Decision: st.Decision}
	for _, sg := range []struct {
		key string
		at  time.Time
	}{{"received", st.OpenedAt}, {"review", st.AcknowledgedAt}, {"decision", st.DecidedAt}, {"closed", st.ClosedAt}} {
		v.Stages = append(v.Stages, stageView{Key: sg.key, Date: dateOf(sg.at), Done: !sg.at.IsZero()})
	}
	if st.Outcome != "" {
		v.Outcome, v.Reason = complaints.Label(st.Outcome, st.Lang), complaints.Label(st.Reason, st.Lang)
	}
	for _, m := range st.Messages {
		v.Messages = append(v.Messages, messageView{FromComplainant: m.FromComplainant, Text: m.Text, Date: dateOf(m.At)})
	}
	return v
}

// statusPage renders the status page for token, with v's error or notice.
func (s *Server) statusPage(c *echo.Context, lang, token string, status int, v pageView) error {
	var err error
	if v.CSRF, err = s.anonymousCSRF(c); err != nil {
		return err
	}
	v.Token = token
	st, err := s.complaints.StatusOf(c.Request().Context(), token)
	if err != nil {
		code, err := refusalView(err, &v)
		if err != nil {
			return err
		}
		return s.renderPage(c, lang, "status", code, v)
	}
	v.Status = newStatusView(st)
	return s.renderPage(c, lang, "status", status, v)
}

func (s *Server) complaintStatusPage(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		return s.statusPage(c, lang, c.QueryParam("token"), http.StatusOK, pageView{})
	}
}

func (s *Server) complaintStatusPost(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		refused, err := parsePageForm(c)
		if err != nil {
			return err
		}
		req := c.Request()
		token := req.PostFormValue("token")
		switch {
		case refused != "":
			return s.statusPage(c, lang, c.QueryParam("token"), http.StatusBadRequest, pageView{Error: refused})
		case !s.formAllowed(c):
			return s.statusPage(c, lang, token, http.StatusForbidden, pageView{Error: "csrf"})
		}
		if _, err := s.complaints.Reply(req.Context(), token, req.PostFormValue("message")); err != nil {
			var v pageView
			status, err := refusalView(err, &v)
			if err != nil {
				return err
			}
			return s.statusPage(c, lang, token, status, v)
		}
		return s.statusPage(c, lang, token, http.StatusOK, pageView{MessageSent: true})
	}
}

func (s *Server) complaintStatisticsPage(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		months, err := s.complaints.Statistics(c.Request().Context())
		if err != nil {
			return err
		}
		v := pageView{Chart: newChart(months)}
		for _, m := range months {
			v.Months = append(v.Months, monthView{Month: m.Month, Opened: m.Opened, Decided: m.Decided, Upheld: m.Upheld,
				Rejected: m.Rejected, OpenAtEnd: m.OpenAtEnd, Ack: days(m.MedianDaysToAcknowledge), Decision: days(m.MedianDaysToDecision)})
		}
		return s.renderPage(c, lang, "statistics", http.StatusOK, v)
	}
}

func days(d *float64) string {
	if d == nil {
		return ""
	}
	return strconv.FormatFloat(*d, 'f', 1, 64)
}

// chartView is the geometry of the statistics chart: a bar for cases
// opened and one for cases decided in each month, on a scale with ticks.
type chartView struct {
	Width, Height int
	Ticks         []tickView
	Bars          []barView
	Labels        []labelView
}

type tickView struct {
	Y     float64
	Label int
}

type barView struct {
	X, Y, W, H float64
	Kind       string
}

type labelView struct {
	X     float64
	Month string
}

// Chart layout, in SVG user units.
const (
	chartLeft     = 40.0
	chartTop      = 10.0
	chartBaseline = 200.0
	chartGroup    = 64.0 // width per month
	chartBar      = 20.0
)

func newChart(months []complaints.Month) *chartView {
	if len(months) == 0 {
		return nil
	}
	top := 1
	for _, m := range months {
		top = max(top, m.Opened, m.Decided)
	}
	step := int(math.Ceil(float64(top) / 4))
	top = step * 4
	scale := (chartBaseline - chartTop) / float64(top)
	ch := &chartView{Width: int(chartLeft + chartGroup*float64(len(months)) + 10), Height: int(chartBaseline + 26)}
	for v := 0; v <= top; v += step {
		ch.Ticks = append(ch.Ticks, tickView{Y: chartBaseline - float64(v)*scale, Label: v})
	}
	for i, m := range months {
		x := chartLeft + chartGroup*float64(i) + (chartGroup-2*chartBar)/2
		for j, b := range []struct {
			kind string
			n    int
		}{{"opened", m.Opened}, {"decided", m.Decided}} {
			h := float64(b.n) * scale
			ch.Bars = append(ch.Bars, barView{X: x + float64(j)*chartBar, Y: chartBaseline - h, W: chartBar - 2, H: h, Kind: b.kind})
		}
		ch.Labels = append(ch.Labels, labelView{X: x + chartBar, Month: m.Month})
	}
	return ch
}
