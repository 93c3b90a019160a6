package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"portal/account"
	"portal/complaints"
)

// Complaints is the complaints procedure's store (complaints.Store) on
// this database.
type Complaints struct {
	db *DB
}

var _ complaints.Store = Complaints{}

// Complaints returns the complaints store.
func (db *DB) Complaints() Complaints { return Complaints{db: db} }

// cmpErr maps a missing row to complaints.ErrNotFound.
func cmpErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, account.ErrNotFound) {
		return complaints.ErrNotFound
	}
	return err
}

// AddSubmission implements complaints.Store.
func (s Complaints) AddSubmission(ctx context.Context, sub complaints.Submission, a complaints.Attempt) error {
	f := sub.Form
	return s.db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_submissions
			(token_hash, lang, domain, name, organisation, email, relation, explanation, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.TokenHash, f.Lang, f.Domain, f.Name, f.Organisation, f.Email, f.Relation, f.Explanation,
			fmtTime(sub.CreatedAt), fmtTime(sub.ExpiresAt)); err != nil {
			return fmt.Errorf("store: add submission: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_attempts (addr_key, domain, created_at) VALUES (?, ?, ?)`,
			a.AddrKey, a.Domain, fmtTime(a.At)); err != nil {
			return fmt.Errorf("store: add attempt: %w", err)
		}
		return nil
	})
}

// CountAttempts implements complaints.Store.
func (s Complaints) CountAttempts(ctx context.Context, addrKey, domain string, since time.Time) (byAddr, byDomain int, err error) {
	err = s.db.reader.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM complaint_attempts WHERE addr_key = ? AND created_at >= ?),
		(SELECT count(*) FROM complaint_attempts WHERE domain = ? AND created_at >= ?)`,
		addrKey, fmtTime(since), domain, fmtTime(since)).Scan(&byAddr, &byDomain)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count attempts: %w", err)
	}
	return byAddr, byDomain, nil
}

// CountOpen implements complaints.Store.
func (s Complaints) CountOpen(ctx context.Context, email string, now time.Time) (int, error) {
	var n int
	err := s.db.reader.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM complaint_cases WHERE email = ? AND closed_at IS NULL) +
		(SELECT count(*) FROM complaint_submissions WHERE email = ? AND expires_at > ?)`,
		email, email, fmtTime(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count open cases: %w", err)
	}
	return n, nil
}

// OpenCase implements complaints.Store: the submission is read, the case
// inserted and the submission deleted in one transaction.
func (s Complaints) OpenCase(ctx context.Context, tokenHash string, now time.Time, build func(complaints.Submission) complaints.Case, statusHash string) (complaints.Case, error) {
	var c complaints.Case
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		var sub complaints.Submission
		var created, expires string
		f := &sub.Form
		err := tx.QueryRowContext(ctx, `SELECT token_hash, lang, domain, name, organisation, email, relation, explanation, created_at, expires_at
			FROM complaint_submissions WHERE token_hash = ? AND expires_at > ?`, tokenHash, fmtTime(now)).
			Scan(&sub.TokenHash, &f.Lang, &f.Domain, &f.Name, &f.Organisation, &f.Email, &f.Relation, &f.Explanation, &created, &expires)
		if err != nil {
			return cmpErr(err)
		}
		// A taken number (one in about a million per year) draws again;
		// ON CONFLICT keeps the transaction usable on PostgreSQL too.
		for range 10 {
			c = build(sub)
			err := tx.QueryRowContext(ctx, `INSERT INTO complaint_cases
				(number, status_token_hash, lang, state, domain, name, organisation, email, relation, explanation, opened_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (number) DO NOTHING RETURNING id`,
				c.Number, statusHash, c.Lang, c.State, c.Domain, c.Name, c.Organisation, c.Email, c.Relation, c.Explanation,
				fmtTime(c.OpenedAt)).Scan(&c.ID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("store: insert case: %w", err)
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM complaint_submissions WHERE token_hash = ?`, tokenHash)
			return err
		}
		return errors.New("store: no free case number after 10 draws")
	})
	return c, err
}

const caseColumns = `id, number, lang, state, domain, name, organisation, email, relation, explanation, assignee_id,
	opened_at, acknowledged_at, decided_at, closed_at, outcome, reason, decision_text, decided_by, confirmed_by,
	proposed_outcome, proposed_reason, proposed_text, proposed_by, ack_overdue_mailed_at, decision_overdue_mailed_at,
	erased_at, version`

func scanCase(row scanner) (complaints.Case, error) {
	var c complaints.Case
	var opened string
	var ack, decided, closed, ackMail, decMail, erased sql.NullString
	err := row.Scan(&c.ID, &c.Number, &c.Lang, &c.State, &c.Domain, &c.Name, &c.Organisation, &c.Email, &c.Relation,
		&c.Explanation, &c.AssigneeID, &opened, &ack, &decided, &closed, &c.Outcome, &c.Reason, &c.DecisionText,
		&c.DecidedBy, &c.ConfirmedBy, &c.ProposedOutcome, &c.ProposedReason, &c.ProposedText, &c.ProposedBy,
		&ackMail, &decMail, &erased, &c.Version)
	if err != nil {
		return c, cmpErr(err)
	}
	if c.OpenedAt, err = parseTime(opened); err != nil {
		return c, err
	}
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&c.AcknowledgedAt, ack}, {&c.DecidedAt, decided}, {&c.ClosedAt, closed},
		{&c.AckOverdueMailedAt, ackMail}, {&c.DecisionOverdueMailedAt, decMail}, {&c.ErasedAt, erased}} {
		if *p.dst, err = parseNullTime(p.src); err != nil {
			return c, err
		}
	}
	return c, nil
}

// CaseByNumber implements complaints.Store.
func (s Complaints) CaseByNumber(ctx context.Context, number string) (complaints.Case, error) {
	return scanCase(s.db.reader.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM complaint_cases WHERE number = ?`, number))
}

