package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"portal/audit"
)

// lookup finds the live session of token and its user. Expired sessions
// are deleted on sight.
func (s *Service) lookup(ctx context.Context, token string, now time.Time) (*Session, *UserRecord, error) {
	if !wellFormedToken(token) {
		return nil, nil, ErrUnauthenticated
	}
	id := hashToken(token)
	var (
		sess *Session
		u    *UserRecord
	)
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		if sess, err = tx.SessionByID(ctx, id); err != nil {
			return err
		}
		u, err = tx.UserByID(ctx, sess.UserID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, fmt.Errorf("account: session: %w", err)
	}
	if s.expired(sess, now) {
		if err := s.st.Update(ctx, func(tx Tx) error {
			_, err := tx.DeleteSession(ctx, id)
			return err
		}); err != nil {
			return nil, nil, fmt.Errorf("account: end expired session: %w", err)
		}
		return nil, nil, ErrUnauthenticated
	}
	if u.Disabled {
		return nil, nil, ErrUnauthenticated
	}
	return sess, u, nil
}

// expired applies the idle timeout and the absolute lifetime.
func (s *Service) expired(sess *Session, now time.Time) bool {
	return now.Sub(sess.LastSeenAt) > s.opts.IdleTimeout || !now.Before(sess.ExpiresAt)
}

// Authenticate returns the user and session of a session token, at any
// stage: callers check Session.Stage. It fails with ErrUnauthenticated for
// a missing, revoked or expired session or a disabled user.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, *Session, error) {
	now := s.now()
	sess, u, err := s.lookup(ctx, token, now)
	if err != nil {
		return nil, nil, err
	}
	// Recording activity at most once a minute keeps reads from turning
	// into writes; the idle timeout is at most that much early, never late.
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.st.Update(ctx, func(tx Tx) error {
			return tx.TouchSession(ctx, sess.ID, now)
		}); err != nil {
			return nil, nil, fmt.Errorf("account: touch session: %w", err)
		}
		sess.LastSeenAt = now
	}
	user := u.User
	return &user, sess, nil
}

