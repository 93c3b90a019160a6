package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"portal/account"
	"portal/complaints"
	"portal/language"
)

// The review queue's pages, for the members of the handling group: the
// list of cases with late ones highlighted, and a case with its forms
// (assign, note, message, decision). Rendered by the server like the
// complainants' pages and working without JavaScript; the forms post back
// with the session's CSRF token, and every act goes through the same
// complaints.Service calls as the JSON API.

func (s *Server) registerQueuePages(e *echo.Echo) {
	limit := middleware.BodyLimit(maxBodyBytes)
	for _, lang := range language.All() {
		base := "/" + lang + "/complaints/"
		e.GET(base+"queue/", s.queuePage(lang), s.authenticate)
		e.GET(base+"case/", s.casePage(lang), s.authenticate)
		e.POST(base+"case/", s.casePost(lang), s.authenticate, limit)
	}
}

type queueView struct {
	CSRF          string
	Error, Notice string
	State, Sort   string
	States        []string
	Cases         []queueRow
	Case          *caseView
	Templates     []string
	Outcomes      []outcomeView
}

type queueRow struct {
	Number, State, Opened, AckBy, DecideBy, URL string
	Overdue                                     []string
	Mine                                        bool
}

type caseView struct {
	queueRow
	Lang, Domain, Name, Organisation, Email, Relation, Explanation string
	Assignee, Outcome, Reason, Decision                            string
	Proposed                                                       string // "outcome: reason", "" when none
	ProposedByMe, Open, Erased                                     bool
	Entries                                                        []entryView
}

type entryView struct {
	Kind, Date, Text, Template string
}

type outcomeView struct {
	Code, Label string
	Reasons     []reasonView
}

type reasonView struct{ Code, Label string }

// reviewerOr returns the reviewer of a full session, or answers: a login
// redirect without one.
func (s *Server) reviewerOr(c *echo.Context, lang string) (complaints.Reviewer, bool, error) {
	u, sess := currentUser(c), currentSession(c)
	if u == nil || sess == nil || sess.Stage != account.StageFull {
		return complaints.Reviewer{}, false, c.Redirect(http.StatusSeeOther, "/"+lang+"/account/login/?next="+url.QueryEscape("/"+lang+"/complaints/queue/"))
	}
	return s.reviewer(c), true, nil
}

func row(lang string, it complaints.QueueItem, me string) queueRow {
	return queueRow{Number: it.Number, State: it.State, Opened: dateOf(it.OpenedAt), AckBy: dateOf(it.AcknowledgeBy),
		DecideBy: dateOf(it.DecideBy), Overdue: it.Overdue, Mine: it.AssigneeID != "" && it.AssigneeID == me,
		URL: "/" + lang + "/complaints/case/?number=" + url.QueryEscape(it.Number)}
}

// queueError renders a refusal of the queue pages: 403 for members outside
// the handling group.
func (s *Server) queueError(c *echo.Context, lang, page string, err error, v queueView) error {
	switch {
	case errors.Is(err, complaints.ErrForbidden):
		v.Error, v.Case, v.Cases = "forbidden", nil, nil
		return s.renderPage(c, lang, page, http.StatusForbidden, v)
	case errors.Is(err, complaints.ErrNotFound):
		v.Error = "not_found"
		return s.renderPage(c, lang, page, http.StatusNotFound, v)
	case errors.Is(err, complaints.ErrConflict):
		v.Error = "conflict"
		return s.renderPage(c, lang, page, http.StatusConflict, v)
	}
	var ref *complaints.Refusal
	if errors.As(err, &ref) {
		v.Error = ref.Code
		apiErr, _ := complaintError(err).(*Error)
		return s.renderPage(c, lang, page, apiErr.Status, v)
	}
	return err
}

func (s *Server) queuePage(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		r, ok, err := s.reviewerOr(c, lang)
		if !ok {
			return err
		}
		v := queueView{State: c.QueryParam("state"), Sort: c.QueryParam("sort"), States: complaints.States}
		if !slices.Contains(complaints.States, v.State) {
			v.State = ""
		}
		items, err := s.complaints.Queue(c.Request().Context(), r, complaints.Filter{State: v.State, Oldest: v.Sort != "newest"})
		if err != nil {
			return s.queueError(c, lang, "queue", err, v)
		}
		for _, it := range items {
			v.Cases = append(v.Cases, row(lang, it, r.User.ID))
		}
		return s.renderPage(c, lang, "queue", http.StatusOK, v)
	}
}

