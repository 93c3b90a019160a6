package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"portal/training"
)

// Progress is the training progress store (training.Store) on this
// database.
type Progress struct {
	db *DB
}

var _ training.Store = Progress{}

// Progress returns the training progress store.
func (db *DB) Progress() Progress { return Progress{db: db} }

// View implements training.Store on the read pool.
func (p Progress) View(ctx context.Context, fn func(training.Tx) error) error {
	return p.db.view(ctx, func(tx *sql.Tx) error {
		return fn(progressTx{tx})
	})
}

// Update implements training.Store on the single writer connection.
func (p Progress) Update(ctx context.Context, fn func(training.Tx) error) error {
	return p.db.update(ctx, func(tx *sql.Tx) error {
		return fn(progressTx{tx})
	})
}

// progressTx implements training.Tx.
type progressTx struct {
	tx *sql.Tx
}

func progressErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return training.ErrNotFound
	}
	return err
}

func (t progressTx) MarkLesson(ctx context.Context, userID, module, lesson string, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO training_lessons_done (user_id, module, lesson, done_at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, userID, module, lesson, fmtTime(at))
	if err != nil {
		return fmt.Errorf("store: mark lesson: %w", err)
	}
	return nil
}

func (t progressTx) UnmarkLesson(ctx context.Context, userID, module, lesson string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM training_lessons_done WHERE user_id = ? AND module = ? AND lesson = ?`,
		userID, module, lesson)
	if err != nil {
		return fmt.Errorf("store: unmark lesson: %w", err)
	}
	return nil
}

func (t progressTx) LessonsDone(ctx context.Context, userID, module string) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT lesson FROM training_lessons_done WHERE user_id = ? AND module = ?
		ORDER BY lesson`, userID, module)
	if err != nil {
		return nil, fmt.Errorf("store: lessons done: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("store: lessons done: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (t progressTx) InsertAttempt(ctx context.Context, a *training.Attempt) error {
	// RETURNING, not LastInsertId, which PostgreSQL's driver lacks.
	var id int64
	err := t.tx.QueryRowContext(ctx, `INSERT INTO training_quiz_attempts (user_id, module, lang, score, passed, submitted_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, a.UserID, a.Module, a.Lang, a.Score, a.Passed, fmtTime(a.At)).Scan(&id)
	if err != nil {
		return fmt.Errorf("store: insert quiz attempt: %w", err)
	}
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO training_quiz_answers (attempt_id, question, correct) VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("store: insert quiz answers: %w", err)
	}
	defer stmt.Close()
	for _, r := range a.Results {
		if _, err := stmt.ExecContext(ctx, id, r.ID, r.Correct); err != nil {
			return fmt.Errorf("store: insert quiz answer: %w", err)
		}
	}
	return nil
}

func (t progressTx) BestScore(ctx context.Context, userID, module string) (int, int, error) {
	var (
		best     sql.NullInt64
		attempts int
	)
	err := t.tx.QueryRowContext(ctx, `SELECT max(score), count(*) FROM training_quiz_attempts
		WHERE user_id = ? AND module = ?`, userID, module).Scan(&best, &attempts)
	if err != nil {
		return 0, 0, fmt.Errorf("store: best score: %w", err)
	}
	return int(best.Int64), attempts, nil
}

const completionColumns = `c.id, c.user_id, c.module, c.module_title, c.lang, c.code_hash, c.best_score, c.issued_at, u.display_name,
	(SELECT max(r.renewed_at) FROM training_renewals r WHERE r.completion_id = c.id)`

func scanCompletion(row scanner) (*training.Completion, error) {
	var (
		c       training.Completion
		at      string
		renewed sql.NullString
	)
	if err := row.Scan(&c.ID, &c.UserID, &c.Module, &c.ModuleTitle, &c.Lang, &c.CodeHash, &c.BestScore, &at, &c.LearnerName, &renewed); err != nil {
		return nil, progressErr(err)
	}
	var err error
	if c.IssuedAt, err = parseTime(at); err != nil {
		return nil, err
	}
	if renewed.Valid {
		if c.RenewedAt, err = parseTime(renewed.String); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func (t progressTx) Completion(ctx context.Context, userID, module string) (*training.Completion, error) {
	return scanCompletion(t.tx.QueryRowContext(ctx, `SELECT `+completionColumns+`
		FROM training_completions c JOIN users u ON u.id = c.user_id
		WHERE c.user_id = ? AND c.module = ?`, userID, module))
}

func (t progressTx) InsertCompletion(ctx context.Context, c *training.Completion) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO training_completions
		(id, user_id, module, module_title, lang, code_hash, best_score, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Module, c.ModuleTitle, c.Lang, c.CodeHash, c.BestScore, fmtTime(c.IssuedAt))
	if err != nil {
		return fmt.Errorf("store: insert completion: %w", err)
	}
	return nil
}

func (t progressTx) CompletionByCode(ctx context.Context, codeHash string) (*training.Completion, error) {
	return scanCompletion(t.tx.QueryRowContext(ctx, `SELECT `+completionColumns+`
		FROM training_completions c JOIN users u ON u.id = c.user_id
		WHERE c.code_hash = ?`, codeHash))
}

func (t progressTx) Started(ctx context.Context, module string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT user_id FROM training_lessons_done WHERE module = ?
		UNION
		SELECT user_id FROM training_quiz_attempts WHERE module = ?) AS learners`, module, module).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: learners started: %w", err)
	}
	return n, nil
}

func (t progressTx) Attempts(ctx context.Context, module string) (int, error) {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM training_quiz_attempts WHERE module = ?`, module).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: quiz attempts: %w", err)
	}
	return n, nil
}

func (t progressTx) BestScores(ctx context.Context, module string) ([]int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT max(score) FROM training_quiz_attempts WHERE module = ?
		GROUP BY user_id`, module)
	if err != nil {
		return nil, fmt.Errorf("store: best scores: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var s int
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: best scores: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t progressTx) QuestionTallies(ctx context.Context, module string) ([]training.QuestionTally, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT a.question, count(*), CAST(sum(1 - a.correct) AS BIGINT)
		FROM training_quiz_answers a JOIN training_quiz_attempts q ON q.id = a.attempt_id
		WHERE q.module = ? GROUP BY a.question ORDER BY a.question`, module)
	if err != nil {
		return nil, fmt.Errorf("store: question tallies: %w", err)
	}
	defer rows.Close()
	var out []training.QuestionTally
	for rows.Next() {
		var q training.QuestionTally
		if err := rows.Scan(&q.Question, &q.Answered, &q.Missed); err != nil {
			return nil, fmt.Errorf("store: question tallies: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

func (t progressTx) Completions(ctx context.Context, module string) ([]training.Completion, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+completionColumns+`
		FROM training_completions c JOIN users u ON u.id = c.user_id
		WHERE c.module = ? ORDER BY c.issued_at, c.id`, module)
	if err != nil {
		return nil, fmt.Errorf("store: completions: %w", err)
	}
	defer rows.Close()
	var out []training.Completion
	for rows.Next() {
		c, err := scanCompletion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}
