package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"portal/account"
)

// View implements account.Store on the read pool.
func (db *DB) View(ctx context.Context, fn func(account.Tx) error) error {
	return db.view(ctx, func(tx *sql.Tx) error {
		return fn(accountTx{tx, db.readerStmts.bind(tx)})
	})
}

// Update implements account.Store in a write transaction (DB.update),
// serialised with every other write.
func (db *DB) Update(ctx context.Context, fn func(account.Tx) error) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return fn(accountTx{tx, db.writerStmts.bind(tx)})
	})
}

// accountTx implements account.Tx.
type accountTx struct {
	tx *sql.Tx
	ps *txStmts // the pool's prepared statements, in tx
}

const userColumns = `id, email, display_name, role, access_groups, disabled, mfa_enrolled, locked,
	password_hash, totp_secret, last_totp_step, failures, last_failure_at, created_at, updated_at, role_lowered_at`

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (*account.UserRecord, error) {
	var (
		u                     account.UserRecord
		role, groups          string
		lastFailure, lowered  sql.NullString
		created, updated      string
		disabled, mfa, locked bool
	)
	err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &role, &groups, &disabled, &mfa, &locked,
		&u.PasswordHash, &u.TOTPSecret, &u.LastTOTPStep, &u.Failures, &lastFailure, &created, &updated, &lowered)
	if err != nil {
		return nil, mapErr(err)
	}
	u.Role, u.Disabled, u.MFAEnrolled, u.Locked = account.Role(role), disabled, mfa, locked
	if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
		return nil, fmt.Errorf("store: user %s groups: %w", u.ID, err)
	}
	if u.LastFailureAt, err = parseNullTime(lastFailure); err != nil {
		return nil, err
	}
	if u.RoleLoweredAt, err = parseNullTime(lowered); err != nil {
		return nil, err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if u.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &u, nil
}

func groupsJSON(groups []string) (string, error) {
	if groups == nil {
		groups = []string{}
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return "", fmt.Errorf("store: groups: %w", err)
	}
	return string(b), nil
}

func (t accountTx) InsertUser(ctx context.Context, u *account.UserRecord) error {
	groups, err := groupsJSON(u.Groups)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, string(u.Role), groups, u.Disabled, u.MFAEnrolled, u.Locked,
		u.PasswordHash, u.TOTPSecret, u.LastTOTPStep, u.Failures, nullTime(u.LastFailureAt),
		fmtTime(u.CreatedAt), fmtTime(u.UpdatedAt), nullTime(u.RoleLoweredAt))
	return mapErr(err)
}

const qUserByID = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

func (t accountTx) UserByID(ctx context.Context, id string) (*account.UserRecord, error) {
	return scanUser(t.ps.queryRow(ctx, qUserByID, id))
}

func (t accountTx) UserByEmail(ctx context.Context, email string) (*account.UserRecord, error) {
	return scanUser(t.tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
}

func (t accountTx) ListUsers(ctx context.Context) ([]account.User, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u.User)
	}
	return out, mapErr(rows.Err())
}

func (t accountTx) SaveUser(ctx context.Context, u *account.UserRecord) error {
	groups, err := groupsJSON(u.Groups)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET email = ?, display_name = ?, role = ?, access_groups = ?,
		disabled = ?, mfa_enrolled = ?, locked = ?, password_hash = ?, totp_secret = ?, last_totp_step = ?,
		failures = ?, last_failure_at = ?, updated_at = ?, role_lowered_at = ?
		WHERE id = ?`,
		u.Email, u.DisplayName, string(u.Role), groups, u.Disabled, u.MFAEnrolled, u.Locked,
		u.PasswordHash, u.TOTPSecret, u.LastTOTPStep, u.Failures, nullTime(u.LastFailureAt),
		fmtTime(u.UpdatedAt), nullTime(u.RoleLoweredAt), u.ID)
	if err != nil {
		return mapErr(err)
	}
	return oneRow(res)
}

func (t accountTx) CountEnabledAdmins(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n)
	return n, mapErr(err)
}

func (t accountTx) InsertInvitation(ctx context.Context, inv *account.InvitationRecord) error {
	groups, err := groupsJSON(inv.Groups)
	if err != nil {
		return err
	}
	var userID any
	if inv.UserID != "" {
		userID = inv.UserID
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO invitations
		(id, token_hash, email, role, access_groups, user_id, created_by, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.TokenHash, inv.Email, string(inv.Role), groups, userID, inv.CreatedBy,
		fmtTime(inv.CreatedAt), fmtTime(inv.ExpiresAt), nullTime(inv.UsedAt))
	return mapErr(err)
}

func (t accountTx) InvitationByHash(ctx context.Context, tokenHash string) (*account.InvitationRecord, error) {
	return scanInvitation(t.tx.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE token_hash = ?`, tokenHash))
}

