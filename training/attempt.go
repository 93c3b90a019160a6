package training

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"portal/account"
)

// Graded attempts. A graded quiz is marked only through an attempt the
// portal started: it draws the attempt's questions from the quiz's pool
// and shuffles their options from a random seed that it keeps and never
// sends, so the same attempt always shows the same sheet and two attempts
// (almost always) differ. Learners are members (by account) or public
// learners (by a keyed hash of their address, for the hourly limit only).

var (
	// ErrLimited: the learner started as many attempts as the quiz allows
	// in an hour (429).
	ErrLimited = errors.New("training: attempt limit reached")
	// ErrAttemptClosed: the attempt was already submitted or has expired
	// (409).
	ErrAttemptClosed = errors.New("training: attempt closed")
	// ErrUnavailable: the quiz's answer key is not loaded (503).
	ErrUnavailable = errors.New("training: quiz cannot be marked")
)

// AttemptTTL is how long a started attempt may be answered.
const AttemptTTL = 2 * time.Hour

// Draw is an attempt as the store keeps it.
type Draw struct {
	ID      string // 16 random bytes, hex: the attempt's handle
	Learner string // "user:<id>" or "anon:<keyed hash of the address>"
	UserID  string // "" for a public learner
	Module  string
	Version string // the module's version when it started
	Lang    string
	Seed    []byte // 32 bytes
	Started time.Time
	// Set when submitted.
	Submitted time.Time
	Score     int
	Passed    bool
	Results   []QuestionResult
}

// Open reports whether the attempt may still be answered at now.
func (d *Draw) Open(now time.Time) bool {
	return d.Submitted.IsZero() && now.Before(d.Started.Add(AttemptTTL))
}

// DrawnQuestion is one question of an attempt, with its options in the
// order the attempt shows them.
type DrawnQuestion struct {
	ID      string
	Options []string
}

// drawQuestions picks and orders an attempt's questions from seed: per
// topic when the quiz says so (topics in name order, each topic's
// questions shuffled and the first n kept), else Pick of all, else all;
// then the kept questions and each one's options are shuffled.
func drawQuestions(m *Module, seed []byte) []DrawnQuestion {
	var key [32]byte
	copy(key[:], seed)
	r := mrand.New(mrand.NewChaCha8(key))
	ids := func(qs []Question) []string {
		out := make([]string, len(qs))
		for i, q := range qs {
			out[i] = q.ID
		}
		return out
	}
	var picked []string
	switch {
	case len(m.Quiz.PickTopics) > 0:
		topics := make([]string, 0, len(m.Quiz.PickTopics))
		for t := range m.Quiz.PickTopics {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			var pool []string
			for _, q := range m.Questions {
				if q.Topic == t {
					pool = append(pool, q.ID)
				}
			}
			r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			picked = append(picked, pool[:min(m.Quiz.PickTopics[t], len(pool))]...)
		}
	default:
		picked = ids(m.Questions)
		r.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
		if m.Quiz.Pick > 0 && m.Quiz.Pick < len(picked) {
			picked = picked[:m.Quiz.Pick]
		}
	}
	r.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	out := make([]DrawnQuestion, 0, len(picked))
	for _, id := range picked {
		opts := slices.Clone(m.question(id).Options)
		r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
		out = append(out, DrawnQuestion{ID: id, Options: opts})
	}
	return out
}

// Sheet is an attempt as the learner sees it: the drawn questions in the
// learner's language, no key.
type Sheet struct {
	Attempt   string
	Module    string
	Lang      string
	PassMark  int
	ExpiresAt time.Time
	Questions []SheetQuestion
}

// SheetQuestion is one question of a sheet. The HTML comes from the site
// build (the catalogue), never from a learner.
type SheetQuestion struct {
	ID         string
	Multiple   bool
	PromptHTML string
	Options    []SheetOption
}

// SheetOption is one option of a sheet's question.
type SheetOption struct {
	ID       string
	TextHTML string
}

