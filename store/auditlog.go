package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"portal/audit"
)

const auditColumns = `id, time, actor, actor_email, action, target, ip, outcome, detail, prev_hash, hash`

func scanEntry(row scanner) (audit.Entry, error) {
	var (
		e  audit.Entry
		ts string
	)
	err := row.Scan(&e.ID, &ts, &e.Actor, &e.ActorEmail, &e.Action, &e.Target, &e.IP, &e.Outcome,
		&e.Detail, &e.PrevHash, &e.Hash)
	if err != nil {
		return audit.Entry{}, err
	}
	e.Time, err = parseTime(ts)
	return e, err
}

const (
	qAuditLast   = `SELECT ` + auditColumns + ` FROM audit_log ORDER BY id DESC LIMIT 1`
	qAuditInsert = `INSERT INTO audit_log (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// AppendAudit implements audit.Store: the read of the last entry and the
// insert happen in one IMMEDIATE transaction, so the chain cannot fork.
func (db *DB) AppendAudit(ctx context.Context, next func(last audit.Entry) []audit.Entry) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		stmts := db.writerStmts.bind(tx)
		last, err := scanEntry(stmts.queryRow(ctx, qAuditLast))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, e := range next(last) {
			if e.ID != last.ID+1 {
				return fmt.Errorf("audit entry id %d does not follow %d", e.ID, last.ID)
			}
			_, err = stmts.exec(ctx, qAuditInsert,
				e.ID, fmtTime(e.Time), e.Actor, e.ActorEmail, e.Action, e.Target, e.IP, e.Outcome, e.Detail, e.PrevHash, e.Hash)
			if err != nil {
				return err
			}
			last = e
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

// ListAudit implements audit.Store.
func (db *DB) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Entry, int, error) {
	var (
		where []string
		args  []any
	)
	if f.Actor != "" {
		where = append(where, `(actor = ? OR actor_email = ?)`)
		args = append(args, f.Actor, strings.ToLower(f.Actor))
	}
	if f.Action != "" {
		where = append(where, `action = ?`)
		args = append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where = append(where, `time >= ?`)
		args = append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `time < ?`)
		args = append(args, fmtTime(f.Until))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}

	var (
		out   []audit.Entry
		total int
	)
	err := db.view(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_log`+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log`+cond+` ORDER BY id DESC LIMIT ? OFFSET ?`,
			append(args, f.Limit, f.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit: %w", err)
	}
	return out, total, nil
}

// ScanAudit implements audit.Store. It reads one snapshot of the log.
func (db *DB) ScanAudit(ctx context.Context, fn func(audit.Entry) error) error {
	return db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
		if err != nil {
			return fmt.Errorf("store: scan audit: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return fmt.Errorf("store: scan audit: %w", err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
