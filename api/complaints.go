package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"portal/complaints"
)

// complaintRoutes are the complaints procedure's JSON routes (issue 17).
// The complainant's routes are public and carry their token in the body;
// the queue's routes need a member of the handling group, which the
// complaints package checks (complaints.Service.Handles).
func (s *Server) complaintRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/complaints", policy: Public, handler: s.fileComplaint, throttled: true},
		{method: http.MethodPost, path: "/complaints/confirm", policy: Public, handler: s.confirmComplaint, throttled: true},
		{method: http.MethodPost, path: "/complaints/status", policy: Public, handler: s.complaintStatus, throttled: true},
		{method: http.MethodPost, path: "/complaints/messages", policy: Public, handler: s.complainantMessage, throttled: true},
		{method: http.MethodGet, path: "/complaints/statistics", policy: Public, handler: s.complaintStatistics},

		{method: http.MethodGet, path: "/complaints/queue", policy: Member, handler: s.complaintQueue},
		{method: http.MethodGet, path: "/complaints/cases/:number", policy: Member, handler: s.complaintCase},
		{method: http.MethodPost, path: "/complaints/cases/:number/assign", policy: Member, handler: s.assignComplaint},
		{method: http.MethodPost, path: "/complaints/cases/:number/notes", policy: Member, handler: s.noteComplaint},
		{method: http.MethodPost, path: "/complaints/cases/:number/messages", policy: Member, handler: s.messageComplainant},
		{method: http.MethodPost, path: "/complaints/cases/:number/decision", policy: Member, handler: s.decideComplaint},
		{method: http.MethodPost, path: "/complaints/cases/:number/decision/confirm", policy: Member, handler: s.confirmComplaintDecision},
		{method: http.MethodPost, path: "/complaints/cases/:number/decision/withdraw", policy: Member, handler: s.withdrawComplaintDecision},
	}
}

// complaintError turns the complaints package's errors into the API's one
// error shape.
func complaintError(err error) error {
	var ref *complaints.Refusal
	switch {
	case errors.As(err, &ref):
		status := http.StatusBadRequest
		switch ref.Code {
		case "rate_limited", "too_many_open":
			status = http.StatusTooManyRequests
		case "invalid_token":
			status = http.StatusNotFound
		case "case_closed", "second_reviewer_required", "nothing_to_confirm", "decision_pending":
			status = http.StatusConflict
		}
		return &Error{Status: status, Code: ref.Code, Message: ref.Message}
	case errors.Is(err, complaints.ErrForbidden):
		return errForbidden()
	case errors.Is(err, complaints.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such case."}
	case errors.Is(err, complaints.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "The case changed meanwhile; reload it and try again."}
	}
	return err
}

func (s *Server) complaintsOn() error {
	if s.complaints == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "The complaints procedure is not set up on this portal."}
	}
	return nil
}

// attachmentRefused is the answer to a complaint that carries a file.
func attachmentRefused() *Error {
	return badRequest("attachment_refused", "Attachments are not accepted: never send any material.")
}

type complaintRequest struct {
	Lang         string          `json:"lang"`
	Domain       string          `json:"domain"`
	Name         string          `json:"name"`
	Organisation string          `json:"organisation"`
	Email        string          `json:"email"`
	Relation     string          `json:"relation"`
	Explanation  string          `json:"explanation"`
	Attachments  json.RawMessage `json:"attachments,omitempty"`
}

func (s *Server) fileComplaint(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type")); mt == "multipart/form-data" {
		return attachmentRefused()
	}
	var req complaintRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Attachments) > 0 {
		return attachmentRefused()
	}
	f := complaints.Form{Lang: req.Lang, Domain: req.Domain, Name: req.Name, Organisation: req.Organisation,
		Email: req.Email, Relation: req.Relation, Explanation: req.Explanation}
	if err := s.complaints.File(c.Request().Context(), f, complaints.Client{IP: c.RealIP()}); err != nil {
		return complaintError(err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "confirmation_sent"})
}

type tokenRequest struct {
	Token string `json:"token"`
}

func (s *Server) confirmComplaint(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	opened, err := s.complaints.Confirm(c.Request().Context(), req.Token)
	if err != nil {
		return complaintError(err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"number": opened.Case.Number, "lang": opened.Case.Lang})
}

func (s *Server) complaintStatus(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := s.complaints.StatusOf(c.Request().Context(), req.Token)
	if err != nil {
		return complaintError(err)
	}
	return c.JSON(http.StatusOK, statusJSON(st))
}