// attemptID matches the attempts' handles.
var attemptID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// learnerKey names the learner an attempt counts against.
func (s *Service) learnerKey(u *account.User, cl Client) string {
	if u != nil {
		return "user:" + u.ID
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("anonymous-learner|" + cl.IP))
	return "anon:" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// gradedModule returns a graded module u may see, with its key loaded.
func (s *Service) gradedModule(u *account.User, id string) (*Module, error) {
	m, err := s.visibleModule(u, id)
	if err != nil {
		return nil, err
	}
	if !m.Quiz.Graded || len(m.Questions) == 0 {
		return nil, invalid("module", "This module has no graded quiz.")
	}
	if m.keyErr != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, m.keyErr)
	}
	return m, nil
}

// StartAttempt starts a graded attempt of a module's quiz for u (nil for a
// public learner, counted by cl's address) and returns its sheet.
func (s *Service) StartAttempt(ctx context.Context, u *account.User, module, lang string, cl Client) (*Sheet, error) {
	m, err := s.gradedModule(u, module)
	if err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	d := &Draw{ID: id, Learner: s.learnerKey(u, cl), Module: m.ID, Version: m.Version, Lang: s.langFor(m, lang), Seed: seed, Started: now}
	if u != nil {
		d.UserID = u.ID
	}
	err = s.st.Update(ctx, func(tx Tx) error {
		n, err := tx.CountDraws(ctx, d.Learner, m.ID, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= m.Quiz.AttemptsPerHour {
			return ErrLimited
		}
		return tx.InsertDraw(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	return s.sheet(m, d), nil
}

// Sheet returns the sheet of an open attempt again (a reload of its page).
func (s *Service) Sheet(ctx context.Context, u *account.User, attempt string) (*Sheet, error) {
	m, d, err := s.openDraw(ctx, u, attempt)
	if err != nil {
		return nil, err
	}
	return s.sheet(m, d), nil
}

func (s *Service) sheet(m *Module, d *Draw) *Sheet {
	sh := &Sheet{Attempt: d.ID, Module: m.ID, Lang: d.Lang, PassMark: m.PassMark, ExpiresAt: d.Started.Add(AttemptTTL)}
	texts := m.textsIn(d.Lang)
	for _, dq := range drawQuestions(m, d.Seed) {
		q := m.question(dq.ID)
		t := texts[dq.ID]
		sq := SheetQuestion{ID: q.ID, Multiple: q.Type == "multiple", PromptHTML: t.promptHTML}
		for _, o := range dq.Options {
			sq.Options = append(sq.Options, SheetOption{ID: o, TextHTML: t.optionsHTML[o]})
		}
		sh.Questions = append(sh.Questions, sq)
	}
	return sh
}

// textsIn returns the question texts in lang, or in the canonical language.
func (m *Module) textsIn(lang string) map[string]questionText {
	if t, ok := m.texts[lang]; ok && len(t) > 0 {
		return t
	}
	return m.texts[m.Langs[0]]
}

// openDraw reads an attempt u may answer.
func (s *Service) openDraw(ctx context.Context, u *account.User, attempt string) (*Module, *Draw, error) {
	if !attemptID.MatchString(attempt) {
		return nil, nil, ErrNotFound
	}
	var d *Draw
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		d, err = tx.Draw(ctx, attempt)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	// A member's attempt is theirs alone; a public learner's belongs to
	// whoever holds its 128-bit handle.
	if d.UserID != "" && (u == nil || u.ID != d.UserID) {
		return nil, nil, ErrNotFound
	}
	m, err := s.gradedModule(u, d.Module)
	if err != nil {
		return nil, nil, err
	}
	if !d.Open(s.now()) {
		return nil, nil, ErrAttemptClosed
	}
	return m, d, nil
}

// AttemptResult is a marked attempt.
type AttemptResult struct {
	Attempt  string
	Module   string
	Lang     string
	Score    int
	Correct  int
	Total    int
	PassMark int
	Passed   bool
	// ShowExplanations: the quiz's feedback rule lets this result explain.
	ShowExplanations bool
	Questions        []AttemptQuestion // in the sheet's order
	// Progress is a member's progress after the attempt; nil for a public
	// learner.
	Progress *Progress
}

// AttemptQuestion is the result of one question. It never names the right
// options: only whether the learner's choice was right and, when the
// feedback rule allows, the trainer's explanation (Markdown as written in
// quiz.yaml; render it as text).
type AttemptQuestion struct {
	ID          string
	PromptHTML  string
	Correct     bool
	Explanation string
}

// SubmitAttempt marks the answers to an open attempt (question id → chosen
// option ids; a question left out is wrong) and closes it. For a member it
// also counts towards the module's completion, like SubmitQuiz.
func (s *Service) SubmitAttempt(ctx context.Context, u *account.User, attempt string, answers map[string][]string, cl Client) (*AttemptResult, error) {
	m, d, err := s.openDraw(ctx, u, attempt)
	if err != nil {
		return nil, err
	}
	drawn := drawQuestions(m, d.Seed)
	for qid, chosen := range answers {
		i := slices.IndexFunc(drawn, func(q DrawnQuestion) bool { return q.ID == qid })
		if i < 0 {
			return nil, invalid("answers", "This attempt has no question "+truncate(qid, 64)+".")
		}
		if len(chosen) > maxChoices {
			return nil, invalid("answers", "Too many options chosen for question "+qid+".")
		}
		for _, o := range chosen {
			if !slices.Contains(drawn[i].Options, o) {
				return nil, invalid("answers", "Question "+qid+" has no option "+truncate(o, 64)+".")
			}
		}
	}
	res := &AttemptResult{Attempt: d.ID, Module: m.ID, Lang: d.Lang, Total: len(drawn), PassMark: m.PassMark}
	texts := m.textsIn(d.Lang)
	for _, dq := range drawn {
		q := m.question(dq.ID)
		ok := sameSet(answers[q.ID], q.Answers)
		if ok {
			res.Correct++
		}
		res.Questions = append(res.Questions, AttemptQuestion{ID: q.ID, PromptHTML: texts[q.ID].promptHTML, Correct: ok})
		d.Results = append(d.Results, QuestionResult{ID: q.ID, Correct: ok})
	}
	res.Score = (res.Correct*200 + res.Total) / (2 * res.Total)
	res.Passed = res.Score >= m.PassMark
	res.ShowExplanations = m.Quiz.Feedback == FeedbackEachAttempt || res.Passed
	if res.ShowExplanations {
		for i := range res.Questions {
			res.Questions[i].Explanation = m.explanation(d.Lang, res.Questions[i].ID)
		}
	}
	d.Submitted, d.Score, d.Passed = s.now().UTC(), res.Score, res.Passed
	err = s.st.Update(ctx, func(tx Tx) error {
		// Closing is conditional: of two concurrent submissions of one
		// attempt, the second finds it closed.
		if err := tx.CloseDraw(ctx, d); err != nil {
			return err
		}
		if u == nil {
			return nil
		}
		if err := tx.InsertAttempt(ctx, &Attempt{UserID: u.ID, Module: m.ID, Lang: d.Lang, Score: res.Score,
			Passed: res.Passed, At: d.Submitted, Results: d.Results}); err != nil {
			return err
		}
		var err error
		if res.Progress, err = s.settle(ctx, tx, u, m, d.Lang); err != nil || !res.Passed {
			return err
		}
		res.Progress, err = s.renew(ctx, tx, u, m, res.Progress)
		return err
	})
	if err != nil {
		return nil, err
	}
	if u != nil {
		s.auditIssued(ctx, u, m, res.Progress, cl)
	}
	return res, nil
}

// explanation returns a question's explanation in lang, or in the
// canonical language, as plain text.
func (m *Module) explanation(lang, id string) string {
	e := strings.TrimSpace(m.explanations[lang][id])
	if e == "" {
		e = strings.TrimSpace(m.explanations[m.Langs[0]][id])
	}
	return PlainText(e)
}

var (
	markdownLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	markdownEmphasis = strings.NewReplacer("**", "", "__", "", "`", "")
)

// PlainText reads the inline Markdown trainers write in quiz.yaml as the
// plain text it shows: a link becomes its words, emphasis marks go. The
// explanations of graded quizzes never pass through Hugo, and every page
// and answer shows them as text.
func PlainText(md string) string {
	md = markdownLink.ReplaceAllString(md, "$1")
	md = markdownEmphasis.Replace(md)
	return strings.TrimSpace(md)
}
