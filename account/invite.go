package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"portal/audit"
)

// Invite creates a single-use invitation for email with role and groups.
// Only admins may invite. The token is returned once; only its hash is kept.
func (s *Service) Invite(ctx context.Context, actor *User, email string, role Role, groups []string, c Client) (string, Invitation, error) {
	if err := s.requireAdmin(ctx, actor, audit.ActionInvitationCreate, email, c); err != nil {
		return "", Invitation{}, err
	}
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", Invitation{}, err
	}
	if err := validRole(role); err != nil {
		return "", Invitation{}, err
	}
	gs, err := normGroups(groups)
	if err != nil {
		return "", Invitation{}, err
	}
	now := s.now()
	token := newToken()
	rec := &InvitationRecord{
		ID:         newID(),
		TokenHash:  hashToken(token),
		Invitation: Invitation{Email: addr, Role: role, Groups: gs, ExpiresAt: now.Add(s.opts.InvitationTTL)},
		CreatedBy:  actor.ID,
		CreatedAt:  now,
	}
	err = s.st.Update(ctx, func(tx Tx) error {
		if _, err := tx.UserByEmail(ctx, addr); err == nil {
			return ErrConflict
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return tx.InsertInvitation(ctx, rec)
	})
	if errors.Is(err, ErrConflict) {
		return "", Invitation{}, fmt.Errorf("%w: a member with this e-mail address exists", ErrConflict)
	}
	if err != nil {
		return "", Invitation{}, fmt.Errorf("account: invite: %w", err)
	}
	e := actorEntry(actor, audit.ActionInvitationCreate, addr, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("role=%s groups=%s", role, strings.Join(gs, ","))
	if err := s.record(ctx, e, c); err != nil {
		return "", Invitation{}, err
	}
	return token, rec.Invitation, nil
}

// BootstrapAdmin creates an admin invitation from the command line. It
// refuses (ErrConflict) while an enabled admin exists, unless force.
func (s *Service) BootstrapAdmin(ctx context.Context, email string, force bool) (string, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	now := s.now()
	token := newToken()
	rec := &InvitationRecord{
		ID:         newID(),
		TokenHash:  hashToken(token),
		Invitation: Invitation{Email: addr, Role: RoleAdmin, Groups: []string{GroupMembers}, ExpiresAt: now.Add(s.opts.InvitationTTL)},
		CreatedBy:  audit.ActorSystem,
		CreatedAt:  now,
	}
	err = s.st.Update(ctx, func(tx Tx) error {
		n, err := tx.CountEnabledAdmins(ctx)
		if err != nil {
			return err
		}
		if n > 0 && !force {
			return fmt.Errorf("%w: an enabled admin exists", ErrConflict)
		}
		if _, err := tx.UserByEmail(ctx, addr); err == nil {
			return fmt.Errorf("%w: a member with this e-mail address exists", ErrConflict)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return tx.InsertInvitation(ctx, rec)
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return "", err
		}
		return "", fmt.Errorf("account: bootstrap admin: %w", err)
	}
	detail := "admin invitation"
	if force {
		detail += " (forced)"
	}
	if err := s.record(ctx, audit.Entry{Actor: audit.ActorSystem, Action: audit.ActionAdminBootstrap,
		Target: addr, Outcome: audit.OutcomeSuccess, Detail: detail}, Client{}); err != nil {
		return "", err
	}
	return token, nil
}

// invitation returns the usable invitation of token.
func (s *Service) invitation(ctx context.Context, token string) (*InvitationRecord, error) {
	if !wellFormedToken(token) {
		return nil, ErrInvitationInvalid
	}
	var rec *InvitationRecord
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		if rec, err = tx.InvitationByHash(ctx, hashToken(token)); err != nil {
			return err
		}
		return creatorStillAdmin(ctx, tx, rec)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvitationInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("account: invitation: %w", err)
	}
	if !rec.UsedAt.IsZero() || !s.now().Before(rec.ExpiresAt) {
		return nil, ErrInvitationInvalid
	}
	return rec, nil
}

// InvitationInfo tells the invitation page what token grants.
func (s *Service) InvitationInfo(ctx context.Context, token string) (Invitation, error) {
	rec, err := s.invitation(ctx, token)
	if err != nil {
		return Invitation{}, err
	}
	return rec.Invitation, nil
}

// AcceptInvitation sets up the invited account: it checks the password
// policy, creates the member (or, for a ResetMFA token, replaces the
// password and second factor of the existing one), consumes the invitation
// in the same transaction, and starts a Stage enrol session whose only use
// is ConfirmEnrolment. For a reset, an empty displayName keeps the old one.
func (s *Service) AcceptInvitation(ctx context.Context, token, displayName, password string, c Client) (string, TOTPEnrolment, error) {
	rec, err := s.invitation(ctx, token)
	if err != nil {
		return "", TOTPEnrolment{}, err
	}
	userID := newUserID()
	name := strings.TrimSpace(displayName)
	if rec.UserID != "" {
		var existing *UserRecord
		err := s.st.View(ctx, func(tx Tx) error {
			var err error
			existing, err = tx.UserByID(ctx, rec.UserID)
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return "", TOTPEnrolment{}, ErrInvitationInvalid
		}
		if err != nil {
			return "", TOTPEnrolment{}, fmt.Errorf("account: accept invitation: %w", err)
		}
		userID = existing.ID
		if name == "" {
			name = existing.DisplayName
		}
	}
	if name, err = normDisplayName(name); err != nil {
		return "", TOTPEnrolment{}, err
	}
	if err := CheckPassword(password, rec.Email, name); err != nil {
		return "", TOTPEnrolment{}, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return "", TOTPEnrolment{}, err
	}
	seed := make([]byte, totpSeedLen)
	rand.Read(seed)
	sealed, err := s.seal(seed, userID)
	if err != nil {
		return "", TOTPEnrolment{}, err
	}
	enrol, err := s.enrolment(seed, rec.Email)
	if err != nil {
		return "", TOTPEnrolment{}, err
	}

	now := s.now()
	sessToken := newToken()
	sess := s.newSession(sessToken, userID, StageEnrol, now, c)
	err = s.st.Update(ctx, func(tx Tx) error {
		if err := creatorStillAdmin(ctx, tx, rec); err != nil {
			return err
		}
		if err := tx.ConsumeInvitation(ctx, rec.TokenHash, now); err != nil {
			return err
		}
		if rec.UserID == "" {
			u := &UserRecord{
				User: User{ID: userID, Email: rec.Email, DisplayName: name, Role: rec.Role,
					Groups: rec.Groups, CreatedAt: now, UpdatedAt: now},
				PasswordHash: hash,
				TOTPSecret:   sealed,
			}
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
			sponsor := rec.CreatedBy
			if sponsor == audit.ActorSystem {
				sponsor = ""
			}
			if err := tx.StartAttestation(ctx, userID, sponsor, now); err != nil {
				return err
			}
		} else {
			u, err := tx.UserByID(ctx, rec.UserID)
			if err != nil {
				return err
			}
			if u.Disabled {
				return ErrInvitationInvalid
			}
			// The replay guard belongs to the old secret.
			u.DisplayName, u.PasswordHash, u.TOTPSecret, u.MFAEnrolled, u.LastTOTPStep = name, hash, sealed, false, 0
			// New factors: the old failures and lock belonged to the old ones.
			u.Failures, u.LastFailureAt, u.Locked, u.UpdatedAt = 0, time.Time{}, false, now
			if err := tx.SaveUser(ctx, u); err != nil {
				return err
			}
			if _, err := tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
				return err
			}
			if err := tx.ReplaceRecoveryCodes(ctx, u.ID, nil); err != nil {
				return err
			}
		}
		return tx.InsertSession(ctx, sess)
	})
	switch {
	case errors.Is(err, ErrInvitationInvalid), errors.Is(err, ErrNotFound):
		return "", TOTPEnrolment{}, ErrInvitationInvalid
	case errors.Is(err, ErrConflict):
		return "", TOTPEnrolment{}, fmt.Errorf("%w: a member with this e-mail address exists", ErrConflict)
	case err != nil:
		return "", TOTPEnrolment{}, fmt.Errorf("account: accept invitation: %w", err)
	}
	detail := "new account, role " + string(rec.Role)
	if rec.UserID != "" {
		detail = "re-enrolment after MFA reset"
	}
	if err := s.record(ctx, audit.Entry{Actor: userID, ActorEmail: rec.Email, Target: userID,
		Action: audit.ActionInvitationAccept, Outcome: audit.OutcomeSuccess, Detail: detail}, c); err != nil {
		return "", TOTPEnrolment{}, err
	}
	if rec.UserID != "" {
		s.notify(ctx, noticeResetCompleted(rec.Email))
	}
	return sessToken, enrol, nil
}

// ConfirmEnrolment finishes TOTP set-up for a Stage enrol session: it
// checks a code from the new authenticator, marks the member enrolled,
// returns ten recovery codes (shown once) and replaces the session with a
// new token at Stage full.
func (s *Service) ConfirmEnrolment(ctx context.Context, sessionToken, code string, c Client) (string, []string, error) {
	now := s.now()
	sess, u, err := s.lookup(ctx, sessionToken, now)
	if err != nil {
		return "", nil, err
	}
	if sess.Stage != StageEnrol {
		return "", nil, ErrStage
	}
	code = normCode(code)
	codes, hashes := newRecoveryCodes()
	token, full := s.fullSession(u.ID, now, c)
	err = s.st.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, sess.UserID)
		if err != nil {
			return err
		}
		if _, err := tx.SessionByID(ctx, sess.ID); err != nil {
			return ErrUnauthenticated
		}
		if u.MFAEnrolled {
			return ErrStage
		}
		if !isTOTPCode(code) {
			return ErrInvalidCredentials
		}
		seed, err := s.open(u.TOTPSecret, u.ID)
		if err != nil {
			return err
		}
		step := matchTOTP(seed, code, now, u.LastTOTPStep)
		if step == 0 {
			return ErrInvalidCredentials
		}
		u.MFAEnrolled, u.LastTOTPStep, u.UpdatedAt = true, step, now
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		return s.promote(ctx, tx, sess, full)
	})
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		s.record(ctx, actorEntryRec(u, audit.ActionMFAEnrol, u.ID, audit.OutcomeFailure, "wrong code"), c)
		return "", nil, err
	case errors.Is(err, ErrStage), errors.Is(err, ErrUnauthenticated):
		return "", nil, err
	case err != nil:
		return "", nil, fmt.Errorf("account: confirm enrolment: %w", err)
	}
	if err := s.record(ctx, actorEntryRec(u, audit.ActionMFAEnrol, u.ID, audit.OutcomeSuccess, "totp"), c); err != nil {
		return "", nil, err
	}
	return token, codes, nil
}

