package store

import (
	"context"
	"fmt"
	"time"
)

// The blob holds of migration 0011: research's upload and collection
// (research/upload.go, research/collect.go) decide with these statements
// which stored originals may go. Each decision is one statement on the
// hash's row, so that on PostgreSQL, where transactions are not
// serialised as on SQLite's single writer, the row lock orders a hold and
// a deletion mark of the same hash.

// HoldBlob adds a holder to sha256's row until until, unless the row is
// being deleted. Holders whose hold expired before now no longer count.
func (t researchTx) HoldBlob(ctx context.Context, sha256 string, now, until time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO blob_holds (sha256, holders, expires_at, deleting) VALUES (?, 1, ?, 0)
		ON CONFLICT (sha256) DO UPDATE SET
			holders = CASE WHEN blob_holds.expires_at < ? THEN 1 ELSE blob_holds.holders + 1 END,
			expires_at = excluded.expires_at
		WHERE blob_holds.deleting = 0`,
		sha256, fmtTime(until), fmtTime(now))
	if err != nil {
		return false, fmt.Errorf("store: hold blob: %w", err)
	}
	return changed(res, "hold blob")
}

// RenewBlobHold extends a live hold on sha256 to until and reports whether
// there was one: the transaction that records a version checks, with the
// row locked, that its file is still held and so still stored.
func (t researchTx) RenewBlobHold(ctx context.Context, sha256 string, until time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE blob_holds SET expires_at = ?
		WHERE sha256 = ? AND deleting = 0 AND holders > 0`, fmtTime(until), sha256)
	if err != nil {
		return false, fmt.Errorf("store: renew blob hold: %w", err)
	}
	return changed(res, "renew blob hold")
}

// ReleaseBlob removes a holder from sha256's row, and the row itself once
// no holder is left and a version names the hash: a recorded file needs no
// row to be kept.
func (t researchTx) ReleaseBlob(ctx context.Context, sha256 string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE blob_holds SET holders = holders - 1
		WHERE sha256 = ? AND deleting = 0 AND holders > 0`, sha256); err != nil {
		return fmt.Errorf("store: release blob: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM blob_holds
		WHERE sha256 = ? AND deleting = 0 AND holders = 0
		AND EXISTS (SELECT 1 FROM research_versions WHERE sha256 = ?)`, sha256, sha256); err != nil {
		return fmt.Errorf("store: release blob: %w", err)
	}
	return nil
}

// MarkBlobDeleting marks sha256's row deleting until until, creating it if
// needed, when no version names the hash and no live hold protects it (or
// a deletion that expired before now is to be taken over), and reports
// whether it did. While marked, HoldBlob refuses the hash.
func (t researchTx) MarkBlobDeleting(ctx context.Context, sha256 string, now, until time.Time) (bool, error) {
	n, u := fmtTime(now), fmtTime(until)
	res, err := t.tx.ExecContext(ctx, `INSERT INTO blob_holds (sha256, holders, expires_at, deleting)
		SELECT ?, 0, ?, 1 WHERE NOT EXISTS (SELECT 1 FROM research_versions WHERE sha256 = ?)
		ON CONFLICT (sha256) DO UPDATE SET holders = 0, expires_at = excluded.expires_at, deleting = 1
		WHERE (blob_holds.deleting = 0 AND (blob_holds.holders = 0 OR blob_holds.expires_at < ?))
		   OR (blob_holds.deleting = 1 AND blob_holds.expires_at < ?)`,
		sha256, u, sha256, n, n)
	if err != nil {
		return false, fmt.Errorf("store: mark blob for deletion: %w", err)
	}
	return changed(res, "mark blob for deletion")
}

// ForgetBlob removes sha256's row once its file is deleted, or once a
// deletion was called off because a version names the hash after all.
func (t researchTx) ForgetBlob(ctx context.Context, sha256 string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM blob_holds WHERE sha256 = ? AND deleting = 1`, sha256); err != nil {
		return fmt.Errorf("store: forget blob: %w", err)
	}
	return nil
}

// ExpiredBlobHolds returns up to limit hashes whose row expired before
// now: holds of instances that died, whose file may or may not have been
// stored, and deletions that did not finish.
func (t researchTx) ExpiredBlobHolds(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT sha256 FROM blob_holds WHERE expires_at < ? ORDER BY expires_at LIMIT ?`,
		fmtTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expired blob holds: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("store: expired blob holds: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: expired blob holds: %w", err)
	}
	return out, nil
}

// BlobHeld reports whether sha256 has a row, live or not: for tests and
// the collection's report.
func (t researchTx) BlobHeld(ctx context.Context, sha256 string) (bool, error) {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM blob_holds WHERE sha256 = ?`, sha256).Scan(&n); err != nil {
		return false, fmt.Errorf("store: blob held: %w", err)
	}
	return n > 0, nil
}

func changed(res interface{ RowsAffected() (int64, error) }, what string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	return n > 0, nil
}
