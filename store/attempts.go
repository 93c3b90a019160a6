package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"portal/training"
)

// Graded quiz attempts, receipts and renewal reminders (migration 0015):
// what training.Tx needs of them. Counts use count(CASE …) rather than
// sum(), which PostgreSQL answers as numeric.

func (t progressTx) InsertDraw(ctx context.Context, d *training.Draw) error {
	var user any
	if d.UserID != "" {
		user = d.UserID
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO training_attempts (id, learner, user_id, module, module_version, lang, seed, started_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.Learner, user, d.Module, d.Version, d.Lang, d.Seed, fmtTime(d.Started))
	if err != nil {
		return fmt.Errorf("store: insert graded attempt: %w", err)
	}
	return nil
}

func (t progressTx) Draw(ctx context.Context, id string) (*training.Draw, error) {
	var (
		d               training.Draw
		user, submitted sql.NullString
		started         string
		score, passed   sql.NullInt64
	)
	err := t.tx.QueryRowContext(ctx, `SELECT id, learner, user_id, module, lang, seed, started_at, submitted_at, score, passed
		FROM training_attempts WHERE id = ?`, id).Scan(&d.ID, &d.Learner, &user, &d.Module, &d.Lang, &d.Seed,
		&started, &submitted, &score, &passed)
	if err != nil {
		return nil, progressErr(err)
	}
	d.UserID = user.String
	if d.Started, err = parseTime(started); err != nil {
		return nil, err
	}
	if submitted.Valid {
		if d.Submitted, err = parseTime(submitted.String); err != nil {
			return nil, err
		}
	}
	d.Score, d.Passed = int(score.Int64), passed.Int64 == 1
	return &d, nil
}

func (t progressTx) CountDraws(ctx context.Context, learner, module string, since time.Time) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM training_attempts
		WHERE learner = ? AND module = ? AND started_at >= ?`, learner, module, fmtTime(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count graded attempts: %w", err)
	}
	return n, nil
}

func (t progressTx) CloseDraw(ctx context.Context, d *training.Draw) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE training_attempts SET submitted_at = ?, score = ?, passed = ?
		WHERE id = ? AND submitted_at IS NULL`, fmtTime(d.Submitted), d.Score, boolInt(d.Passed), d.ID)
	if err != nil {
		return fmt.Errorf("store: close graded attempt: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: close graded attempt: %w", err)
	} else if n == 0 {
		return training.ErrAttemptClosed
	}
	for _, r := range d.Results {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO training_attempt_answers (attempt_id, question, correct)
			VALUES (?, ?, ?)`, d.ID, r.ID, boolInt(r.Correct)); err != nil {
			return fmt.Errorf("store: graded attempt answer: %w", err)
		}
	}
	return nil
}

func (t progressTx) MarkDrawReceipted(ctx context.Context, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE training_attempts SET receipt_at = ? WHERE id = ? AND receipt_at IS NULL`,
		fmtTime(at), id)
	if err != nil {
		return fmt.Errorf("store: mark receipt: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: mark receipt: %w", err)
	} else if n == 0 {
		return training.ErrAttemptClosed
	}
	return nil
}

func (t progressTx) InsertReceipt(ctx context.Context, r *training.ReceiptRecord) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO training_receipts (code_hash, module, lang, issued_at) VALUES (?, ?, ?, ?)`,
		r.CodeHash, r.Module, r.Lang, fmtTime(r.IssuedAt))
	if err != nil {
		return fmt.Errorf("store: insert receipt: %w", err)
	}
	return nil
}

func (t progressTx) Receipt(ctx context.Context, codeHash string) (*training.ReceiptRecord, error) {
	var (
		r       training.ReceiptRecord
		issued  string
		revoked sql.NullString
	)
	err := t.tx.QueryRowContext(ctx, `SELECT code_hash, module, lang, issued_at, revoked_at FROM training_receipts
		WHERE code_hash = ?`, codeHash).Scan(&r.CodeHash, &r.Module, &r.Lang, &issued, &revoked)
	if err != nil {
		return nil, progressErr(err)
	}
	if r.IssuedAt, err = parseTime(issued); err != nil {
		return nil, err
	}
	if revoked.Valid {
		if r.RevokedAt, err = parseTime(revoked.String); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

func (t progressTx) RevokeReceipt(ctx context.Context, r *training.ReceiptRecord) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO training_receipts (code_hash, module, lang, issued_at, revoked_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (code_hash) DO UPDATE SET revoked_at = excluded.revoked_at
		WHERE training_receipts.revoked_at IS NULL`,
		r.CodeHash, r.Module, r.Lang, fmtTime(r.IssuedAt), fmtTime(r.RevokedAt))
	if err != nil {
		return fmt.Errorf("store: revoke receipt: %w", err)
	}
	return nil
}