// SeedUser creates an enrolled member directly, for demo data; the caller
// refuses outside development mode. It returns the TOTP secret in base32.
// An existing e-mail address is ErrConflict.
func (s *Service) SeedUser(ctx context.Context, email, displayName string, role Role, groups []string, password string) (User, string, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return User{}, "", err
	}
	name, err := normDisplayName(displayName)
	if err != nil {
		return User{}, "", err
	}
	if err := validRole(role); err != nil {
		return User{}, "", err
	}
	gs, err := normGroups(groups)
	if err != nil {
		return User{}, "", err
	}
	if err := CheckPassword(password, addr, name); err != nil {
		return User{}, "", err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return User{}, "", err
	}
	now := s.now()
	u := &UserRecord{
		User: User{ID: newUserID(), Email: addr, DisplayName: name, Role: role, Groups: gs,
			MFAEnrolled: true, CreatedAt: now, UpdatedAt: now},
		PasswordHash: hash,
	}
	seed := make([]byte, totpSeedLen)
	rand.Read(seed)
	if u.TOTPSecret, err = s.seal(seed, u.ID); err != nil {
		return User{}, "", err
	}
	err = s.st.Update(ctx, func(tx Tx) error { return tx.InsertUser(ctx, u) })
	if errors.Is(err, ErrConflict) {
		return User{}, "", err
	}
	if err != nil {
		return User{}, "", fmt.Errorf("account: seed user: %w", err)
	}
	if err := s.record(ctx, audit.Entry{Actor: audit.ActorSystem, Action: "user.seed", Target: u.ID,
		ActorEmail: "", Outcome: audit.OutcomeSuccess, Detail: "demo account " + addr}, Client{}); err != nil {
		return User{}, "", err
	}
	return u.User, b32.EncodeToString(seed), nil
}

