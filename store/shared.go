package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The shared state of migration 0012: what several portal instances on
// this database coordinate through. Each operation is one statement on the
// writer, so that it stays cheap under load and atomic on PostgreSQL too.

// AcquireLease takes or renews the lease name for holder until until, if
// it is free, already holder's, or expired before now, and reports
// whether holder holds it.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := db.writer.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < ?`,
		name, holder, fmtTime(until), fmtTime(now))
	if err != nil {
		return false, fmt.Errorf("store: acquire lease %s: %w", name, err)
	}
	return changed(res, "acquire lease")
}

// ReleaseLease gives up holder's lease name, so that another instance
// takes it over at once rather than after it expires.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds the lease name and until when ("" if
// nobody ever did).
func (db *DB) LeaseHolder(ctx context.Context, name string) (string, time.Time, error) {
	var holder, until string
	err := db.reader.QueryRowContext(ctx, `SELECT holder, expires_at FROM leases WHERE name = ?`, name).Scan(&holder, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: lease %s: %w", name, err)
	}
	t, err := parseTime(until)
	return holder, t, err
}

// HitRateLimit counts one request under key (an address and its window's
// start) and returns the count so far; the row may go after expires.
func (db *DB) HitRateLimit(ctx context.Context, key string, expires time.Time) (int64, error) {
	var n int64
	err := db.writer.QueryRowContext(ctx, `INSERT INTO rate_limits (key, hits, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET hits = rate_limits.hits + 1
		RETURNING hits`, key, fmtTime(expires)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count request: %w", err)
	}
	return n, nil
}

// PurgeRateLimits removes the counts of windows that ended before now.
func (db *DB) PurgeRateLimits(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM rate_limits WHERE expires_at < ?`, fmtTime(now))
	if err != nil {
		return 0, fmt.Errorf("store: purge rate limits: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge rate limits: %w", err)
	}
	return n, nil
}

// Generation returns the counter name (0 if never bumped).
func (db *DB) Generation(ctx context.Context, name string) (int64, error) {
	var n int64
	err := db.reader.QueryRowContext(ctx, `SELECT value FROM generations WHERE name = ?`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: generation %s: %w", name, err)
	}
	return n, nil
}

// BumpGeneration increments the counter name and returns its new value.
func (db *DB) BumpGeneration(ctx context.Context, name string) (int64, error) {
	var n int64
	err := db.writer.QueryRowContext(ctx, `INSERT INTO generations (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = generations.value + 1
		RETURNING value`, name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: bump generation %s: %w", name, err)
	}
	return n, nil
}
