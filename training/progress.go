// Package training records logged-in learners' progress through the training
// modules: lessons done, quiz attempts graded here (never trusting a score
// the browser computed), completion records with a verification code, and
// the numbers trainers see per module.
//
// What a module holds (its lessons, answer key and pass mark) comes from the
// catalogue files the Hugo builds write (Catalogue). Records live in SQLite
// behind the Store interface.
//
// Documented choices:
//   - Who may record progress in, or see the numbers of, a module is decided
//     by access.CanSee through account.User.Subject, as for research records. A
//     module one may not see is ErrNotFound, like one that does not exist.
//   - Progress is per module id, the same in every language; lessons and
//     questions are identified by their ids in the canonical language.
//   - A completion is issued once per learner and module, at the moment the
//     last lesson is done and the best quiz score reaches the pass mark (in
//     either order). Its verification code is derived from a random record
//     id with a keyed hash (HMAC-SHA-256 under a key derived from the
//     portal's secret key), so that the database holds only the code's
//     SHA-256 and its owner can still be shown it later. 80 bits, written as
//     four groups of four Crockford base-32 characters.
//   - A verification reveals the module's title, the language it was taken
//     in, the date and the learner's display name; nothing else.
package training

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
)

// Errors. The API maps them to statuses; compare with errors.Is.
var (
	// ErrNotFound: no such module, or one the user may not see (404); also
	// an unknown verification code.
	ErrNotFound = errors.New("progress: not found")
	// ErrInvalid wraps a *ValidationError (400).
	ErrInvalid = errors.New("progress: invalid input")
	// ErrForbidden: the user's role may not do this (403).
	ErrForbidden = errors.New("progress: forbidden")
)

// ValidationError names a field and says, in words safe to show the user,
// what is wrong with it. It wraps ErrInvalid.
type ValidationError struct {
	Field, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Reason)
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// Audit actions recorded by the package.
const (
	ActionCompletion  = "training.completion"
	ActionStatsExport = "training.stats_export"
)