// CaseByStatusToken implements complaints.Store.
func (s Complaints) CaseByStatusToken(ctx context.Context, tokenHash string) (complaints.Case, error) {
	return scanCase(s.db.reader.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM complaint_cases WHERE status_token_hash = ?`, tokenHash))
}

// UpdateCase implements complaints.Store. Personal data is not written
// here: only the review's fields change.
func (s Complaints) UpdateCase(ctx context.Context, c complaints.Case) error {
	res, err := s.db.writer.ExecContext(ctx, `UPDATE complaint_cases SET state = ?, assignee_id = ?,
		acknowledged_at = ?, decided_at = ?, closed_at = ?, outcome = ?, reason = ?, decision_text = ?,
		decided_by = ?, confirmed_by = ?, proposed_outcome = ?, proposed_reason = ?, proposed_text = ?, proposed_by = ?,
		version = version + 1
		WHERE id = ? AND version = ?`,
		c.State, c.AssigneeID, nullTime(c.AcknowledgedAt), nullTime(c.DecidedAt), nullTime(c.ClosedAt),
		c.Outcome, c.Reason, c.DecisionText, c.DecidedBy, c.ConfirmedBy,
		c.ProposedOutcome, c.ProposedReason, c.ProposedText, c.ProposedBy, c.ID, c.Version)
	if err != nil {
		return fmt.Errorf("store: update case: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: update case: %w", err)
	} else if n == 0 {
		return complaints.ErrConflict
	}
	return nil
}

// AddEntry implements complaints.Store.
func (s Complaints) AddEntry(ctx context.Context, e complaints.Entry) error {
	_, err := s.db.writer.ExecContext(ctx, `INSERT INTO complaint_entries (case_id, kind, author_id, template, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, e.CaseID, e.Kind, e.AuthorID, e.Template, e.Text, fmtTime(e.At))
	if err != nil {
		return fmt.Errorf("store: add entry: %w", err)
	}
	return nil
}

// Entries implements complaints.Store, oldest first.
func (s Complaints) Entries(ctx context.Context, caseID int64) ([]complaints.Entry, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, case_id, kind, author_id, template, body, created_at
		FROM complaint_entries WHERE case_id = ? ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("store: entries: %w", err)
	}
	defer rows.Close()
	var out []complaints.Entry
	for rows.Next() {
		var e complaints.Entry
		var at string
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Kind, &e.AuthorID, &e.Template, &e.Text, &at); err != nil {
			return nil, fmt.Errorf("store: entries: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListCases implements complaints.Store.
func (s Complaints) ListCases(ctx context.Context, f complaints.Filter) ([]complaints.Case, error) {
	q := `SELECT ` + caseColumns + ` FROM complaint_cases`
	var args []any
	if f.State != "" {
		q += ` WHERE state = ?`
		args = append(args, f.State)
	}
	if f.Oldest {
		q += ` ORDER BY opened_at, id`
	} else {
		q += ` ORDER BY opened_at DESC, id DESC`
	}
	rows, err := s.db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list cases: %w", err)
	}
	defer rows.Close()
	var out []complaints.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimOverdueMail implements complaints.Store: the conditional update is
// the claim, so that only one pass mails a case's lateness.
func (s Complaints) ClaimOverdueMail(ctx context.Context, caseID int64, kind string, now time.Time) (bool, error) {
	col := "ack_overdue_mailed_at"
	if kind == "decision" {
		col = "decision_overdue_mailed_at"
	}
	res, err := s.db.writer.ExecContext(ctx, `UPDATE complaint_cases SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL`,
		fmtTime(now), caseID)
	if err != nil {
		return false, fmt.Errorf("store: claim overdue mail: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Erase implements complaints.Store.
func (s Complaints) Erase(ctx context.Context, closedBefore, now time.Time) (int, error) {
	var n int64
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		cut := fmtTime(closedBefore)
		if _, err := tx.ExecContext(ctx, `DELETE FROM complaint_entries WHERE case_id IN
			(SELECT id FROM complaint_cases WHERE closed_at < ? AND erased_at IS NULL)`, cut); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE complaint_cases SET domain = '', name = '', organisation = '', email = '',
			relation = '', explanation = '', decision_text = '', proposed_text = '', status_token_hash = NULL, erased_at = ?
			WHERE closed_at < ? AND erased_at IS NULL`, fmtTime(now), cut)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM complaint_submissions WHERE expires_at <= ?`, fmtTime(now)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM complaint_attempts WHERE created_at < ?`, fmtTime(now.Add(-48*time.Hour)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: erase complaints: %w", err)
	}
	return int(n), nil
}
