package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/language"
	"portal/training"
)

// progressError maps the training package's errors to the API's.
func progressError(err error) error {
	var invalid *training.ValidationError
	switch {
	case errors.As(err, &invalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_" + invalid.Field, Message: invalid.Reason, Err: err}
	case errors.Is(err, training.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such training module.", Err: err}
	case errors.Is(err, training.ErrForbidden):
		return errForbidden()
	}
	return err
}

// dateFormat is how dates without a time are written: the issue date of a
// completion, the day of an export.
const dateFormat = "2006-01-02"

type completionView struct {
	// Code is the verification code, for its owner only; absent when it
	// can no longer be derived.
	Code     string    `json:"code,omitempty"`
	IssuedAt time.Time `json:"issuedAt"`
	Lang     string    `json:"lang"`
	// Issued is true in the answer of the request that issued it.
	Issued bool `json:"issued"`
	// ExpiresAt (a date) ends the completion's validity; absent for none.
	// Validity: "current", "expiring" (the renewal banner shows) or
	// "expired".
	ExpiresAt string `json:"expiresAt,omitempty"`
	Validity  string `json:"validity"`
}

type progressView struct {
	Module       string          `json:"module"`
	LessonsDone  []string        `json:"lessonsDone"`
	LessonsTotal int             `json:"lessonsTotal"`
	BestScore    *int            `json:"bestScore"` // null before any attempt
	Attempts     int             `json:"attempts"`
	PassMark     int             `json:"passMark"`
	HasQuiz      bool            `json:"hasQuiz"`
	Passed       bool            `json:"passed"`
	Completion   *completionView `json:"completion"` // null until issued
}

func viewProgress(p *training.Progress) progressView {
	v := progressView{Module: p.Module, LessonsDone: p.LessonsDone, LessonsTotal: p.LessonsTotal, Attempts: p.Attempts,
		PassMark: p.PassMark, HasQuiz: p.HasQuiz, Passed: p.Passed}
	if p.Attempts > 0 {
		best := p.BestScore
		v.BestScore = &best
	}
	if c := p.Completion; c != nil {
		v.Completion = &completionView{Code: c.Code, IssuedAt: c.IssuedAt, Lang: c.Lang, Issued: c.New, Validity: string(c.Validity)}
		if !c.ExpiresAt.IsZero() {
			v.Completion.ExpiresAt = c.ExpiresAt.UTC().Format(dateFormat)
		}
	}
	return v
}

// trainingLang checks the optional language of a training request: the
// language of the page the learner is on, for the completion record.
func trainingLang(lang string) (string, error) {
	if lang != "" && !language.Valid(lang) {
		return "", badRequest("invalid_lang", `"lang" must be one of `+strings.Join(language.All(), ", ")+".")
	}
	return lang, nil
}

// POST /api/training/progress {"module", "lesson", "done" (default true),
// "lang"}: records a lesson as done (or not), idempotently.
func (s *Server) markLesson(c *echo.Context) error {
	var in struct {
		Module string `json:"module"`
		Lesson string `json:"lesson"`
		Done   *bool  `json:"done"`
		Lang   string `json:"lang"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	lang, err := trainingLang(in.Lang)
	if err != nil {
		return err
	}
	if in.Lesson == "" {
		return badRequest("invalid_lesson", `Name the lesson in "lesson".`)
	}
	done := in.Done == nil || *in.Done
	p, err := s.training.MarkLesson(c.Request().Context(), currentUser(c), in.Module, in.Lesson, lang, done, client(c))
	if err != nil {
		return progressError(err)
	}
	return c.JSON(http.StatusOK, viewProgress(p))
}

// POST /api/training/quiz {"module", "answers": {"questionId": ["optionId"]},
// "lang"}: grades the answers here, stores the attempt, and returns the
// score and which questions were right.
func (s *Server) submitQuiz(c *echo.Context) error {
	var in struct {
		Module  string              `json:"module"`
		Answers map[string][]string `json:"answers"`
		Lang    string              `json:"lang"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	lang, err := trainingLang(in.Lang)
	if err != nil {
		return err
	}
	if in.Answers == nil {
		return badRequest("invalid_answers", `Send the chosen option ids per question in "answers".`)
	}
	res, err := s.training.SubmitQuiz(c.Request().Context(), currentUser(c), in.Module, in.Answers, lang, client(c))
	if err != nil {
		return progressError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"module": in.Module, "score": res.Score, "passed": res.Passed, "correct": res.Correct, "total": res.Total,
		"passMark": res.PassMark, "questions": res.Questions, "progress": viewProgress(res.Progress),
	})
}

// GET /api/training/progress?module=
func (s *Server) getProgress(c *echo.Context) error {
	// Every training page asks; an anonymous reader's progress lives in
	// the browser, so the answer is that the server keeps none, not a 401
	// that the browser would log as an error on every page.
	if u, sess := currentUser(c), currentSession(c); u == nil || sess.Stage != account.StageFull {
		return c.NoContent(http.StatusNoContent)
	}
	p, err := s.training.Progress(c.Request().Context(), currentUser(c), c.QueryParam("module"))
	if err != nil {
		return progressError(err)
	}
	return c.JSON(http.StatusOK, viewProgress(p))
}

// GET /api/training/verify?code=: public, throttled. Reveals the module's
// title, the language, the date and the learner's display name; nothing
// else, and the same 404 for malformed and unknown codes.
func (s *Server) verifyCompletion(c *echo.Context) error {
	code := c.QueryParam("code")
	if strings.TrimSpace(code) == "" {
		return badRequest("invalid_parameter", `Parameter "code" is required: the verification code, like K7QX-M2PD-RT9A-4HZC.`)
	}
	if training.IsReceiptCode(code) {
		return s.verifyReceipt(c, code)
	}
	v, err := s.training.Verify(c.Request().Context(), code)
	if err != nil {
		if errors.Is(err, training.ErrNotFound) {
			return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No completion has this verification code.", Err: err}
		}
		return err
	}
	out := map[string]any{
		"moduleTitle": v.ModuleTitle, "lang": v.Lang, "issuedAt": v.IssuedAt.UTC().Format(dateFormat), "learnerName": v.LearnerName,
	}
	if !v.ExpiresAt.IsZero() {
		out["expiresAt"], out["expired"] = v.ExpiresAt.UTC().Format(dateFormat), v.Expired
	}
	return c.JSON(http.StatusOK, out)
}

type statsView struct {
	Module      string              `json:"module"`
	Title       string              `json:"title"`
	PassMark    int                 `json:"passMark"`
	HasQuiz     bool                `json:"hasQuiz"`
	Started     int                 `json:"started"`
	Completed   int                 `json:"completed"`
	Attempts    int                 `json:"attempts"`
	Scores      []bucketView        `json:"scores"`
	MostMissed  []missedView        `json:"mostMissed"`
	Completions []completionRowView `json:"completions"`
	// Validity of the completions today; validityMonths 0: no end.
	ValidityMonths int `json:"validityMonths"`
	Current        int `json:"current"`
	Expiring       int `json:"expiring"`
	Expired        int `json:"expired"`
	// Graded quizzes only (empty otherwise).
	AttemptGroups   []attemptGroupView `json:"attemptGroups"`
	QuestionRates   []questionRateView `json:"questionRates"`
	Receipts        int                `json:"receipts"`
	ReceiptsRevoked int                `json:"receiptsRevoked"`
}

type attemptGroupView struct {
	Version  string  `json:"moduleVersion"`
	Lang     string  `json:"lang"`
	Attempts int     `json:"attempts"`
	Passed   int     `json:"passed"`
	PassRate float64 `json:"passRate"`
}

type questionRateView struct {
	Question string  `json:"question"`
	Prompt   string  `json:"prompt"`
	Asked    int     `json:"asked"`
	Correct  int     `json:"correct"`
	PassRate float64 `json:"passRate"`
}

type bucketView struct {
	From     int `json:"from"`
	To       int `json:"to"`
	Learners int `json:"learners"`
}

type missedView struct {
	Question string  `json:"question"`
	Prompt   string  `json:"prompt"`
	Answered int     `json:"answered"`
	Missed   int     `json:"missed"`
	MissRate float64 `json:"missRate"`
}

type completionRowView struct {
	LearnerName string `json:"learnerName"`
	IssuedAt    string `json:"issuedAt"` // date
	BestScore   int    `json:"bestScore"`
	Lang        string `json:"lang"`
	ExpiresAt   string `json:"expiresAt,omitempty"` // date
	Validity    string `json:"validity"`
}

func viewStats(st *training.Stats) statsView {
	v := statsView{Module: st.Module, Title: st.Title, PassMark: st.PassMark, HasQuiz: st.HasQuiz, Started: st.Started,
		Completed: st.Completed, Attempts: st.Attempts, Scores: []bucketView{}, MostMissed: []missedView{},
		Completions: []completionRowView{}, ValidityMonths: st.ValidityMonths, Current: st.Current, Expiring: st.Expiring,
		Expired: st.Expired, AttemptGroups: []attemptGroupView{}, QuestionRates: []questionRateView{},
		Receipts: st.Receipts, ReceiptsRevoked: st.ReceiptsRevoked}
	for _, g := range st.Groups {
		v.AttemptGroups = append(v.AttemptGroups, attemptGroupView{Version: g.Version, Lang: g.Lang, Attempts: g.Attempts,
			Passed: g.Passed, PassRate: float64(g.Passed) / float64(max(g.Attempts, 1))})
	}
	for _, q := range st.Questions {
		v.QuestionRates = append(v.QuestionRates, questionRateView{Question: q.Question, Prompt: q.Prompt, Asked: q.Asked,
			Correct: q.Correct, PassRate: q.Rate})
	}
	for _, b := range st.Scores {
		v.Scores = append(v.Scores, bucketView{From: b.From, To: b.To, Learners: b.Learners})
	}
	for _, m := range st.MostMissed {
		v.MostMissed = append(v.MostMissed, missedView{Question: m.Question, Prompt: m.Prompt, Answered: m.Answered,
			Missed: m.Missed, MissRate: m.Rate})
	}
	for _, c := range st.Completions {
		row := completionRowView{LearnerName: c.LearnerName,
			IssuedAt: c.IssuedAt.UTC().Format(dateFormat), BestScore: c.BestScore, Lang: c.Lang, Validity: string(c.Validity)}
		if !c.ExpiresAt.IsZero() {
			row.ExpiresAt = c.ExpiresAt.UTC().Format(dateFormat)
		}
		v.Completions = append(v.Completions, row)
	}
	return v
}

// GET /api/training/stats?module=: trainers and admins, for modules they
// may see.
func (s *Server) trainingStats(c *echo.Context) error {
	st, err := s.training.Stats(c.Request().Context(), currentUser(c), c.QueryParam("module"))
	if err != nil {
		return progressError(err)
	}
	return c.JSON(http.StatusOK, viewStats(st))
}

// statsCSVHeader is the CSV export's header row. Each row is one figure:
//
//	learners,started|completed|quiz attempts,<n>,,,
//	score,<from>-<to>,<learners>,,,
//	missed question,<id>: <prompt>,<missed>,<answered>,<miss rate>,
//	completion,<learner's display name>,<best score>,,,<date>
//	validity,current|expiring|expired,<n>,,,
//	graded attempts,<module version> <lang>,<passed>,<attempts>,<pass rate>,
//	question pass rate,<id>: <prompt>,<correct>,<asked>,<pass rate>,
//	receipts,issued|revoked,<n>,,,
const statsCSVHeader = "section,item,value,total,rate,date"

// GET /api/training/stats.csv?module=: the same numbers as a CSV download.
// Cells that a spreadsheet would read as a formula are prefixed with a
// quote (OWASP CSV injection).
func (s *Server) trainingStatsCSV(c *echo.Context) error {
	st, err := s.training.Export(c.Request().Context(), currentUser(c), c.QueryParam("module"), client(c))
	if err != nil {
		return progressError(err)
	}
	rows := [][]string{strings.Split(statsCSVHeader, ",")}
	write := func(cells ...string) { rows = append(rows, cells) }
	itoa := strconv.Itoa
	write("learners", "started", itoa(st.Started), "", "", "")
	write("learners", "completed", itoa(st.Completed), "", "", "")
	write("learners", "quiz attempts", itoa(st.Attempts), "", "", "")
	for _, b := range st.Scores {
		write("score", fmt.Sprintf("%d-%d", b.From, b.To), itoa(b.Learners), "", "", "")
	}
	for _, m := range st.MostMissed {
		write("missed question", m.Question+": "+m.Prompt, itoa(m.Missed), itoa(m.Answered),
			strconv.FormatFloat(m.Rate, 'f', 3, 64), "")
	}
	for _, r := range st.Completions {
		write("completion", r.LearnerName, itoa(r.BestScore), "", "", r.IssuedAt.UTC().Format(dateFormat))
	}
	if st.ValidityMonths > 0 {
		write("validity", "current", itoa(st.Current), "", "", "")
		write("validity", "expiring", itoa(st.Expiring), "", "", "")
		write("validity", "expired", itoa(st.Expired), "", "", "")
	}
	rate := func(a, b int) string { return strconv.FormatFloat(float64(a)/float64(max(b, 1)), 'f', 3, 64) }
	for _, g := range st.Groups {
		write("graded attempts", g.Version+" "+g.Lang, itoa(g.Passed), itoa(g.Attempts), rate(g.Passed, g.Attempts), "")
	}
	for _, q := range st.Questions {
		write("question pass rate", q.Question+": "+q.Prompt, itoa(q.Correct), itoa(q.Asked), rate(q.Correct, q.Asked), "")
	}
	if len(st.Groups) > 0 || st.Receipts > 0 {
		write("receipts", "issued", itoa(st.Receipts), "", "", "")
		write("receipts", "revoked", itoa(st.ReceiptsRevoked), "", "", "")
	}
	return sendCSV(c, "training-"+st.Module, rows)
}

// sendCSV writes rows (the first is the header) as a formula-safe CSV
// download.
func sendCSV(c *echo.Context, name string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for i, row := range rows {
		if i > 0 {
			for j := range row {
				row[j] = csvSafe(row[j])
			}
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", attachment(fmt.Sprintf("%s-%s.csv", name, time.Now().UTC().Format(dateFormat))))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// csvSafe defuses a cell that a spreadsheet would evaluate: one starting
// with =, +, -, @, a tab or a carriage return gets a leading quote.
func csvSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
