package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"portal/access"
	"portal/account"
	"portal/alerts"
)

// Alerts is the store of saved searches, follows and notifications
// (alerts.Store) on this database.
type Alerts struct {
	db *DB
}

var _ alerts.Store = Alerts{}

// Alerts returns the store of package alerts.
func (db *DB) Alerts() Alerts { return Alerts{db: db} }

// alertsErr maps a missing row to alerts.ErrNotFound and a unique
// constraint to alerts.ErrConflict.
func alertsErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.ErrNotFound
	}
	if isUnique(err) {
		return fmt.Errorf("%w: %v", alerts.ErrConflict, err)
	}
	return err
}

// alertsIn returns "?, ?, …" for n values and the values as []any.
func alertsIn(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}

const savedSearchColumns = `id, user_id, name, query, alert, created_at, updated_at, last_digest_at`

func scanSavedSearch(row scanner) (*alerts.SavedSearch, error) {
	var (
		s                            alerts.SavedSearch
		query, alert                 string
		created, updated, lastDigest string
	)
	if err := row.Scan(&s.ID, &s.UserID, &s.Name, &query, &alert, &created, &updated, &lastDigest); err != nil {
		return nil, alertsErr(err)
	}
	s.Alert = alerts.Frequency(alert)
	if err := json.Unmarshal([]byte(query), &s.Query); err != nil {
		return nil, fmt.Errorf("store: saved search %s query: %w", s.ID, err)
	}
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if s.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if s.LastDigestAt, err = parseTime(lastDigest); err != nil {
		return nil, err
	}
	return &s, nil
}

