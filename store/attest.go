package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"portal/account"
	"portal/attest"
)

// Attestations is the attestation store (attest.Store) on this database
// (migration 0018).
type Attestations struct {
	db *DB
}

var _ attest.Store = Attestations{}

// Attestations returns the attestation store.
func (db *DB) Attestations() Attestations { return Attestations{db: db} }

// A member without a row (seeded accounts, or one created between the
// migration and the first write) is at the defaults: the period runs from
// joining, the sponsor is unknown.
const attestSelect = `SELECT u.id, u.email, u.display_name, u.role, u.access_groups, u.disabled, u.created_at,
	a.sponsor_id, a.since, a.extended_until, a.extended_by, a.extension_reason,
	a.claim_serving, a.claim_organisation, a.claim_role, a.claim_country, a.claimed_at,
	a.reminded, a.reminded_at, a.suspended_at
	FROM users u LEFT JOIN attestations a ON a.user_id = u.id`

func scanAttestation(row scanner) (attest.Record, error) {
	var (
		r                                        attest.Record
		role, groups, created                    string
		disabled                                 bool
		sponsor, since, extUntil, extBy, extNote sql.NullString
		serving                                  sql.NullInt64
		org, claimRole, country, claimed         sql.NullString
		reminded                                 sql.NullInt64
		remindedAt, suspendedAt                  sql.NullString
	)
	err := row.Scan(&r.UserID, &r.Email, &r.DisplayName, &role, &groups, &disabled, &created,
		&sponsor, &since, &extUntil, &extBy, &extNote, &serving, &org, &claimRole, &country, &claimed,
		&reminded, &remindedAt, &suspendedAt)
	if err != nil {
		return r, mapErr(err)
	}
	r.Role, r.Disabled = account.Role(role), disabled
	if err := json.Unmarshal([]byte(groups), &r.Groups); err != nil {
		return r, fmt.Errorf("store: user %s groups: %w", r.UserID, err)
	}
	r.SponsorID, r.ExtendedBy, r.ExtensionNote = sponsor.String, extBy.String, extNote.String
	r.Reminded = int(reminded.Int64)
	if !since.Valid {
		since = sql.NullString{String: created, Valid: true}
	}
	for _, t := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&r.Since, since}, {&r.ExtendedUntil, extUntil}, {&r.ClaimedAt, claimed}, {&r.RemindedAt, remindedAt}, {&r.SuspendedAt, suspendedAt}} {
		if *t.dst, err = parseNullTime(t.src); err != nil {
			return r, err
		}
	}
	if serving.Valid {
		r.Claim = &attest.Claim{Serving: serving.Int64 == 1, Organisation: org.String, Role: claimRole.String, Country: country.String}
	}
	return r, nil
}

// AttestationRecords implements attest.Store.
func (s Attestations) AttestationRecords(ctx context.Context) ([]attest.Record, error) {
	rows, err := s.db.reader.QueryContext(ctx, attestSelect+` ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("store: attestations: %w", err)
	}
	defer rows.Close()
	var out []attest.Record
	for rows.Next() {
		r, err := scanAttestation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AttestationRecord implements attest.Store.
func (s Attestations) AttestationRecord(ctx context.Context, userID string) (attest.Record, error) {
	return scanAttestation(s.db.reader.QueryRowContext(ctx, attestSelect+` WHERE u.id = ?`, userID))
}

// SaveAttestation implements attest.Store.
func (s Attestations) SaveAttestation(ctx context.Context, r *attest.Record) error {
	return s.db.update(ctx, func(tx *sql.Tx) error { return saveAttestation(ctx, tx, r) })
}

func saveAttestation(ctx context.Context, tx *sql.Tx, r *attest.Record) error {
	var serving, org, role, country any
	if r.Claim != nil {
		serving, org, role, country = boolInt(r.Claim.Serving), r.Claim.Organisation, r.Claim.Role, r.Claim.Country
	}
	nullStr := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO attestations (user_id, sponsor_id, since, extended_until, extended_by,
		extension_reason, claim_serving, claim_organisation, claim_role, claim_country, claimed_at, reminded, reminded_at,
		suspended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET sponsor_id = excluded.sponsor_id, since = excluded.since,
		extended_until = excluded.extended_until, extended_by = excluded.extended_by,
		extension_reason = excluded.extension_reason, claim_serving = excluded.claim_serving,
		claim_organisation = excluded.claim_organisation, claim_role = excluded.claim_role,
		claim_country = excluded.claim_country, claimed_at = excluded.claimed_at, reminded = excluded.reminded,
		reminded_at = excluded.reminded_at, suspended_at = excluded.suspended_at`,
		r.UserID, nullStr(r.SponsorID), fmtTime(r.Since), nullTime(r.ExtendedUntil), nullStr(r.ExtendedBy),
		nullStr(r.ExtensionNote), serving, org, role, country, nullTime(r.ClaimedAt), r.Reminded, nullTime(r.RemindedAt),
		nullTime(r.SuspendedAt))
	if err != nil {
		return fmt.Errorf("store: save attestation: %w", mapErr(err))
	}
	return nil
}

// SwapAttestation implements attest.Store: in one transaction it reads the
// member's attestation, writes next only if the fields the pass decides on
// still hold prev's values, and, when next suspends the member, ends their
// sessions, so that no session outlives the suspension and two passes (or
// a pass and a confirmation) never act on the same state twice.
func (s Attestations) SwapAttestation(ctx context.Context, prev, next *attest.Record) (bool, int, error) {
	var (
		written bool
		n       int64
	)
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		cur, err := scanAttestation(tx.QueryRowContext(ctx, attestSelect+` WHERE u.id = ?`, prev.UserID))
		if err != nil {
			return err
		}
		if !cur.Since.Equal(prev.Since) || !cur.ExtendedUntil.Equal(prev.ExtendedUntil) || cur.Reminded != prev.Reminded ||
			!cur.SuspendedAt.Equal(prev.SuspendedAt) || cur.Disabled != prev.Disabled {
			return nil
		}
		if err := saveAttestation(ctx, tx, next); err != nil {
			return err
		}
		written = true
		if next.SuspendedAt.IsZero() || !prev.SuspendedAt.IsZero() {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, next.UserID)
		if err != nil {
			return fmt.Errorf("store: end sessions: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return written, int(n), err
}

// StartAttestation implements account.Tx.
func (t accountTx) StartAttestation(ctx context.Context, userID, sponsorID string, since time.Time) error {
	var sponsor any
	if sponsorID != "" {
		sponsor = sponsorID
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO attestations (user_id, sponsor_id, since, reminded) VALUES (?, ?, ?, 0)`,
		userID, sponsor, fmtTime(since))
	return mapErr(err)
}

// Suspended implements account.Tx.
func (t accountTx) Suspended(ctx context.Context, userID string) (bool, error) {
	var at sql.NullString
	err := t.tx.QueryRowContext(ctx, `SELECT suspended_at FROM attestations WHERE user_id = ?`, userID).Scan(&at)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: suspended: %w", err)
	}
	return at.Valid, nil
}
