package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"portal/mail"
)

// Mail is the mail outbox (mail.Store) on this database.
type Mail struct {
	db *DB
}

var _ mail.Store = Mail{}

// Mail returns the mail outbox store.
func (db *DB) Mail() Mail { return Mail{db: db} }

// AddMail implements mail.Store.
func (m Mail) AddMail(ctx context.Context, q mail.Queued) error {
	_, err := m.db.writer.ExecContext(ctx, `INSERT INTO mail_outbox
		(message_id, recipient, subject, body, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)`,
		q.MessageID, q.To, q.Subject, q.Text, fmtTime(q.Date), fmtTime(q.Date))
	if err != nil {
		return fmt.Errorf("store: add mail: %w", err)
	}
	return nil
}

// ClaimMail implements mail.Store in one write transaction, so that two
// processes never claim the same message.
func (m Mail) ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]mail.Queued, error) {
	var out []mail.Queued
	err := m.db.update(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, message_id, recipient, subject, body, created_at, attempts
			FROM mail_outbox WHERE next_at <= ? ORDER BY next_at, id LIMIT ?`, fmtTime(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var q mail.Queued
			var created string
			if err := rows.Scan(&q.ID, &q.MessageID, &q.To, &q.Subject, &q.Text, &created, &q.Attempts); err != nil {
				return err
			}
			if q.Date, err = parseTime(created); err != nil {
				return err
			}
			out = append(out, q)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, q := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET next_at = ? WHERE id = ?`, fmtTime(until), q.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim mail: %w", err)
	}
	return out, nil
}

// RetryMail implements mail.Store.
func (m Mail) RetryMail(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	_, err := m.db.writer.ExecContext(ctx, `UPDATE mail_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?`,
		attempts, fmtTime(next), lastErr, id)
	if err != nil {
		return fmt.Errorf("store: retry mail: %w", err)
	}
	return nil
}

// DeleteMail implements mail.Store.
func (m Mail) DeleteMail(ctx context.Context, id int64) error {
	if _, err := m.db.writer.ExecContext(ctx, `DELETE FROM mail_outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete mail: %w", err)
	}
	return nil
}

// QueuedMail implements mail.Store.
func (m Mail) QueuedMail(ctx context.Context) (int, error) {
	var n int
	if err := m.db.reader.QueryRowContext(ctx, `SELECT count(*) FROM mail_outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count mail: %w", err)
	}
	return n, nil
}

// NextMailAt implements mail.Store.
func (m Mail) NextMailAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullString
	if err := m.db.reader.QueryRowContext(ctx, `SELECT min(next_at) FROM mail_outbox`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next mail: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	t, err := parseTime(next.String)
	return t, err == nil, err
}
