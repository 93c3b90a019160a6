package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"portal/audit"
)

// StepUpWindow is how long a second factor passed on a session counts for
// the acts that change who someone is (SECURITY.md AC-11): resetting
// a second factor, changing a role or groups, disabling or enabling,
// inviting an admin, and listing or ending someone else's sessions. A
// session that has not passed one within it is asked for a fresh one.
const StepUpWindow = 5 * time.Minute

// SteppedUp reports whether sess passed a second factor within
// StepUpWindow. The TOTP code of the login counts: an admin who has just
// logged in is not asked again at once.
func (s *Service) SteppedUp(sess *Session) bool {
	if sess == nil || sess.Stage != StageFull || sess.SteppedUpAt.IsZero() {
		return false
	}
	return s.now().Sub(sess.SteppedUpAt) < StepUpWindow
}

// StepUp checks a fresh TOTP code for the full session sess of user and
// marks the session stepped up. A code is accepted once: its time step must
// be later than the last one the account accepted (at login or a previous
// step-up), so a code seen over someone's shoulder or in a log is worth
// nothing here. Wrong codes count as failed attempts like at login: on the
// browser's trusted device when it has one, on the account's untrusted
// counter otherwise; an attempt that locks either also ends the session.
// It returns when the step-up lapses.
func (s *Service) StepUp(ctx context.Context, user *User, sess *Session, code string, c Client) (time.Time, error) {
	if user == nil || sess == nil || sess.Stage != StageFull || sess.UserID != user.ID {
		return time.Time{}, ErrUnauthenticated
	}
	now := s.now()
	code = normCode(code)
	deviceID := s.deviceID(c, user.ID)
	var (
		ok, locked bool
		failure    string
		rec        *UserRecord
		device     *Device // the trusted device whose counter this attempt uses
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		ctr, refused, err := s.openFactor(ctx, tx, sess, deviceID, now)
		rec, device = ctr.u, ctr.device
		if err != nil {
			return err
		}
		u := ctr.u
		if refused != "" || !u.MFAEnrolled {
			failure = "account disabled, locked or without a second factor"
			return nil
		}
		if isTOTPCode(code) {
			seed, err := s.open(u.TOTPSecret, u.ID)
			if err != nil {
				return err
			}
			if step := matchTOTP(seed, code, now, u.LastTOTPStep); step > 0 {
				u.LastTOTPStep, ok = step, true
			}
		}
		if ok {
			ctr.succeed()
		} else {
			failure = "wrong or reused totp code"
			if locked = ctr.fail(now); locked {
				if _, err := tx.DeleteSession(ctx, sess.ID); err != nil {
					return err
				}
			}
		}
		return ctr.save(ctx, tx)
	})
	switch {
	case errors.Is(err, ErrThrottled):
		s.record(ctx, actorEntryRec(rec, audit.ActionStepUp, user.ID, audit.OutcomeFailure, "totp: throttled"), c)
		return time.Time{}, err
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrNotFound):
		return time.Time{}, ErrUnauthenticated
	case err != nil:
		return time.Time{}, fmt.Errorf("account: step up: %w", err)
	}
	if !ok {
		s.record(ctx, actorEntryRec(rec, audit.ActionStepUp, user.ID, audit.OutcomeFailure, "totp: "+failure), c)
		if locked {
			s.lockedNow(ctx, rec, device, c)
		}
		return time.Time{}, ErrInvalidCredentials
	}
	return s.MarkSteppedUp(ctx, user, sess, "totp", c)
}

// MarkSteppedUp records on sess that user has just passed the second
// factor named by factor ("totp", "passkey"), checked by the caller, and
// audits it. It is the one place a session becomes stepped up, whatever
// the factor. It returns when the step-up lapses.
func (s *Service) MarkSteppedUp(ctx context.Context, user *User, sess *Session, factor string, c Client) (time.Time, error) {
	if user == nil || sess == nil || sess.Stage != StageFull || sess.UserID != user.ID {
		return time.Time{}, ErrUnauthenticated
	}
	now := s.now()
	err := s.st.Update(ctx, func(tx Tx) error {
		return tx.SetSessionSteppedUp(ctx, sess.ID, now)
	})
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, ErrUnauthenticated
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("account: step up: %w", err)
	}
	sess.SteppedUpAt = now
	e := actorEntry(user, audit.ActionStepUp, user.ID, audit.OutcomeSuccess)
	e.Detail = factor + "; session " + sessionRef(sess.ID)
	if err := s.record(ctx, e, c); err != nil {
		return time.Time{}, err
	}
	return now.Add(StepUpWindow), nil
}