func (s *Server) caseView(c *echo.Context, lang string, r complaints.Reviewer, number string, v queueView) (queueView, error) {
	d, err := s.complaints.Get(c.Request().Context(), r, number)
	if err != nil {
		return v, err
	}
	k := d.Case
	cv := &caseView{queueRow: row(lang, d.QueueItem, r.User.ID), Lang: k.Lang, Domain: k.Domain, Name: k.Name,
		Organisation: k.Organisation, Email: k.Email, Relation: k.Relation, Explanation: k.Explanation,
		Assignee: k.AssigneeID, Decision: k.DecisionText, Open: k.Open(), Erased: !k.ErasedAt.IsZero(),
		ProposedByMe: k.ProposedBy == r.User.ID}
	if k.Outcome != "" {
		cv.Outcome, cv.Reason = complaints.Label(k.Outcome, lang), complaints.Label(k.Reason, lang)
	}
	if k.ProposedOutcome != "" {
		cv.Proposed = complaints.Label(k.ProposedOutcome, lang) + " " + complaints.Label(k.ProposedReason, lang)
	}
	for _, e := range d.Entries {
		cv.Entries = append(cv.Entries, entryView{Kind: e.Kind, Date: dateOf(e.At), Text: e.Text, Template: e.Template})
	}
	v.Case, v.Templates = cv, complaints.TemplateNames()
	v.Outcomes = nil
	for _, o := range complaints.OutcomeNames() {
		ov := outcomeView{Code: o, Label: complaints.Label(o, lang)}
		for _, rc := range complaints.Reasons(o) {
			ov.Reasons = append(ov.Reasons, reasonView{Code: o + "/" + rc, Label: complaints.Label(rc, lang)})
		}
		v.Outcomes = append(v.Outcomes, ov)
	}
	if v.CSRF == "" {
		v.CSRF = s.csrfToken(c)
	}
	return v, nil
}

func (s *Server) casePage(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		r, ok, err := s.reviewerOr(c, lang)
		if !ok {
			return err
		}
		v, err := s.caseView(c, lang, r, c.QueryParam("number"), queueView{})
		if err != nil {
			return s.queueError(c, lang, "case", err, v)
		}
		return s.renderPage(c, lang, "case", http.StatusOK, v)
	}
}

func (s *Server) casePost(lang string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.complaints == nil {
			return echo.ErrNotFound
		}
		r, ok, err := s.reviewerOr(c, lang)
		if !ok {
			return err
		}
		if refused, err := parsePageForm(c); err != nil {
			return err
		} else if refused != "" {
			return s.queueError(c, lang, "case", &complaints.Refusal{Code: refused}, queueView{})
		}
		req := c.Request()
		ctx := req.Context()
		number, action := req.PostFormValue("number"), req.PostFormValue("action")
		if !s.formAllowed(c) {
			v, err := s.caseView(c, lang, r, number, queueView{Error: "csrf"})
			if err != nil {
				return s.queueError(c, lang, "case", err, v)
			}
			return s.renderPage(c, lang, "case", http.StatusForbidden, v)
		}
		switch action {
		case "assign":
			_, err = s.complaints.Assign(ctx, r, number, "")
		case "note":
			_, err = s.complaints.Note(ctx, r, number, req.PostFormValue("text"))
		case "message":
			_, err = s.complaints.Message(ctx, r, number, req.PostFormValue("template"), req.PostFormValue("text"))
		case "decide":
			outcome, reason, _ := strings.Cut(req.PostFormValue("decision"), "/")
			_, err = s.complaints.Decide(ctx, r, number, complaints.Decision{Outcome: outcome, Reason: reason, Text: req.PostFormValue("text")})
		case "confirm":
			_, err = s.complaints.ConfirmDecision(ctx, r, number)
		case "withdraw":
			_, err = s.complaints.WithdrawDecision(ctx, r, number)
		default:
			err = &complaints.Refusal{Code: "invalid_action", Message: "Unknown action."}
		}
		v := queueView{Notice: action}
		if err != nil {
			var ref *complaints.Refusal
			if !errors.As(err, &ref) && !errors.Is(err, complaints.ErrConflict) {
				return s.queueError(c, lang, "case", err, queueView{})
			}
			v.Notice = ""
			v.Error = "conflict"
			if ref != nil {
				v.Error = ref.Code
			}
		}
		status := http.StatusOK
		if v.Error != "" {
			status = http.StatusBadRequest
			if apiErr, ok := complaintError(err).(*Error); ok {
				status = apiErr.Status
			}
		}
		v, gerr := s.caseView(c, lang, r, number, v)
		if gerr != nil {
			return s.queueError(c, lang, "case", gerr, v)
		}
		return s.renderPage(c, lang, "case", status, v)
	}
}
