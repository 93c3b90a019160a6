package store

import (
	"context"
	"database/sql"
	"time"

	"portal/account"
)

// The queries behind step-up, the invitation list and the second-admin
// approval of resets (account/stepup.go, account/resets.go).

func (t accountTx) SetSessionSteppedUp(ctx context.Context, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE sessions SET stepped_up_at = ? WHERE id = ?`, fmtTime(at), id)
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) PendingInvitations(ctx context.Context, now time.Time) ([]account.InvitationRecord, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE used_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id`, fmtTime(now))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []account.InvitationRecord
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *inv)
	}
	return out, mapErr(rows.Err())
}

func (t accountTx) DeleteInvitation(ctx context.Context, id string) (*account.InvitationRecord, error) {
	inv, err := scanInvitation(t.tx.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE id = ? AND used_at IS NULL`, id))
	if err != nil {
		return nil, err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM invitations WHERE id = ?`, id); err != nil {
		return nil, mapErr(err)
	}
	return inv, nil
}

const resetRequestColumns = `id, user_id, requested_by, created_at, expires_at, approved_by, approved_at`

func scanResetRequest(row scanner) (*account.ResetRequest, error) {
	var (
		r                 account.ResetRequest
		created, expires  string
		approvedBy, appAt sql.NullString
	)
	if err := row.Scan(&r.ID, &r.UserID, &r.RequestedBy, &created, &expires, &approvedBy, &appAt); err != nil {
		return nil, mapErr(err)
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if r.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	if r.ApprovedAt, err = parseNullTime(appAt); err != nil {
		return nil, err
	}
	r.ApprovedBy = approvedBy.String
	return &r, nil
}

func (t accountTx) InsertResetRequest(ctx context.Context, r *account.ResetRequest) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO mfa_reset_requests (`+resetRequestColumns+`)
		VALUES (?, ?, ?, ?, ?, NULL, NULL)`,
		r.ID, r.UserID, r.RequestedBy, fmtTime(r.CreatedAt), fmtTime(r.ExpiresAt))
	return mapErr(err)
}

func (t accountTx) ResetRequestByID(ctx context.Context, id string) (*account.ResetRequest, error) {
	return scanResetRequest(t.tx.QueryRowContext(ctx, `SELECT `+resetRequestColumns+` FROM mfa_reset_requests WHERE id = ?`, id))
}

func (t accountTx) PendingResetRequests(ctx context.Context, userID string, now time.Time) ([]account.ResetRequest, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+resetRequestColumns+` FROM mfa_reset_requests
		WHERE approved_at IS NULL AND expires_at > ? AND (? = '' OR user_id = ?)
		ORDER BY created_at, id`, fmtTime(now), userID, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []account.ResetRequest
	for rows.Next() {
		r, err := scanResetRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, mapErr(rows.Err())
}

func (t accountTx) ApproveResetRequest(ctx context.Context, id, by string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE mfa_reset_requests SET approved_by = ?, approved_at = ?
		WHERE id = ? AND approved_at IS NULL AND expires_at > ?`, by, fmtTime(at), id, fmtTime(at))
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) PurgeResetRequests(ctx context.Context, now time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM mfa_reset_requests WHERE approved_at IS NOT NULL OR expires_at <= ?`, fmtTime(now))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