// validFrom is where a completion's validity period starts: its latest
// renewal, or its issue.
const validFrom = `coalesce((SELECT max(r.renewed_at) FROM training_renewals r WHERE r.completion_id = c.id), c.issued_at)`

func (t progressTx) DueReminders(ctx context.Context, module string, validBefore time.Time) ([]training.Reminder, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT c.id, c.module, c.module_title, c.lang, `+validFrom+`, u.email, u.display_name
		FROM training_completions c
		JOIN users u ON u.id = c.user_id
		WHERE c.module = ? AND u.disabled = 0 AND `+validFrom+` <= ?
		AND NOT EXISTS (SELECT 1 FROM training_reminders m WHERE m.completion_id = c.id AND m.valid_from = `+validFrom+`)
		ORDER BY c.issued_at, c.id`, module, fmtTime(validBefore))
	if err != nil {
		return nil, fmt.Errorf("store: due reminders: %w", err)
	}
	defer rows.Close()
	var out []training.Reminder
	for rows.Next() {
		var (
			r  training.Reminder
			at string
		)
		if err := rows.Scan(&r.CompletionID, &r.Module, &r.ModuleTitle, &r.Lang, &at, &r.Email, &r.LearnerName); err != nil {
			return nil, fmt.Errorf("store: due reminders: %w", err)
		}
		if r.ValidFrom, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t progressTx) ClaimReminder(ctx context.Context, r *training.Reminder, at time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO training_reminders (completion_id, valid_from, sent_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, r.CompletionID, fmtTime(r.ValidFrom), fmtTime(at))
	if err != nil {
		return false, fmt.Errorf("store: claim reminder: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim reminder: %w", err)
	}
	return n == 1, nil
}

func (t progressTx) UnclaimReminder(ctx context.Context, r *training.Reminder) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM training_reminders WHERE completion_id = ? AND valid_from = ?`,
		r.CompletionID, fmtTime(r.ValidFrom)); err != nil {
		return fmt.Errorf("store: release reminder: %w", err)
	}
	return nil
}

func (t progressTx) RenewCompletion(ctx context.Context, completionID string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO training_renewals (completion_id, renewed_at) VALUES (?, ?)
		ON CONFLICT DO NOTHING`, completionID, fmtTime(at)); err != nil {
		return fmt.Errorf("store: renew completion: %w", err)
	}
	return nil
}

func (t progressTx) AttemptGroups(ctx context.Context, module string) ([]training.AttemptGroup, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT module_version, lang, count(*), count(CASE WHEN passed = 1 THEN 1 END)
		FROM training_attempts WHERE module = ? AND submitted_at IS NOT NULL
		GROUP BY module_version, lang ORDER BY module_version, lang`, module)
	if err != nil {
		return nil, fmt.Errorf("store: attempt groups: %w", err)
	}
	defer rows.Close()
	var out []training.AttemptGroup
	for rows.Next() {
		var g training.AttemptGroup
		if err := rows.Scan(&g.Version, &g.Lang, &g.Attempts, &g.Passed); err != nil {
			return nil, fmt.Errorf("store: attempt groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (t progressTx) GradedTallies(ctx context.Context, module string) ([]training.QuestionTally, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT a.question, count(*), count(CASE WHEN a.correct = 0 THEN 1 END)
		FROM training_attempt_answers a JOIN training_attempts t ON t.id = a.attempt_id
		WHERE t.module = ? GROUP BY a.question ORDER BY a.question`, module)
	if err != nil {
		return nil, fmt.Errorf("store: graded tallies: %w", err)
	}
	defer rows.Close()
	var out []training.QuestionTally
	for rows.Next() {
		var q training.QuestionTally
		if err := rows.Scan(&q.Question, &q.Answered, &q.Missed); err != nil {
			return nil, fmt.Errorf("store: graded tallies: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

func (t progressTx) ReceiptCounts(ctx context.Context, module string) (issued, revoked int, err error) {
	err = t.tx.QueryRowContext(ctx, `SELECT count(*), count(revoked_at) FROM training_receipts WHERE module = ?`,
		module).Scan(&issued, &revoked)
	if err != nil {
		return 0, 0, fmt.Errorf("store: receipt counts: %w", err)
	}
	return issued, revoked, nil
}
