package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"portal/account"
)

// maxDevices is how many trusted devices a member keeps; the least
// recently used go first.
const maxDevices = 20

// maxGhosts bounds login_ghosts (in the periodic purge, so that a login
// attempt costs the same whatever the table holds); the addresses tried
// least recently go first.
const maxGhosts = 100000

func (t accountTx) InsertDevice(ctx context.Context, d *account.Device) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO devices (id, user_id, created_at, last_used_at, failures, last_failure_at, locked)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, d.ID, d.UserID, fmtTime(d.CreatedAt), fmtTime(d.LastUsedAt), d.Failures,
		nullTime(d.LastFailureAt), d.Locked)
	if err != nil {
		return mapErr(err)
	}
	_, err = t.tx.ExecContext(ctx, `DELETE FROM devices WHERE user_id = ? AND id NOT IN
		(SELECT id FROM devices WHERE user_id = ? ORDER BY last_used_at DESC LIMIT ?)`, d.UserID, d.UserID, maxDevices)
	return mapErr(err)
}

func (t accountTx) DeviceByID(ctx context.Context, id string) (*account.Device, error) {
	var (
		d             account.Device
		created, used string
		lastFailure   sql.NullString
		err           error
	)
	err = t.tx.QueryRowContext(ctx, `SELECT id, user_id, created_at, last_used_at, failures, last_failure_at, locked
		FROM devices WHERE id = ?`, id).Scan(&d.ID, &d.UserID, &created, &used, &d.Failures, &lastFailure, &d.Locked)
	if err != nil {
		return nil, mapErr(err)
	}
	if d.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if d.LastUsedAt, err = parseTime(used); err != nil {
		return nil, err
	}
	if d.LastFailureAt, err = parseNullTime(lastFailure); err != nil {
		return nil, err
	}
	return &d, nil
}

func (t accountTx) SaveDevice(ctx context.Context, d *account.Device) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE devices SET last_used_at = ?, failures = ?, last_failure_at = ?, locked = ?
		WHERE id = ?`, fmtTime(d.LastUsedAt), d.Failures, nullTime(d.LastFailureAt), d.Locked, d.ID)
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) DeleteUserDevices(ctx context.Context, userID string) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM devices WHERE user_id = ?`, userID)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

func (t accountTx) InsertUnlockLink(ctx context.Context, tokenHash, userID string, created, expires time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO unlock_links (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, fmtTime(created), fmtTime(expires))
	return mapErr(err)
}

func (t accountTx) LastUnlockLinkAt(ctx context.Context, userID string) (time.Time, error) {
	var last sql.NullString
	if err := t.tx.QueryRowContext(ctx, `SELECT max(created_at) FROM unlock_links WHERE user_id = ?`, userID).Scan(&last); err != nil {
		return time.Time{}, mapErr(err)
	}
	return parseNullTime(last)
}

func (t accountTx) LiveUnlockLinks(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM unlock_links WHERE user_id = ? AND used_at IS NULL AND expires_at > ?`,
		userID, fmtTime(now)).Scan(&n)
	return n, mapErr(err)
}

func (t accountTx) ConsumeUnlockLink(ctx context.Context, tokenHash string, now time.Time) (string, error) {
	var userID string
	err := t.tx.QueryRowContext(ctx, `UPDATE unlock_links SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
		fmtTime(now), tokenHash, fmtTime(now)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", account.ErrLinkInvalid
	}
	return userID, mapErr(err)
}

func (t accountTx) PurgeUnlockLinks(ctx context.Context, now time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM unlock_links WHERE used_at IS NOT NULL OR expires_at <= ?`, fmtTime(now))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

func (t accountTx) Ghost(ctx context.Context, addressHash string) (int, time.Time, error) {
	var (
		n    int
		last string
	)
	err := t.tx.QueryRowContext(ctx, `SELECT failures, last_failure_at FROM login_ghosts WHERE address_hash = ?`, addressHash).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, mapErr(err)
	}
	at, err := parseTime(last)
	return n, at, err
}

func (t accountTx) SaveGhost(ctx context.Context, addressHash string, failures int, last time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO login_ghosts (address_hash, failures, last_failure_at) VALUES (?, ?, ?)
		ON CONFLICT (address_hash) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at`,
		addressHash, failures, fmtTime(last))
	return mapErr(err)
}

func (t accountTx) PurgeGhosts(ctx context.Context) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM login_ghosts WHERE address_hash IN
		(SELECT address_hash FROM login_ghosts ORDER BY last_failure_at
		 LIMIT (SELECT CASE WHEN count(*) > ? THEN count(*) - ? ELSE 0 END FROM login_ghosts))`, maxGhosts, maxGhosts)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}