// Store persists progress. Each call of fn runs in one transaction.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is the set of queries available inside a transaction. Lookups of a
// missing record return ErrNotFound.
type Tx interface {
	// MarkLesson records a lesson as done; marking it again changes
	// nothing (the first time is kept).
	MarkLesson(ctx context.Context, userID, module, lesson string, at time.Time) error
	// UnmarkLesson removes the mark, if any.
	UnmarkLesson(ctx context.Context, userID, module, lesson string) error
	// LessonsDone returns the lessons the user marked done in the module.
	LessonsDone(ctx context.Context, userID, module string) ([]string, error)
	// InsertAttempt stores a graded quiz attempt with its per-question
	// results.
	InsertAttempt(ctx context.Context, a *Attempt) error
	// BestScore returns the user's best score in the module's quiz and the
	// number of attempts (0, 0 when none).
	BestScore(ctx context.Context, userID, module string) (best, attempts int, err error)
	// Completion returns the user's completion of the module.
	Completion(ctx context.Context, userID, module string) (*Completion, error)
	InsertCompletion(ctx context.Context, c *Completion) error
	// CompletionByCode returns the completion whose code has this SHA-256
	// (hex), with the learner's display name.
	CompletionByCode(ctx context.Context, codeHash string) (*Completion, error)

	// Started counts the learners with any lesson done or quiz attempt in
	// the module.
	Started(ctx context.Context, module string) (int, error)
	// BestScores returns each learner's best score in the module's quiz.
	BestScores(ctx context.Context, module string) ([]int, error)
	// QuestionTallies returns, per question, how often it was answered and
	// missed over all attempts.
	QuestionTallies(ctx context.Context, module string) ([]QuestionTally, error)
	// Completions returns the module's completions, oldest first, with the
	// learners' display names.
	Completions(ctx context.Context, module string) ([]Completion, error)
	// Attempts counts the module's quiz attempts.
	Attempts(ctx context.Context, module string) (int, error)

	// InsertDraw stores a started graded attempt.
	InsertDraw(ctx context.Context, d *Draw) error
	// Draw returns a graded attempt by its handle.
	Draw(ctx context.Context, id string) (*Draw, error)
	// CountDraws counts the graded attempts the learner started in the
	// module since the given time.
	CountDraws(ctx context.Context, learner, module string, since time.Time) (int, error)
	// CloseDraw stores the result of a graded attempt that is still open
	// (not submitted); ErrAttemptClosed when it is not.
	CloseDraw(ctx context.Context, d *Draw) error
	// MarkDrawReceipted records that the attempt's receipt was issued;
	// ErrAttemptClosed when it already was.
	MarkDrawReceipted(ctx context.Context, id string, at time.Time) error
	// InsertReceipt stores what revocation and counts need of a receipt.
	InsertReceipt(ctx context.Context, r *ReceiptRecord) error
	// Receipt returns the record of a receipt by its code's hash.
	Receipt(ctx context.Context, codeHash string) (*ReceiptRecord, error)
	// RevokeReceipt marks a receipt revoked, adding its record when the
	// database does not have it.
	RevokeReceipt(ctx context.Context, r *ReceiptRecord) error

	// DueReminders returns the module's completions whose validity period
	// (from their issue or latest renewal) began at or before the time and
	// whose learners were not reminded in it yet (and are not disabled),
	// with their address.
	DueReminders(ctx context.Context, module string, validBefore time.Time) ([]Reminder, error)
	// ClaimReminder records that the reminder of a completion's validity
	// period is being sent; false when it already was.
	ClaimReminder(ctx context.Context, r *Reminder, at time.Time) (bool, error)
	// UnclaimReminder forgets a claim whose mail could not be queued.
	UnclaimReminder(ctx context.Context, r *Reminder) error
	// RenewCompletion starts a new validity period of a completion.
	RenewCompletion(ctx context.Context, completionID string, at time.Time) error

	// AttemptGroups counts the module's submitted graded attempts and
	// passes by module version and language.
	AttemptGroups(ctx context.Context, module string) ([]AttemptGroup, error)
	// GradedTallies returns, per question, how often graded attempts
	// (public learners' too) asked and missed it.
	GradedTallies(ctx context.Context, module string) ([]QuestionTally, error)
	// ReceiptCounts counts the module's receipts and the revoked ones.
	ReceiptCounts(ctx context.Context, module string) (issued, revoked int, err error)
}

// Attempt is one graded quiz attempt.
type Attempt struct {
	UserID  string
	Module  string
	Lang    string
	Score   int // percent, rounded
	Passed  bool
	At      time.Time
	Results []QuestionResult
}

// QuestionResult is whether one question was answered correctly.
type QuestionResult struct {
	ID      string `json:"id"`
	Correct bool   `json:"correct"`
}

// QuestionTally counts the answers to one question.
type QuestionTally struct {
	Question string
	Answered int
	Missed   int
}

// Completion is a learner's completion of a module.
type Completion struct {
	ID          string // 16 random bytes, hex; the code is derived from it
	UserID      string
	Module      string
	ModuleTitle string // in Lang, as it was at issuance
	Lang        string
	CodeHash    string // hex SHA-256 of the code's canonical form
	BestScore   int
	IssuedAt    time.Time
	// LearnerName is the learner's current display name; filled by the
	// store's reads, not stored with the record.
	LearnerName string
	// RenewedAt is the latest renewal (zero for none): the validity
	// counts from it.
	RenewedAt time.Time
}

// ValidFrom is where the completion's validity period starts.
func (c *Completion) ValidFrom() time.Time {
	if c.RenewedAt.After(c.IssuedAt) {
		return c.RenewedAt
	}
	return c.IssuedAt
}