func (s *Server) complainantMessage(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req struct {
		Token string `json:"token"`
		Text  string `json:"text"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := s.complaints.Reply(c.Request().Context(), req.Token, req.Text)
	if err != nil {
		return complaintError(err)
	}
	return c.JSON(http.StatusOK, statusJSON(st))
}

func (s *Server) complaintStatistics(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	months, err := s.complaints.Statistics(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"months": months})
}

// timeOrNil is a time for JSON: null when it has not happened.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type stageJSON struct {
	Stage string     `json:"stage"`
	At    *time.Time `json:"at"`
}

// stages are the four stages the complainant sees, with their dates.
func stages(st complaints.Status) []stageJSON {
	return []stageJSON{{"received", timeOrNil(st.OpenedAt)}, {"under-review", timeOrNil(st.AcknowledgedAt)},
		{"decision", timeOrNil(st.DecidedAt)}, {"closed", timeOrNil(st.ClosedAt)}}
}

func statusJSON(st complaints.Status) map[string]any {
	msgs := []map[string]any{}
	for _, m := range st.Messages {
		from := "reviewers"
		if m.FromComplainant {
			from = "complainant"
		}
		msgs = append(msgs, map[string]any{"from": from, "text": m.Text, "at": m.At.UTC()})
	}
	out := map[string]any{"number": st.Number, "lang": st.Lang, "state": st.State, "domain": st.Domain, "open": st.Open,
		"stages": stages(st), "messages": msgs, "outcome": nil, "reason": nil, "decision": nil}
	if st.Outcome != "" {
		out["outcome"] = map[string]string{"code": st.Outcome, "label": complaints.Label(st.Outcome, st.Lang)}
		out["reason"] = map[string]string{"code": st.Reason, "label": complaints.Label(st.Reason, st.Lang)}
		out["decision"] = st.Decision
	}
	return out
}

// The queue's side.

func (s *Server) reviewer(c *echo.Context) complaints.Reviewer {
	return complaints.Reviewer{User: currentUser(c), IP: c.RealIP()}
}

func caseJSON(it complaints.QueueItem) map[string]any {
	c := it.Case
	overdue := it.Overdue
	if overdue == nil {
		overdue = []string{}
	}
	out := map[string]any{"number": c.Number, "state": c.State, "lang": c.Lang, "domain": c.Domain, "name": c.Name,
		"organisation": c.Organisation, "email": c.Email, "relation": c.Relation, "explanation": c.Explanation,
		"assigneeId": c.AssigneeID, "openedAt": c.OpenedAt.UTC(), "acknowledgedAt": timeOrNil(c.AcknowledgedAt),
		"decidedAt": timeOrNil(c.DecidedAt), "closedAt": timeOrNil(c.ClosedAt), "outcome": c.Outcome, "reason": c.Reason,
		"decisionText": c.DecisionText, "decidedBy": c.DecidedBy, "confirmedBy": c.ConfirmedBy, "proposed": nil,
		"overdue": overdue, "acknowledgeBy": it.AcknowledgeBy.UTC(), "decideBy": it.DecideBy.UTC(), "erased": !c.ErasedAt.IsZero()}
	if c.ProposedOutcome != "" {
		out["proposed"] = map[string]string{"outcome": c.ProposedOutcome, "reason": c.ProposedReason, "text": c.ProposedText, "by": c.ProposedBy}
	}
	return out
}

func (s *Server) complaintQueue(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	q := c.QueryParams()
	f := complaints.Filter{State: q.Get("state")}
	switch q.Get("sort") {
	case "", "newest":
	case "oldest":
		f.Oldest = true
	default:
		return badRequest("invalid_parameter", `Parameter "sort" must be "oldest" or "newest".`)
	}
	items, err := s.complaints.Queue(c.Request().Context(), s.reviewer(c), f)
	if err != nil {
		return complaintError(err)
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, caseJSON(it))
	}
	return c.JSON(http.StatusOK, map[string]any{"cases": out})
}

func (s *Server) complaintCase(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	d, err := s.complaints.Get(c.Request().Context(), s.reviewer(c), c.Param("number"))
	if err != nil {
		return complaintError(err)
	}
	return c.JSON(http.StatusOK, detailJSON(d))
}

func detailJSON(d complaints.Detail) map[string]any {
	out := caseJSON(d.QueueItem)
	entries := []map[string]any{}
	for _, e := range d.Entries {
		entries = append(entries, map[string]any{"kind": e.Kind, "authorId": e.AuthorID, "template": e.Template, "text": e.Text, "at": e.At.UTC()})
	}
	out["entries"] = entries
	return out
}

// caseAnswer answers an act on a case with the case as it is now.
func (s *Server) caseAnswer(c *echo.Context, done complaints.Case, err error) error {
	if err != nil {
		return complaintError(err)
	}
	d, err := s.complaints.Get(c.Request().Context(), s.reviewer(c), done.Number)
	if err != nil {
		return complaintError(err)
	}
	return c.JSON(http.StatusOK, detailJSON(d))
}

func (s *Server) assignComplaint(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req struct {
		Assignee string `json:"assignee"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	done, err := s.complaints.Assign(c.Request().Context(), s.reviewer(c), c.Param("number"), req.Assignee)
	return s.caseAnswer(c, done, err)
}

func (s *Server) noteComplaint(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	done, err := s.complaints.Note(c.Request().Context(), s.reviewer(c), c.Param("number"), req.Text)
	return s.caseAnswer(c, done, err)
}

func (s *Server) messageComplainant(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req struct {
		Template string `json:"template"`
		Text     string `json:"text"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	done, err := s.complaints.Message(c.Request().Context(), s.reviewer(c), c.Param("number"), req.Template, req.Text)
	return s.caseAnswer(c, done, err)
}

func (s *Server) decideComplaint(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	var req struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
		Text    string `json:"text"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	done, err := s.complaints.Decide(c.Request().Context(), s.reviewer(c), c.Param("number"),
		complaints.Decision{Outcome: req.Outcome, Reason: req.Reason, Text: req.Text})
	return s.caseAnswer(c, done, err)
}

func (s *Server) confirmComplaintDecision(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	done, err := s.complaints.ConfirmDecision(c.Request().Context(), s.reviewer(c), c.Param("number"))
	return s.caseAnswer(c, done, err)
}

func (s *Server) withdrawComplaintDecision(c *echo.Context) error {
	if err := s.complaintsOn(); err != nil {
		return err
	}
	done, err := s.complaints.WithdrawDecision(c.Request().Context(), s.reviewer(c), c.Param("number"))
	return s.caseAnswer(c, done, err)
}
