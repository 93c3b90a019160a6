package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"portal/account"
)

const passkeyColumns = `id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count, flags,
	transports, name, created_at, last_used_at`

func (t accountTx) InsertPasskey(ctx context.Context, p *account.PasskeyRecord) error {
	transports, err := json.Marshal(p.Transports)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.CredentialID, p.PublicKey, p.AttestationType, p.AAGUID, int64(p.SignCount), int64(p.Flags),
		string(transports), p.Name, fmtTime(p.CreatedAt), nullTime(p.LastUsedAt))
	return mapErr(err)
}

func (t accountTx) ListPasskeys(ctx context.Context, userID string) ([]account.PasskeyRecord, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []account.PasskeyRecord
	for rows.Next() {
		var (
			p                account.PasskeyRecord
			signCount, flags int64
			transports       string
			created          string
			lastUsed         sql.NullString
		)
		if err := rows.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AAGUID,
			&signCount, &flags, &transports, &p.Name, &created, &lastUsed); err != nil {
			return nil, mapErr(err)
		}
		p.SignCount, p.Flags = uint32(signCount), byte(flags)
		if err := json.Unmarshal([]byte(transports), &p.Transports); err != nil {
			return nil, fmt.Errorf("store: passkey %s transports: %w", p.ID, err)
		}
		if p.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if p.LastUsedAt, err = parseNullTime(lastUsed); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, mapErr(rows.Err())
}

func (t accountTx) UsePasskey(ctx context.Context, id string, signCount uint32, flags byte, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE passkeys SET sign_count = ?, flags = ?, last_used_at = ? WHERE id = ?`,
		int64(signCount), int64(flags), fmtTime(at), id)
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE user_id = ? AND id = ?`, name, userID, id)
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) DeletePasskey(ctx context.Context, userID, id string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ? AND id = ?`, userID, id)
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) DeleteUserPasskeys(ctx context.Context, userID string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID)
	return mapErr(err)
}

func (t accountTx) PutCeremony(ctx context.Context, sessionID, kind string, data []byte, expires time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO webauthn_ceremonies (session_id, kind, data, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_id, kind) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
		sessionID, kind, string(data), fmtTime(expires))
	return mapErr(err)
}

func (t accountTx) TakeCeremony(ctx context.Context, sessionID, kind string, now time.Time) ([]byte, error) {
	var data, expires string
	err := t.tx.QueryRowContext(ctx, `DELETE FROM webauthn_ceremonies WHERE session_id = ? AND kind = ? RETURNING data, expires_at`,
		sessionID, kind).Scan(&data, &expires)
	if err != nil {
		return nil, mapErr(err)
	}
	exp, err := parseTime(expires)
	if err != nil {
		return nil, err
	}
	if !now.Before(exp) {
		return nil, account.ErrNotFound
	}
	return []byte(data), nil
}