const invitationColumns = `id, token_hash, email, role, access_groups, user_id, created_by, created_at, expires_at, used_at`

func scanInvitation(row scanner) (*account.InvitationRecord, error) {
	var (
		inv                  account.InvitationRecord
		role, groups         string
		userID, usedAt       sql.NullString
		createdAt, expiresAt string
	)
	err := row.Scan(&inv.ID, &inv.TokenHash, &inv.Email, &role, &groups, &userID, &inv.CreatedBy, &createdAt, &expiresAt, &usedAt)
	if err != nil {
		return nil, mapErr(err)
	}
	inv.Role, inv.UserID, inv.Reset = account.Role(role), userID.String, userID.Valid
	if err := json.Unmarshal([]byte(groups), &inv.Groups); err != nil {
		return nil, fmt.Errorf("store: invitation groups: %w", err)
	}
	if inv.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, err
	}
	if inv.ExpiresAt, err = parseTime(expiresAt); err != nil {
		return nil, err
	}
	if inv.UsedAt, err = parseNullTime(usedAt); err != nil {
		return nil, err
	}
	return &inv, nil
}

func (t accountTx) ConsumeInvitation(ctx context.Context, tokenHash string, now time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE invitations SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		fmtTime(now), tokenHash, fmtTime(now))
	if err != nil {
		return mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return account.ErrInvitationInvalid
	}
	return nil
}

func (t accountTx) DeleteUserInvitations(ctx context.Context, userID string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM invitations WHERE user_id = ? AND used_at IS NULL`, userID)
	return mapErr(err)
}

func (t accountTx) PurgeInvitations(ctx context.Context, now time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM invitations WHERE used_at IS NOT NULL OR expires_at <= ?`, fmtTime(now))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

const sessionColumns = `id, user_id, stage, created_at, last_seen_at, expires_at, ip, user_agent, stepped_up_at`

func scanSession(row scanner) (*account.Session, error) {
	var (
		s                      account.Session
		stage                  string
		created, seen, expires string
		steppedUp              sql.NullString
	)
	if err := row.Scan(&s.ID, &s.UserID, &stage, &created, &seen, &expires, &s.IP, &s.UserAgent, &steppedUp); err != nil {
		return nil, mapErr(err)
	}
	s.Stage = account.Stage(stage)
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if s.LastSeenAt, err = parseTime(seen); err != nil {
		return nil, err
	}
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	if s.SteppedUpAt, err = parseNullTime(steppedUp); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t accountTx) InsertSession(ctx context.Context, s *account.Session) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, string(s.Stage), fmtTime(s.CreatedAt), fmtTime(s.LastSeenAt), fmtTime(s.ExpiresAt),
		s.IP, s.UserAgent, nullTime(s.SteppedUpAt))
	return mapErr(err)
}

const (
	qSessionByID  = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`
	qTouchSession = `UPDATE sessions SET last_seen_at = ? WHERE id = ?`
)

func (t accountTx) SessionByID(ctx context.Context, id string) (*account.Session, error) {
	return scanSession(t.ps.queryRow(ctx, qSessionByID, id))
}

func (t accountTx) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := t.ps.exec(ctx, qTouchSession, fmtTime(at), id)
	return mapErr(err)
}

func (t accountTx) DeleteSession(ctx context.Context, id string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t accountTx) DeleteUserSessions(ctx context.Context, userID, exceptID string) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, exceptID)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t accountTx) ListSessions(ctx context.Context, userID string) ([]account.Session, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ?
		ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []account.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, mapErr(rows.Err())
}

func (t accountTx) PurgeSessions(ctx context.Context, idleBefore, now time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR expires_at <= ?`,
		fmtTime(idleBefore), fmtTime(now))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t accountTx) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return mapErr(err)
	}
	for _, h := range hashes {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func (t accountTx) UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// oneRow turns an update that matched no row into ErrNotFound.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return account.ErrNotFound
	}
	return nil
}
