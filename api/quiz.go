package api

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/language"
	"portal/training"
)

// Graded quizzes: the attempts API, and the same attempts for readers
// without JavaScript as HTML forms posted to the quiz page, whose result the
// portal renders into that page (its <template id="portal-quiz-template">,
// site/layouts/_partials/training/quiz-graded.html), as it renders the
// search page (site.go).

func (s *Server) quizRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/training/attempts", policy: Public, handler: s.startAttempt},
		{method: http.MethodGet, path: "/training/attempts/:id", policy: Public, handler: s.getAttempt},
		{method: http.MethodPost, path: "/training/attempts/:id/answers", policy: Public, handler: s.answerAttempt},
	}
}

// learner is the member a training request counts for, or nil for a public
// learner (also a member whose login is not complete).
func learner(c *echo.Context) *account.User {
	if u, sess := currentUser(c), currentSession(c); u != nil && sess != nil && sess.Stage == account.StageFull {
		return u
	}
	return nil
}

// attemptError maps the attempt errors; the rest as progressError.
func attemptError(err error) error {
	switch {
	case errors.Is(err, training.ErrLimited):
		return &Error{Status: http.StatusTooManyRequests, Code: "attempt_limit", RetryAfter: 600,
			Message: "You have started as many attempts as this quiz allows in an hour. Try again later.", Err: err}
	case errors.Is(err, training.ErrAttemptClosed):
		return &Error{Status: http.StatusConflict, Code: "attempt_closed",
			Message: "This attempt was already submitted or has expired. Start a new one.", Err: err}
	case errors.Is(err, training.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: "quiz_unavailable",
			Message: "This quiz cannot be marked at the moment.", Err: err}
	case errors.Is(err, training.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such training module or attempt.", Err: err}
	}
	return progressError(err)
}

type sheetView struct {
	Attempt   string              `json:"attempt"`
	Module    string              `json:"module"`
	Lang      string              `json:"lang"`
	PassMark  int                 `json:"passMark"`
	ExpiresAt time.Time           `json:"expiresAt"`
	Questions []sheetQuestionView `json:"questions"`
}

type sheetQuestionView struct {
	ID       string            `json:"id"`
	Multiple bool              `json:"multiple"`
	Prompt   string            `json:"prompt"` // HTML from the site build
	Options  []sheetOptionView `json:"options"`
}

type sheetOptionView struct {
	ID   string `json:"id"`
	Text string `json:"text"` // HTML from the site build
}

func viewSheet(sh *training.Sheet) sheetView {
	v := sheetView{Attempt: sh.Attempt, Module: sh.Module, Lang: sh.Lang, PassMark: sh.PassMark, ExpiresAt: sh.ExpiresAt,
		Questions: []sheetQuestionView{}}
	for _, q := range sh.Questions {
		qv := sheetQuestionView{ID: q.ID, Multiple: q.Multiple, Prompt: q.PromptHTML, Options: []sheetOptionView{}}
		for _, o := range q.Options {
			qv.Options = append(qv.Options, sheetOptionView{ID: o.ID, Text: o.TextHTML})
		}
		v.Questions = append(v.Questions, qv)
	}
	return v
}

type attemptResultView struct {
	Attempt          string                `json:"attempt"`
	Module           string                `json:"module"`
	Lang             string                `json:"lang"`
	Score            int                   `json:"score"`
	Correct          int                   `json:"correct"`
	Total            int                   `json:"total"`
	PassMark         int                   `json:"passMark"`
	Passed           bool                  `json:"passed"`
	ShowExplanations bool                  `json:"showExplanations"`
	Questions        []attemptQuestionView `json:"questions"`
	Progress         *progressView         `json:"progress"` // null for public learners
}

type attemptQuestionView struct {
	ID          string `json:"id"`
	Correct     bool   `json:"correct"`
	Explanation string `json:"explanation,omitempty"` // plain text
}

func viewAttemptResult(r *training.AttemptResult) attemptResultView {
	v := attemptResultView{Attempt: r.Attempt, Module: r.Module, Lang: r.Lang, Score: r.Score, Correct: r.Correct,
		Total: r.Total, PassMark: r.PassMark, Passed: r.Passed, ShowExplanations: r.ShowExplanations,
		Questions: []attemptQuestionView{}}
	for _, q := range r.Questions {
		v.Questions = append(v.Questions, attemptQuestionView{ID: q.ID, Correct: q.Correct, Explanation: q.Explanation})
	}
	if r.Progress != nil {
		p := viewProgress(r.Progress)
		v.Progress = &p
	}
	return v
}

// POST /api/training/attempts {"module", "lang"}: starts a graded attempt
// for the member or public learner and answers its sheet.
func (s *Server) startAttempt(c *echo.Context) error {
	var in struct {
		Module string `json:"module"`
		Lang   string `json:"lang"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	lang, err := trainingLang(in.Lang)
	if err != nil {
		return err
	}
	sh, err := s.training.StartAttempt(c.Request().Context(), learner(c), in.Module, lang, client(c))
	if err != nil {
		return attemptError(err)
	}
	return c.JSON(http.StatusCreated, viewSheet(sh))
}

// GET /api/training/attempts/:id: the sheet of an open attempt again.
func (s *Server) getAttempt(c *echo.Context) error {
	sh, err := s.training.Sheet(c.Request().Context(), learner(c), c.Param("id"))
	if err != nil {
		return attemptError(err)
	}
	return c.JSON(http.StatusOK, viewSheet(sh))
}

// POST /api/training/attempts/:id/answers {"answers": {"questionId":
// ["optionId"]}}: marks the attempt and closes it.
func (s *Server) answerAttempt(c *echo.Context) error {
	var in struct {
		Answers map[string][]string `json:"answers"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Answers == nil {
		return badRequest("invalid_answers", `Send the chosen option ids per question in "answers".`)
	}
	res, err := s.training.SubmitAttempt(c.Request().Context(), learner(c), c.Param("id"), in.Answers, client(c))
	if err != nil {
		return attemptError(err)
	}
	return c.JSON(http.StatusOK, viewAttemptResult(res))
}

// The no-JavaScript form: markers and template of the graded quiz page.
const (
	quizMarkerOpen  = "<!--portal:quiz-->"
	quizMarkerClose = "<!--/portal:quiz-->"
	quizTemplateTag = `<template id="portal-quiz-template">`
)

// quizView is the data of the page's template.
type quizView struct {
	Error     string // "", "limit", "expired", "unavailable", "invalid"
	Action    string
	Attempt   string
	Questions []quizQuestionView
	Result    *quizResultView
	// ReceiptAttempt is a public learner's passed attempt: the page offers
	// its receipt. Receipt is the receipt just issued.
	ReceiptAttempt string
	ReceiptLater   bool
	Receipt        *quizReceiptView
}

type quizReceiptView struct {
	Code, VerifyURL, CertificateURL string
}

type quizQuestionView struct {
	ID       string
	Number   int
	Total    int
	Multiple bool
	Prompt   template.HTML
	Options  []quizOptionView
}

type quizOptionView struct {
	ID   string
	Text template.HTML
}

type quizResultView struct {
	Score, Correct, Total int
	Passed                bool
	ShowExplanations      bool
	Questions             []quizResultQuestion
}

type quizResultQuestion struct {
	ID          string
	Number      int
	Prompt      template.HTML
	Correct     bool
	Explanation string
}

// quizPagePath reports whether name is a public module's quiz page,
// /<lang>/training/<module>/quiz/, and returns its parts.
func quizPagePath(name string) (lang, module string, ok bool) {
	parts := strings.Split(strings.Trim(name, "/"), "/")
	if len(parts) != 4 || parts[1] != "training" || parts[3] != "quiz" || !language.Valid(parts[0]) || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// quizForm answers a graded quiz page's form (POST /<lang>/training/<module>/quiz/):
// step=start starts an attempt and shows its questions; step=answer with
// attempt=<id> and q-<question>=<option> fields marks it and shows the
// result. The page comes back in the reader's language with the status of
// the outcome.
func (s *Server) quizForm(c *echo.Context) error {
	req := c.Request()
	name := path.Clean("/" + req.URL.Path)
	// Members-only modules' quiz pages are in the members build, under
	// /members/, for members whose groups allow the module.
	members := strings.HasPrefix(name, "/members/")
	lang, module, ok := quizPagePath(strings.TrimPrefix(name, "/members"))
	if !ok {
		return s.site.notFound(c, name)
	}
	// A form cannot carry the API's CSRF header; a browser says where the
	// post came from, and only this site's own page may send it.
	if !sameSiteForm(req) {
		return errCrossOrigin()
	}
	var (
		page []byte
		err  error
	)
	if members {
		page, err = s.members.quizPage(learner(c), lang, module)
	} else {
		page, err = s.site.root.ReadFile(path.Join(strings.TrimPrefix(name, "/"), "index.html"))
	}
	if err != nil {
		return s.site.notFound(c, name)
	}
	before, tmpl, after, err := parseQuizShell(page)
	if err != nil {
		// Not a graded quiz page: nothing here takes a form.
		return fromStatus(http.StatusMethodNotAllowed, err)
	}
	if err := req.ParseForm(); err != nil {
		return badRequest("invalid_form", "The form could not be read.")
	}
	ctx, u, cl := req.Context(), learner(c), client(c)
	view := quizView{Action: name + "/"}
	status := http.StatusOK
	switch req.PostForm.Get("step") {
	case "start":
		sh, err := s.training.StartAttempt(ctx, u, module, lang, cl)
		if err != nil {
			view.Error, status = s.quizFormError(err)
			break
		}
		view.Attempt, view.ReceiptLater = sh.Attempt, u == nil
		for i, q := range sh.Questions {
			qv := quizQuestionView{ID: q.ID, Number: i + 1, Total: len(sh.Questions), Multiple: q.Multiple,
				// Safe: HTML the site build wrote from the trainers' Markdown.
				Prompt: template.HTML(q.PromptHTML)}
			for _, o := range q.Options {
				qv.Options = append(qv.Options, quizOptionView{ID: o.ID, Text: template.HTML(o.TextHTML)})
			}
			view.Questions = append(view.Questions, qv)
		}
	case "answer":
		answers := formAnswers(req.PostForm)
		res, err := s.training.SubmitAttempt(ctx, u, req.PostForm.Get("attempt"), answers, cl)
		if err != nil {
			view.Error, status = s.quizFormError(err)
			break
		}
		rv := &quizResultView{Score: res.Score, Correct: res.Correct, Total: res.Total, Passed: res.Passed,
			ShowExplanations: res.ShowExplanations}
		for i, q := range res.Questions {
			rv.Questions = append(rv.Questions, quizResultQuestion{ID: q.ID, Number: i + 1,
				Prompt: template.HTML(q.PromptHTML), Correct: q.Correct, Explanation: q.Explanation})
		}
		view.Result = rv
		if res.Passed && u == nil {
			view.ReceiptAttempt = res.Attempt
		}
	case "receipt":
		attempt := req.PostForm.Get("attempt")
		r, err := s.training.IssueReceipt(ctx, attempt, req.PostForm.Get("name"))
		var bad *training.ValidationError
		switch {
		case errors.As(err, &bad) && bad.Field == "name":
			view.Error, status, view.ReceiptAttempt = "name", http.StatusBadRequest, attempt
		case err != nil:
			view.Error, status = s.quizFormError(err)
		default:
			view.Receipt = &quizReceiptView{Code: r.Code, VerifyURL: verifyPath(r.Lang, r.Code),
				CertificateURL: certificatePath(r.Lang, r.Code)}
		}
	default:
		view.Error, status = "invalid", http.StatusBadRequest
	}
	var buf bytes.Buffer
	buf.Write(before)
	if err := tmpl.Execute(&buf, view); err != nil {
		return fmt.Errorf("render quiz: %w", err)
	}
	buf.Write(after)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// quizFormError is the page's error word and status for err; unexpected
// errors are logged.
func (s *Server) quizFormError(err error) (string, int) {
	switch {
	case errors.Is(err, training.ErrLimited):
		return "limit", http.StatusTooManyRequests
	case errors.Is(err, training.ErrAttemptClosed), errors.Is(err, training.ErrNotFound):
		return "expired", http.StatusConflict
	case errors.Is(err, training.ErrInvalid):
		return "invalid", http.StatusBadRequest
	}
	s.log.Error("graded quiz form", "error", err)
	return "unavailable", http.StatusServiceUnavailable
}

// formAnswers reads q-<question>=<option> fields.
func formAnswers(form url.Values) map[string][]string {
	out := map[string][]string{}
	for k, v := range form {
		if id, ok := strings.CutPrefix(k, "q-"); ok {
			out[id] = v
		}
	}
	return out
}

// sameSiteForm reports whether a form post comes from this site, by the
// browser's own word (browserSite). A post that says nothing is refused:
// every browser that runs this site sends one or the other.
func sameSiteForm(req *http.Request) bool { return browserSite(req) == siteSame }

// parseQuizShell splits a graded quiz page around its markers and parses its
// template.
func parseQuizShell(page []byte) (before []byte, tmpl *template.Template, after []byte, err error) {
	return splitShell(page, quizMarkerOpen, quizMarkerClose, quizTemplateTag)
}