func (a Alerts) savedSearches(ctx context.Context, where string, args ...any) ([]alerts.SavedSearch, error) {
	rows, err := a.db.reader.QueryContext(ctx, `SELECT `+savedSearchColumns+` FROM saved_searches WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: saved searches: %w", err)
	}
	defer rows.Close()
	out := []alerts.SavedSearch{}
	for rows.Next() {
		s, err := scanSavedSearch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

// CreateSearch implements alerts.Store.
func (a Alerts) CreateSearch(ctx context.Context, s *alerts.SavedSearch) error {
	q, err := json.Marshal(s.Query)
	if err != nil {
		return fmt.Errorf("store: saved search query: %w", err)
	}
	_, err = a.db.writer.ExecContext(ctx, `INSERT INTO saved_searches (`+savedSearchColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, s.UserID, s.Name, string(q), string(s.Alert),
		fmtTime(s.CreatedAt), fmtTime(s.UpdatedAt), fmtTime(s.LastDigestAt))
	return alertsErr(err)
}

// Searches implements alerts.Store.
func (a Alerts) Searches(ctx context.Context, userID string) ([]alerts.SavedSearch, error) {
	return a.savedSearches(ctx, `user_id = ? ORDER BY created_at, id`, userID)
}

// Search implements alerts.Store.
func (a Alerts) Search(ctx context.Context, userID, id string) (*alerts.SavedSearch, error) {
	return scanSavedSearch(a.db.reader.QueryRowContext(ctx, `SELECT `+savedSearchColumns+` FROM saved_searches
		WHERE id = ? AND user_id = ?`, id, userID))
}

// SearchByID implements alerts.Store.
func (a Alerts) SearchByID(ctx context.Context, id string) (*alerts.SavedSearch, error) {
	return scanSavedSearch(a.db.reader.QueryRowContext(ctx, `SELECT `+savedSearchColumns+` FROM saved_searches
		WHERE id = ?`, id))
}

// UpdateSearch implements alerts.Store.
func (a Alerts) UpdateSearch(ctx context.Context, s *alerts.SavedSearch) error {
	q, err := json.Marshal(s.Query)
	if err != nil {
		return fmt.Errorf("store: saved search query: %w", err)
	}
	res, err := a.db.writer.ExecContext(ctx, `UPDATE saved_searches SET name = ?, query = ?, alert = ?, updated_at = ?
		WHERE id = ? AND user_id = ?`, s.Name, string(q), string(s.Alert), fmtTime(s.UpdatedAt), s.ID, s.UserID)
	if err != nil {
		return alertsErr(err)
	}
	return alertsRow(res)
}

func alertsRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return alerts.ErrNotFound
	}
	return nil
}

// DeleteSearch implements alerts.Store.
func (a Alerts) DeleteSearch(ctx context.Context, userID, id string) error {
	res, err := a.db.writer.ExecContext(ctx, `DELETE FROM saved_searches WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("store: delete saved search: %w", err)
	}
	return alertsRow(res)
}

// DueSearches implements alerts.Store.
func (a Alerts) DueSearches(ctx context.Context, dailyBefore, weeklyBefore time.Time) ([]alerts.SavedSearch, error) {
	return a.savedSearches(ctx, `(alert = 'daily' AND last_digest_at <= ?) OR (alert = 'weekly' AND last_digest_at <= ?)
		ORDER BY user_id, created_at, id`, fmtTime(dailyBefore), fmtTime(weeklyBefore))
}

// CreateFollow implements alerts.Store.
func (a Alerts) CreateFollow(ctx context.Context, f *alerts.Follow) error {
	_, err := a.db.writer.ExecContext(ctx, `INSERT INTO record_follows (id, user_id, doc_id, created_at, checked_at)
		VALUES (?, ?, ?, ?, ?)`, f.ID, f.UserID, f.DocID, fmtTime(f.CreatedAt), fmtTime(f.CheckedAt))
	return alertsErr(err)
}

// Follows implements alerts.Store.
func (a Alerts) Follows(ctx context.Context, userID string) ([]alerts.Follow, error) {
	rows, err := a.db.reader.QueryContext(ctx, `SELECT id, doc_id, created_at, checked_at FROM record_follows
		WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: follows: %w", err)
	}
	defer rows.Close()
	out := []alerts.Follow{}
	for rows.Next() {
		f := alerts.Follow{UserID: userID}
		var created, checked string
		if err := rows.Scan(&f.ID, &f.DocID, &created, &checked); err != nil {
			return nil, fmt.Errorf("store: follows: %w", err)
		}
		if f.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if f.CheckedAt, err = parseTime(checked); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFollow implements alerts.Store.
func (a Alerts) DeleteFollow(ctx context.Context, userID, docID string) error {
	res, err := a.db.writer.ExecContext(ctx, `DELETE FROM record_follows WHERE user_id = ? AND doc_id = ?`, userID, docID)
	if err != nil {
		return fmt.Errorf("store: delete follow: %w", err)
	}
	return alertsRow(res)
}

// DeleteFollowByID implements alerts.Store.
func (a Alerts) DeleteFollowByID(ctx context.Context, id string) (string, error) {
	var userID string
	err := a.db.writer.QueryRowContext(ctx, `DELETE FROM record_follows WHERE id = ? RETURNING user_id`, id).Scan(&userID)
	if err != nil {
		return "", alertsErr(err)
	}
	return userID, nil
}

// recordColumns are what alerts.Record holds, from research_documents d.
const recordColumns = `d.id, d.title, d.access_groups, d.tlp, d.withdrawn, d.withdrawn_at, d.current_version`

// scanRecord scans recordColumns followed by extra.
func scanRecord(row scanner, extra ...any) (alerts.Record, error) {
	var (
		r           alerts.Record
		groups, tlp string
		withdrawnAt sql.NullString
	)
	dest := append([]any{&r.ID, &r.Title, &groups, &tlp, &r.Withdrawn, &withdrawnAt, &r.CurrentVersion}, extra...)
	if err := row.Scan(dest...); err != nil {
		return r, fmt.Errorf("store: research record: %w", err)
	}
	if err := json.Unmarshal([]byte(groups), &r.Object.Groups); err != nil {
		return r, fmt.Errorf("store: research %s access_groups: %w", r.ID, err)
	}
	r.Object.TLP = access.TLP(tlp)
	var err error
	r.WithdrawnAt, err = parseNullTime(withdrawnAt)
	return r, err
}

// FollowStates implements alerts.Store.
func (a Alerts) FollowStates(ctx context.Context, until time.Time) ([]alerts.FollowState, error) {
	rows, err := a.db.reader.QueryContext(ctx, `SELECT `+recordColumns+`, f.id, f.user_id, f.created_at, f.checked_at,
		COALESCE((SELECT MAX(v.number) FROM research_versions v WHERE v.doc_id = f.doc_id AND v.number > 1
			AND v.uploaded_at > f.checked_at AND v.uploaded_at <= ?), 0)
		FROM record_follows f JOIN research_documents d ON d.id = f.doc_id
		WHERE EXISTS (SELECT 1 FROM research_versions v WHERE v.doc_id = f.doc_id AND v.number > 1
				AND v.uploaded_at > f.checked_at AND v.uploaded_at <= ?)
			OR (d.withdrawn = 1 AND d.withdrawn_at > f.checked_at AND d.withdrawn_at <= ?)
		ORDER BY f.user_id, f.id`, fmtTime(until), fmtTime(until), fmtTime(until))
	if err != nil {
		return nil, fmt.Errorf("store: follow states: %w", err)
	}
	defer rows.Close()
	var out []alerts.FollowState
	for rows.Next() {
		var (
			fs               alerts.FollowState
			created, checked string
		)
		if fs.Record, err = scanRecord(rows, &fs.ID, &fs.UserID, &created, &checked, &fs.NewVersion); err != nil {
			return nil, err
		}
		fs.DocID = fs.Record.ID
		if fs.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if fs.CheckedAt, err = parseTime(checked); err != nil {
			return nil, err
		}
		out = append(out, fs)
	}
	return out, rows.Err()
}

// Changes implements alerts.Store: a record's first version is its
// creation, so one scan of versions finds new records and new versions.
func (a Alerts) Changes(ctx context.Context, since, until time.Time) ([]alerts.Change, error) {
	rows, err := a.db.reader.QueryContext(ctx, `SELECT `+recordColumns+`, v.number, v.uploaded_by
		FROM research_versions v JOIN research_documents d ON d.id = v.doc_id
		WHERE v.uploaded_at > ? AND v.uploaded_at <= ?
		ORDER BY d.created_at, d.id, v.number`, fmtTime(since), fmtTime(until))
	if err != nil {
		return nil, fmt.Errorf("store: research changes: %w", err)
	}
	defer rows.Close()
	var out []alerts.Change
	for rows.Next() {
		var c alerts.Change
		if c.Record, err = scanRecord(rows, &c.Version, &c.By); err != nil {
			return nil, err
		}
		// Rows come by record, versions in order: keep the newest.
		if n := len(out); n > 0 && out[n-1].ID == c.ID {
			out[n-1] = c
			continue
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Records implements alerts.Store.
func (a Alerts) Records(ctx context.Context, ids []string) (map[string]alerts.Record, error) {
	out := make(map[string]alerts.Record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := alertsIn(ids)
	rows, err := a.db.reader.QueryContext(ctx, `SELECT `+recordColumns+` FROM research_documents d WHERE d.id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: research records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}

// Users implements alerts.Store.
func (a Alerts) Users(ctx context.Context, ids []string) (map[string]account.User, error) {
	out := make(map[string]account.User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := alertsIn(ids)
	// A suspended member (package attest) hears of nothing, as a disabled
	// one: the digest's subject for either sees nothing.
	rows, err := a.db.reader.QueryContext(ctx, `SELECT u.id, u.email, u.access_groups, u.disabled, a.suspended_at IS NOT NULL
		FROM users u LEFT JOIN attestations a ON a.user_id = u.id WHERE u.id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			u         account.User
			groups    string
			suspended bool
		)
		if err := rows.Scan(&u.ID, &u.Email, &groups, &u.Disabled, &suspended); err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		u.Disabled = u.Disabled || suspended
		if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
			return nil, fmt.Errorf("store: user %s groups: %w", u.ID, err)
		}
		out[u.ID] = u
	}
	return out, rows.Err()
}

// Digest implements alerts.Store in one write transaction.
func (a Alerts) Digest(ctx context.Context, d alerts.Digested) error {
	at := fmtTime(d.At)
	return a.db.update(ctx, func(tx *sql.Tx) error {
		for _, id := range d.Searches {
			if _, err := tx.ExecContext(ctx, `UPDATE saved_searches SET last_digest_at = ? WHERE id = ?`, at, id); err != nil {
				return fmt.Errorf("store: digest search: %w", err)
			}
		}
		for _, id := range d.Follows {
			if _, err := tx.ExecContext(ctx, `UPDATE record_follows SET checked_at = ? WHERE id = ?`, at, id); err != nil {
				return fmt.Errorf("store: digest follow: %w", err)
			}
		}
		for _, n := range d.Notifications {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notifications (user_id, kind, doc_id, version, search_id, search_name, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, n.UserID, string(n.Kind), n.DocID, n.Version, nullString(n.SearchID), n.SearchName,
				fmtTime(n.CreatedAt)); err != nil {
				return fmt.Errorf("store: add notification: %w", err)
			}
		}
		return nil
	})
}

// Notifications implements alerts.Store.
func (a Alerts) Notifications(ctx context.Context, userID string, limit int) ([]alerts.Notification, error) {
	rows, err := a.db.reader.QueryContext(ctx, `SELECT id, kind, doc_id, version, search_id, search_name, created_at, read_at
		FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: notifications: %w", err)
	}
	defer rows.Close()
	var out []alerts.Notification
	for rows.Next() {
		n := alerts.Notification{UserID: userID}
		var (
			kind, created    string
			searchID, readAt sql.NullString
		)
		if err := rows.Scan(&n.ID, &kind, &n.DocID, &n.Version, &searchID, &n.SearchName, &created, &readAt); err != nil {
			return nil, fmt.Errorf("store: notifications: %w", err)
		}
		n.Kind, n.SearchID = alerts.Kind(kind), searchID.String
		if n.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if n.ReadAt, err = parseNullTime(readAt); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkRead implements alerts.Store.
func (a Alerts) MarkRead(ctx context.Context, userID string, id int64, at time.Time) error {
	if id == 0 {
		_, err := a.db.writer.ExecContext(ctx, `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`,
			fmtTime(at), userID)
		if err != nil {
			return fmt.Errorf("store: mark notifications read: %w", err)
		}
		return nil
	}
	res, err := a.db.writer.ExecContext(ctx, `UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?`,
		fmtTime(at), id, userID)
	if err != nil {
		return fmt.Errorf("store: mark notification read: %w", err)
	}
	return alertsRow(res)
}
