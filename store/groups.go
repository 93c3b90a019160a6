package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"portal/account"
	"portal/groups"
)

// Groups is the access groups' store (groups.Store) on this database
// (migration 0017).
type Groups struct {
	db *DB
}

var _ groups.Store = Groups{}

// Groups returns the groups store.
func (db *DB) Groups() Groups { return Groups{db: db} }

const groupColumns = `id, name_en, name_fr, name_es, name_ar,
	description_en, description_fr, description_es, description_ar, archived, created_at, updated_at`

// ListGroups implements groups.Store.
func (s Groups) ListGroups(ctx context.Context) ([]groups.Group, error) {
	var out []groups.Group
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = listGroups(ctx, tx)
		return err
	})
	return out, err
}

func listGroups(ctx context.Context, tx *sql.Tx) ([]groups.Group, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+groupColumns+` FROM portal_groups ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list groups: %w", err)
	}
	defer rows.Close()
	var out []groups.Group
	byID := map[string]int{}
	for rows.Next() {
		var (
			g                  groups.Group
			nEn, nFr, nEs, nAr string
			dEn, dFr, dEs, dAr string
			archived           int64
			created, updated   string
		)
		if err := rows.Scan(&g.ID, &nEn, &nFr, &nEs, &nAr, &dEn, &dFr, &dEs, &dAr, &archived, &created, &updated); err != nil {
			return nil, fmt.Errorf("store: list groups: %w", err)
		}
		g.Names = map[string]string{"en": nEn, "fr": nFr, "es": nEs, "ar": nAr}
		g.Descriptions = map[string]string{"en": dEn, "fr": dFr, "es": dEs, "ar": dAr}
		g.Archived = archived != 0
		if g.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if g.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, err
		}
		byID[g.ID] = len(out)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list groups: %w", err)
	}
	rows.Close()
	leads, err := tx.QueryContext(ctx, `SELECT group_id, user_id FROM portal_group_leads ORDER BY group_id, user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: list group leads: %w", err)
	}
	defer leads.Close()
	for leads.Next() {
		var g, u string
		if err := leads.Scan(&g, &u); err != nil {
			return nil, fmt.Errorf("store: list group leads: %w", err)
		}
		if i, ok := byID[g]; ok {
			out[i].Leads = append(out[i].Leads, u)
		}
	}
	return out, leads.Err()
}

// InsertGroup implements groups.Store.
func (s Groups) InsertGroup(ctx context.Context, g *groups.Group) error {
	return s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.Names["en"], g.Names["fr"], g.Names["es"], g.Names["ar"],
			g.Descriptions["en"], g.Descriptions["fr"], g.Descriptions["es"], g.Descriptions["ar"],
			boolInt(g.Archived), fmtTime(g.CreatedAt), fmtTime(g.UpdatedAt))
		if err != nil {
			return mapErr(err)
		}
		return replaceLeads(ctx, tx, g.ID, g.Leads)
	})
}

// UpdateGroup implements groups.Store: the read, the change and the write
// are one transaction, so two admins' changes never overwrite each other.
func (s Groups) UpdateGroup(ctx context.Context, id string, change func(*groups.Group) error) (groups.Group, error) {
	var out groups.Group
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		gs, err := listGroups(ctx, tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(gs, func(g groups.Group) bool { return g.ID == id })
		if i < 0 {
			return account.ErrNotFound
		}
		g := gs[i]
		if err := change(&g); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE portal_groups SET name_en = ?, name_fr = ?, name_es = ?, name_ar = ?,
			description_en = ?, description_fr = ?, description_es = ?, description_ar = ?, archived = ?, updated_at = ?
			WHERE id = ?`,
			g.Names["en"], g.Names["fr"], g.Names["es"], g.Names["ar"],
			g.Descriptions["en"], g.Descriptions["fr"], g.Descriptions["es"], g.Descriptions["ar"],
			boolInt(g.Archived), fmtTime(g.UpdatedAt), g.ID)
		if err != nil {
			return mapErr(err)
		}
		if err := replaceLeads(ctx, tx, g.ID, g.Leads); err != nil {
			return err
		}
		out = g
		return nil
	})
	return out, err
}

// replaceLeads makes leads the leads of group id. A lead must be an
// enabled member: the check is here, in the transaction, rather than left
// to the foreign key, so that the refusal names the field.
func replaceLeads(ctx context.Context, tx *sql.Tx, id string, leads []string) error {
	var cur []string
	rows, err := tx.QueryContext(ctx, `SELECT user_id FROM portal_group_leads WHERE group_id = ?`, id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return err
		}
		cur = append(cur, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, u := range cur {
		if !slices.Contains(leads, u) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM portal_group_leads WHERE group_id = ? AND user_id = ?`, id, u); err != nil {
				return err
			}
		}
	}
	for _, u := range leads {
		if slices.Contains(cur, u) {
			continue
		}
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = ?`, u).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && disabled) {
			return &account.InputError{Field: "leads", Reason: fmt.Sprintf("%q is not an enabled member", u)}
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_group_leads (group_id, user_id) VALUES (?, ?)`, id, u); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// boolInt is how the schema stores a boolean: 0 or 1, on SQLite and
// PostgreSQL alike.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// GroupLeads implements account.Tx: the leads of group and whether it is
// archived, or account.ErrNotFound.
func (t accountTx) GroupLeads(ctx context.Context, group string) ([]string, bool, error) {
	var archived int64
	if err := t.tx.QueryRowContext(ctx, `SELECT archived FROM portal_groups WHERE id = ?`, group).Scan(&archived); err != nil {
		return nil, false, mapErr(err)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT user_id FROM portal_group_leads WHERE group_id = ? ORDER BY user_id`, group)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var leads []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, false, err
		}
		leads = append(leads, u)
	}
	return leads, archived != 0, rows.Err()
}
