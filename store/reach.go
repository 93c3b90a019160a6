package store

import (
	"context"
	"encoding/json"
	"fmt"

	"portal/access"
	"portal/account"
	"portal/reach"
)

// Reach is what the who-can-see-what reports read (reach.Store).
type Reach struct {
	db *DB
}

var _ reach.Store = Reach{}

// Reach returns the reports' store.
func (db *DB) Reach() Reach { return Reach{db: db} }

// ReachMembers implements reach.Store: every member, with the subject that
// access.CanSee judges (account.User.Subject), empty for a suspended one.
func (s Reach) ReachMembers(ctx context.Context) ([]reach.Member, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT u.id, u.display_name, u.email, u.access_groups, u.disabled,
		a.suspended_at IS NOT NULL FROM users u LEFT JOIN attestations a ON a.user_id = u.id ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("store: reach members: %w", err)
	}
	defer rows.Close()
	var out []reach.Member
	for rows.Next() {
		var (
			u                   account.User
			groups              string
			suspended, disabled bool
		)
		if err := rows.Scan(&u.ID, &u.DisplayName, &u.Email, &groups, &disabled, &suspended); err != nil {
			return nil, fmt.Errorf("store: reach members: %w", err)
		}
		if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
			return nil, fmt.Errorf("store: user %s groups: %w", u.ID, err)
		}
		u.Disabled = disabled
		m := reach.Member{ID: u.ID, DisplayName: u.DisplayName, Email: u.Email, Groups: u.Groups, Subject: u.Subject()}
		if suspended {
			m.Subject = access.Subject{}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ReachRecords implements reach.Store: every record not withdrawn.
func (s Reach) ReachRecords(ctx context.Context) ([]reach.Record, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, title, uploader_id, access_groups, tlp
		FROM research_documents WHERE withdrawn = 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: reach records: %w", err)
	}
	defer rows.Close()
	var out []reach.Record
	for rows.Next() {
		var (
			r           reach.Record
			groups, tlp string
		)
		if err := rows.Scan(&r.ID, &r.Title, &r.UploaderID, &groups, &tlp); err != nil {
			return nil, fmt.Errorf("store: reach records: %w", err)
		}
		if err := json.Unmarshal([]byte(groups), &r.Object.Groups); err != nil {
			return nil, fmt.Errorf("store: record %s groups: %w", r.ID, err)
		}
		r.Object.TLP = access.TLP(tlp)
		out = append(out, r)
	}
	return out, rows.Err()
}