// CSRFToken returns the session's CSRF token: base64url
// HMAC-SHA256(SecretKey, "csrf|" + session ID). It is stable for the life
// of the session and needs no storage.
func (s *Service) CSRFToken(sess *Session) string {
	if sess == nil {
		return ""
	}
	m := hmac.New(sha256.New, s.opts.SecretKey)
	m.Write([]byte("csrf|" + sess.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports, in constant time, whether token is sess's CSRF token.
func (s *Service) CheckCSRF(sess *Session, token string) bool {
	return sess != nil && token != "" && hmac.Equal([]byte(token), []byte(s.CSRFToken(sess)))
}

// Logout ends the session of token. Ending an unknown session is not an
// error, so that logging out twice is harmless.
func (s *Service) Logout(ctx context.Context, token string, c Client) error {
	if !wellFormedToken(token) {
		return nil
	}
	id := hashToken(token)
	var u *UserRecord
	err := s.st.Update(ctx, func(tx Tx) error {
		sess, err := tx.SessionByID(ctx, id)
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, sess.UserID); err != nil {
			return err
		}
		_, err = tx.DeleteSession(ctx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: logout: %w", err)
	}
	return s.record(ctx, actorEntryRec(u, audit.ActionLogout, u.ID, audit.OutcomeSuccess, "session "+sessionRef(id)), c)
}

func actorEntryRec(u *UserRecord, action, target, outcome, detail string) audit.Entry {
	e := actorEntry(&u.User, action, target, outcome)
	e.Detail = detail
	return e
}

// ListSessions returns the user's live sessions, newest first, marking the
// caller's own as Current.
func (s *Service) ListSessions(ctx context.Context, user *User, current *Session) ([]Session, error) {
	if user == nil {
		return nil, ErrUnauthenticated
	}
	now := s.now()
	var all []Session
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		all, err = tx.ListSessions(ctx, user.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account: list sessions: %w", err)
	}
	live := all[:0]
	for _, sess := range all {
		if s.expired(&sess, now) {
			continue
		}
		sess.Current = current != nil && sess.ID == current.ID
		live = append(live, sess)
	}
	return live, nil
}

// RevokeSession ends one of the user's own sessions; the ID of anyone
// else's session is ErrNotFound.
func (s *Service) RevokeSession(ctx context.Context, user *User, sessionID string, c Client) error {
	if user == nil {
		return ErrUnauthenticated
	}
	err := s.st.Update(ctx, func(tx Tx) error {
		sess, err := tx.SessionByID(ctx, sessionID)
		if err != nil {
			return err
		}
		if sess.UserID != user.ID {
			return ErrNotFound
		}
		_, err = tx.DeleteSession(ctx, sessionID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("account: revoke session: %w", err)
	}
	e := actorEntry(user, audit.ActionSessionRevoke, user.ID, audit.OutcomeSuccess)
	e.Detail = "session " + sessionRef(sessionID)
	return s.record(ctx, e, c)
}

// ChangePassword replaces the user's password after checking the current
// one (ErrReauthRequired) and the policy, and ends all the user's other
// sessions. keepSession may be nil to end all of them.
func (s *Service) ChangePassword(ctx context.Context, user *User, current, next string, keepSession *Session, c Client) error {
	if user == nil {
		return ErrUnauthenticated
	}
	if err := CheckPassword(next, user.Email, user.DisplayName); err != nil {
		return err
	}
	if err := s.reauth(ctx, user.ID, current, c); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return err
	}
	keep := ""
	if keepSession != nil {
		keep = keepSession.ID
	}
	var ended int
	err = s.st.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, user.ID)
		if err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = hash, s.now()
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		ended, err = tx.DeleteUserSessions(ctx, u.ID, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	e := actorEntry(user, audit.ActionPasswordChange, user.ID, audit.OutcomeSuccess)
	e.Detail = fmt.Sprintf("%d other sessions ended", ended)
	if err := s.record(ctx, e, c); err != nil {
		return err
	}
	s.notify(ctx, passwordChangedNotice(user.Email, s.now(), c))
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes after checking
// the password, and returns the new codes. They are shown once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, user *User, password string, c Client) ([]string, error) {
	if user == nil {
		return nil, ErrUnauthenticated
	}
	if err := s.reauth(ctx, user.ID, password, c); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	err := s.st.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, user.ID)
		if err != nil {
			return err
		}
		if !u.MFAEnrolled {
			return ErrStage
		}
		return tx.ReplaceRecoveryCodes(ctx, u.ID, hashes)
	})
	if err != nil {
		if errors.Is(err, ErrStage) {
			return nil, err
		}
		return nil, fmt.Errorf("account: regenerate recovery codes: %w", err)
	}
	if err := s.record(ctx, actorEntry(user, audit.ActionRecoveryRegenerate, user.ID, audit.OutcomeSuccess), c); err != nil {
		return nil, err
	}
	return codes, nil
}

// Purged counts what one purge removed.
type Purged struct {
	Sessions      int // idle or past their absolute expiry
	Invitations   int // used, or expired unused
	UnlockLinks   int // used, or expired unused
	Ghosts        int // unknown addresses tried least recently, beyond the store's bound
	ResetRequests int // approved, or expired unapproved
}

// PurgeExpired deletes the rows that only age: sessions that have ended
// (idle or past their absolute expiry), invitations that can no longer
// be accepted (used, or expired) and requests to reset an admin's second
// factor that can no longer be approved. None is readable once past that point
// (lookups refuse them already), so deleting them changes no answer; it
// keeps the tables to what is live. The audit log keeps the history. Run it
// now and then (cmd/portal runs it every few minutes).
func (s *Service) PurgeExpired(ctx context.Context) (Purged, error) {
	now := s.now()
	var p Purged
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		if p.Sessions, err = tx.PurgeSessions(ctx, now.Add(-s.opts.IdleTimeout), now); err != nil {
			return err
		}
		if p.Invitations, err = tx.PurgeInvitations(ctx, now); err != nil {
			return err
		}
		if p.UnlockLinks, err = tx.PurgeUnlockLinks(ctx, now); err != nil {
			return err
		}
		if p.Ghosts, err = tx.PurgeGhosts(ctx); err != nil {
			return err
		}
		p.ResetRequests, err = tx.PurgeResetRequests(ctx, now)
		return err
	})
	if err != nil {
		return Purged{}, fmt.Errorf("account: purge: %w", err)
	}
	return p, nil
}

// RunPurge calls PurgeExpired now and then every interval until ctx ends,
// handing each result to done (which may be nil).
func (s *Service) RunPurge(ctx context.Context, interval time.Duration, done func(Purged)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if p, err := s.PurgeExpired(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "account: periodic purge", "error", err)
			}
		} else if done != nil {
			done(p)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