// creatorStillAdmin refuses (ErrInvitationInvalid) an invitation whose
// creator is no longer an enabled admin: disabling or demoting a rogue
// admin also takes back the accounts and resets that admin handed out.
// The command line's invitations (audit.ActorSystem) stand: whoever runs it
// holds every power already.
func creatorStillAdmin(ctx context.Context, tx Tx, rec *InvitationRecord) error {
	if rec.CreatedBy == audit.ActorSystem {
		return nil
	}
	u, err := tx.UserByID(ctx, rec.CreatedBy)
	if errors.Is(err, ErrNotFound) {
		return ErrInvitationInvalid
	}
	if err != nil {
		return err
	}
	if u.Disabled || u.Role != RoleAdmin {
		return ErrInvitationInvalid
	}
	return nil
}

// PendingInvitation is an invitation (or a re-enrolment link) that can
// still be accepted, as admins see it: never its token.
type PendingInvitation struct {
	ID string
	Invitation
	CreatedBy      string // user ID, or audit.ActorSystem
	CreatedByEmail string
	CreatedAt      time.Time
	// CreatorActive is false when the creator is no longer an enabled
	// admin: acceptance will refuse the invitation.
	CreatorActive bool
}

// ListInvitations returns the invitations and re-enrolment links that are
// unused and unexpired, newest first.
func (s *Service) ListInvitations(ctx context.Context, actor *User) ([]PendingInvitation, error) {
	if err := s.requireAdmin(ctx, actor, "invitation.list", "", Client{}); err != nil {
		return nil, err
	}
	now := s.now()
	var out []PendingInvitation
	err := s.st.View(ctx, func(tx Tx) error {
		list, err := tx.PendingInvitations(ctx, now)
		if err != nil {
			return err
		}
		for _, rec := range list {
			p := PendingInvitation{ID: rec.ID, Invitation: rec.Invitation, CreatedBy: rec.CreatedBy,
				CreatedByEmail: emailOf(ctx, tx, rec.CreatedBy), CreatedAt: rec.CreatedAt}
			switch err := creatorStillAdmin(ctx, tx, &rec); {
			case err == nil:
				p.CreatorActive = true
			case !errors.Is(err, ErrInvitationInvalid):
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("account: list invitations: %w", err)
	}
	return out, nil
}

// RevokeInvitation deletes the unused invitation (or re-enrolment link) id:
// its link stops working at once. An unknown or used one is ErrNotFound.
func (s *Service) RevokeInvitation(ctx context.Context, actor *User, id string, c Client) error {
	if err := s.requireAdmin(ctx, actor, audit.ActionInvitationRevoke, id, c); err != nil {
		return err
	}
	var rec *InvitationRecord
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		rec, err = tx.DeleteInvitation(ctx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("account: revoke invitation: %w", err)
	}
	e := actorEntry(actor, audit.ActionInvitationRevoke, rec.Email, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("invitation %s, role=%s, reset=%t", id, rec.Role, rec.Reset)
	return s.record(ctx, e, c)
}