// Options configure a Service.
type Options struct {
	// SecretKey (at least 32 bytes) keys the verification codes. The
	// portal's secret key will do: a key for this use alone is derived from
	// it. Changing it does not invalidate issued codes, but their owners
	// are no longer shown them.
	SecretKey []byte
	// ReceiptKey signs public learners' receipts (LoadReceiptKey); nil
	// issues none.
	ReceiptKey ed25519.PrivateKey
	// Mail queues renewal reminders; PublicURL starts their links.
	Mail      Mailer
	PublicURL string
	Now       func() time.Time // default time.Now
	Logger    *slog.Logger     // default slog.Default()
}

// Service records progress. It is safe for concurrent use.
type Service struct {
	st    Store
	cat   *Catalogue
	audit *audit.Log
	key   []byte
	// receiptKey signs receipts (receipt.go); nil when there is none.
	receiptKey ed25519.PrivateKey
	mail       Mailer
	publicURL  string
	now        func() time.Time
	log        *slog.Logger
}

// New returns a Service.
func New(st Store, cat *Catalogue, log *audit.Log, opts Options) (*Service, error) {
	if st == nil || cat == nil || log == nil {
		return nil, errors.New("progress: store, catalogue and audit log are required")
	}
	if len(opts.SecretKey) < 32 {
		return nil, errors.New("progress: SecretKey must be at least 32 bytes")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{st: st, cat: cat, audit: log, key: deriveKey(opts.SecretKey),
		receiptKey: opts.ReceiptKey, mail: opts.Mail, publicURL: strings.TrimSuffix(opts.PublicURL, "/"),
		now: opts.Now, log: opts.Logger}, nil
}

// Catalogue returns the modules the service knows.
func (s *Service) Catalogue() *Catalogue { return s.cat }

// visibleModule returns the module if u may see it.
func (s *Service) visibleModule(u *account.User, id string) (*Module, error) {
	if id == "" {
		return nil, invalid("module", "Name a training module.")
	}
	m, ok := s.cat.Module(id)
	if !ok || !access.CanSee(u.Subject(), m.Object()) {
		return nil, ErrNotFound
	}
	return m, nil
}

// Progress is a learner's progress in a module.
type Progress struct {
	Module       string
	LessonsDone  []string // in the module's order
	LessonsTotal int
	BestScore    int // meaningful when Attempts > 0
	Attempts     int
	PassMark     int
	HasQuiz      bool
	Passed       bool // best score ≥ pass mark (true for a module without a quiz)
	Completion   *IssuedCompletion
}

// IssuedCompletion is a completion as its owner sees it.
type IssuedCompletion struct {
	// Code is the verification code; "" when it can no longer be derived
	// (the secret key changed since it was issued).
	Code     string
	IssuedAt time.Time
	Lang     string
	// New is true in the answer of the request that issued it.
	New bool
	// ExpiresAt ends the completion's validity (zero for no end);
	// Validity says where it stands: the module's pages show a renewal
	// banner from ReminderLead before the end.
	ExpiresAt time.Time
	Validity  Validity
	// Renewed is true in the answer of the attempt that renewed it.
	Renewed bool
	id      string
}

// Client is where a request came from, for the audit log.
type Client = account.Client

// MarkLesson records that u has done (or, with done false, not done) a
// lesson of a module, and issues the completion if it is now due. Marking a
// lesson twice is the same as marking it once.
func (s *Service) MarkLesson(ctx context.Context, u *account.User, module, lesson, lang string, done bool, cl Client) (*Progress, error) {
	m, err := s.visibleModule(u, module)
	if err != nil {
		return nil, err
	}
	if !m.lesson(lesson) {
		return nil, invalid("lesson", "The module has no such lesson.")
	}
	lang = s.langFor(m, lang)
	var p *Progress
	err = s.st.Update(ctx, func(tx Tx) error {
		var err error
		if done {
			err = tx.MarkLesson(ctx, u.ID, m.ID, lesson, s.now())
		} else {
			err = tx.UnmarkLesson(ctx, u.ID, m.ID, lesson)
		}
		if err != nil {
			return err
		}
		p, err = s.settle(ctx, tx, u, m, lang)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.auditIssued(ctx, u, m, p, cl)
	return p, nil
}

// QuizResult is a graded attempt.
type QuizResult struct {
	Score     int
	Passed    bool
	Correct   int
	Total     int
	PassMark  int
	Questions []QuestionResult // in the quiz's order
	Progress  *Progress
}

// maxChoices bounds the options one answer may list.
const maxChoices = 64

// SubmitQuiz grades u's answers to a module's quiz against the answer key,
// stores the attempt, and issues the completion if it is now due. Answers
// map question ids to the chosen option ids; a question left out counts as
// answered wrongly. Retries are allowed; the best score counts.
func (s *Service) SubmitQuiz(ctx context.Context, u *account.User, module string, answers map[string][]string, lang string, cl Client) (*QuizResult, error) {
	m, err := s.visibleModule(u, module)
	if err != nil {
		return nil, err
	}
	if len(m.Questions) == 0 {
		return nil, invalid("module", "This module has no quiz.")
	}
	if m.Quiz.Graded {
		return nil, invalid("module", "This quiz is marked per attempt: start one with POST /api/training/attempts.")
	}
	for qid, chosen := range answers {
		q := m.question(qid)
		if q == nil {
			return nil, invalid("answers", "The quiz has no question "+truncate(qid, 64)+".")
		}
		if len(chosen) > maxChoices {
			return nil, invalid("answers", "Too many options chosen for question "+qid+".")
		}
		for _, o := range chosen {
			if !slices.Contains(q.Options, o) {
				return nil, invalid("answers", "Question "+qid+" has no option "+truncate(o, 64)+".")
			}
		}
	}
	res := &QuizResult{Total: len(m.Questions), PassMark: m.PassMark}
	for _, q := range m.Questions {
		ok := sameSet(answers[q.ID], q.Answers)
		if ok {
			res.Correct++
		}
		res.Questions = append(res.Questions, QuestionResult{ID: q.ID, Correct: ok})
	}
	res.Score = (res.Correct*200 + res.Total) / (2 * res.Total) // rounded half up
	res.Passed = res.Score >= m.PassMark
	lang = s.langFor(m, lang)
	a := &Attempt{UserID: u.ID, Module: m.ID, Lang: lang, Score: res.Score, Passed: res.Passed, At: s.now(), Results: res.Questions}
	err = s.st.Update(ctx, func(tx Tx) error {
		if err := tx.InsertAttempt(ctx, a); err != nil {
			return err
		}
		var err error
		if res.Progress, err = s.settle(ctx, tx, u, m, lang); err != nil || !res.Passed {
			return err
		}
		res.Progress, err = s.renew(ctx, tx, u, m, res.Progress)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.auditIssued(ctx, u, m, res.Progress, cl)
	return res, nil
}

// Progress returns u's progress in a module.
func (s *Service) Progress(ctx context.Context, u *account.User, module string) (*Progress, error) {
	m, err := s.visibleModule(u, module)
	if err != nil {
		return nil, err
	}
	var p *Progress
	err = s.st.View(ctx, func(tx Tx) error {
		var err error
		p, err = s.read(ctx, tx, u, m)
		return err
	})
	return p, err
}

// read assembles u's progress in m.
func (s *Service) read(ctx context.Context, tx Tx, u *account.User, m *Module) (*Progress, error) {
	done, err := tx.LessonsDone(ctx, u.ID, m.ID)
	if err != nil {
		return nil, err
	}
	best, attempts, err := tx.BestScore(ctx, u.ID, m.ID)
	if err != nil {
		return nil, err
	}
	p := &Progress{Module: m.ID, LessonsTotal: len(m.Lessons), BestScore: best, Attempts: attempts,
		PassMark: m.PassMark, HasQuiz: len(m.Questions) > 0, LessonsDone: []string{}}
	for _, l := range m.Lessons {
		if slices.Contains(done, l.ID) {
			p.LessonsDone = append(p.LessonsDone, l.ID)
		}
	}
	p.Passed = !p.HasQuiz || (attempts > 0 && best >= m.PassMark)
	c, err := tx.Completion(ctx, u.ID, m.ID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		p.Completion = &IssuedCompletion{Code: s.ownerCode(c), IssuedAt: c.IssuedAt, Lang: c.Lang}
		p.Completion.ExpiresAt, p.Completion.Validity = m.validityAt(c.ValidFrom(), s.now())
		p.Completion.id = c.ID
	}
	return p, nil
}

// settle reads u's progress and issues the completion when it is due and
// not yet issued. It runs in the transaction that changed the progress, so
// two concurrent requests cannot both issue one.
func (s *Service) settle(ctx context.Context, tx Tx, u *account.User, m *Module, lang string) (*Progress, error) {
	p, err := s.read(ctx, tx, u, m)
	if err != nil || p.Completion != nil {
		return p, err
	}
	if len(p.LessonsDone) < len(m.Lessons) || !p.Passed {
		return p, nil
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	code := s.codeFor(id)
	c := &Completion{ID: id, UserID: u.ID, Module: m.ID, ModuleTitle: m.Title(lang), Lang: lang,
		CodeHash: hashCode(code), BestScore: p.BestScore, IssuedAt: s.now().UTC()}
	if err := tx.InsertCompletion(ctx, c); err != nil {
		return nil, err
	}
	p.Completion = &IssuedCompletion{Code: code, IssuedAt: c.IssuedAt, Lang: lang, New: true}
	p.Completion.ExpiresAt, p.Completion.Validity = m.validityAt(c.IssuedAt, s.now())
	return p, nil
}

func (s *Service) auditIssued(ctx context.Context, u *account.User, m *Module, p *Progress, cl Client) {
	if p == nil || p.Completion == nil || !p.Completion.New {
		return
	}
	err := s.audit.Record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Action: ActionCompletion,
		Target: "training:" + m.ID, IP: cl.IP, Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("best score %d, pass mark %d, lang %s", p.BestScore, m.PassMark, p.Completion.Lang)})
	if err != nil {
		s.log.Error("audit training completion", "error", err, "module", m.ID)
	}
}

// langFor returns lang if the module exists in it, else its canonical one.
func (s *Service) langFor(m *Module, lang string) string {
	if m.HasLang(lang) {
		return lang
	}
	return m.Langs[0]
}

// Verification is what a verification code reveals.
type Verification struct {
	ModuleTitle string
	Lang        string
	IssuedAt    time.Time
	LearnerName string
	// ExpiresAt is the end of the completion's validity (the module's
	// validityMonths from the issue date); zero for no end.
	ExpiresAt time.Time
	Expired   bool
}

// Verify looks a verification code up. Malformed and unknown codes are
// both ErrNotFound.
func (s *Service) Verify(ctx context.Context, code string) (*Verification, error) {
	canon, ok := NormalizeCode(code)
	if !ok {
		return nil, ErrNotFound
	}
	var c *Completion
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		c, err = tx.CompletionByCode(ctx, hashCode(canon))
		return err
	})
	if err != nil {
		return nil, err
	}
	v := &Verification{ModuleTitle: c.ModuleTitle, Lang: c.Lang, IssuedAt: c.IssuedAt, LearnerName: c.LearnerName}
	if m, ok := s.cat.Module(c.Module); ok && m.ValidityMonths > 0 {
		var state Validity
		v.ExpiresAt, state = m.validityAt(c.ValidFrom(), s.now())
		v.Expired = state == ValidityExpired
	}
	return v, nil
}

func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func sameSet(chosen, key []string) bool {
	a := slices.Clone(chosen)
	slices.Sort(a)
	a = slices.Compact(a)
	b := slices.Clone(key)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
