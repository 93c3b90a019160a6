package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"portal/audit"
)

// errLocked is internal: callers turn it into ErrInvalidCredentials so a
// locked account looks like a wrong password.
var errLocked = errors.New("account: locked")

// delayAfter is the wait imposed after n consecutive failures.
func delayAfter(n int) time.Duration {
	if n < FreeFailures {
		return 0
	}
	k := n - FreeFailures
	if k >= 10 { // 2^10 s already exceeds MaxDelay
		return MaxDelay
	}
	return min(time.Second<<k, MaxDelay)
}

// throttle returns a *ThrottleError if an attempt at now must still wait
// after n failures, the last at last.
func throttle(n int, last, now time.Time) error {
	left := last.Add(delayAfter(n)).Sub(now)
	if left <= 0 {
		return nil
	}
	// Round up: retrying after RetryAfter must never be too early.
	return &ThrottleError{RetryAfter: (left + time.Second - 1).Truncate(time.Second)}
}

// reservation remembers what reserve changed, to undo it on success.
type reservation struct {
	at, prevLast time.Time
	// device is the trusted device whose counter took the attempt; nil
	// when the account's untrusted counter did.
	device *Device
}

// reserve counts an attempt on the account as failed before the slow
// password check, in the same transaction as the throttle and lock check.
// Parallel attempts therefore cannot slip through one throttle window
// together; a correct password gives the attempt back (settle). The
// attempt counts on the trusted device c presents, if any, and on the
// account's untrusted counter otherwise (device.go); errLocked means the
// account is locked for untrusted attempts.
func (s *Service) reserve(ctx context.Context, userID string, c Client, now time.Time) (*UserRecord, reservation, error) {
	var (
		u        *UserRecord
		res      reservation
		deviceID = s.deviceID(c, userID)
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		res = reservation{at: now}
		var err error
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		d, err := s.trusted(ctx, tx, deviceID, userID, now)
		if err != nil {
			return err
		}
		if d != nil {
			res.device = d
			if err := throttle(d.Failures, d.LastFailureAt, now); err != nil {
				return err
			}
			res.prevLast = d.LastFailureAt
			d.Failures++
			d.LastFailureAt = now
			return tx.SaveDevice(ctx, d)
		}
		if u.Locked {
			return errLocked
		}
		if err := throttle(u.Failures, u.LastFailureAt, now); err != nil {
			return err
		}
		res.prevLast = u.LastFailureAt
		u.Failures++
		u.LastFailureAt = now
		return tx.SaveUser(ctx, u)
	})
	return u, res, err
}

// settleFailure locks the counter that reserve charged (the device's or
// the account's untrusted one) if the failure it counted was the last one
// allowed, and reports whether it did. Below the limit there is nothing to
// write.
//
// Locking disables the factors only; sessions already at Stage full stay
// valid, so that someone who locks a member out by guessing cannot also
// end the member's work in progress.
func (s *Service) settleFailure(ctx context.Context, reserved *UserRecord, res reservation) (locked bool, err error) {
	if d := res.device; d != nil {
		if d.Failures < DeviceMaxFailures {
			return false, nil
		}
		err = s.st.Update(ctx, func(tx Tx) error {
			cur, err := tx.DeviceByID(ctx, d.ID)
			if errors.Is(err, ErrNotFound) {
				return nil // dropped meanwhile (the per-account cap): nothing to lock
			}
			if err != nil {
				return err
			}
			if cur.Failures < DeviceMaxFailures || cur.Locked {
				return nil
			}
			cur.Locked, locked = true, true
			return tx.SaveDevice(ctx, cur)
		})
		return locked, err
	}
	if reserved.Failures < MaxFailures {
		return false, nil
	}
	err = s.st.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, reserved.ID)
		if err != nil {
			return err
		}
		if u.Failures < MaxFailures || u.Locked {
			return nil
		}
		u.Locked, locked = true, true
		return tx.SaveUser(ctx, u)
	})
	return locked, err
}

// unreserve gives back, in tx, the attempt counted by reserve.
func unreserve(ctx context.Context, tx Tx, userID string, res reservation) error {
	back := func(failures *int, last *time.Time) {
		if *failures > 0 {
			*failures--
		}
		if last.Equal(res.at) {
			*last = res.prevLast
		}
	}
	if res.device != nil {
		d, err := tx.DeviceByID(ctx, res.device.ID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		back(&d.Failures, &d.LastFailureAt)
		return tx.SaveDevice(ctx, d)
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	back(&u.Failures, &u.LastFailureAt)
	return tx.SaveUser(ctx, u)
}

// ghostAttempt throttles an address that has no account exactly like an
// account's untrusted counter, so that ThrottleError does not reveal which
// addresses exist. Its state is in the database, keyed by an HMAC of the
// address, so that a restart changes nothing either.
func (s *Service) ghostAttempt(ctx context.Context, email string, now time.Time) error {
	m := hmac.New(sha256.New, s.ghostKey)
	m.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	key := hex.EncodeToString(m.Sum(nil))
	return s.st.Update(ctx, func(tx Tx) error {
		n, last, err := tx.Ghost(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if n >= MaxFailures {
			return nil // like a locked account: no delay, always refused
		}
		if err := throttle(n, last, now); err != nil {
			return err
		}
		return tx.SaveGhost(ctx, key, n+1, now)
	})
}

// BeginLogin checks e-mail and password and starts a Stage password session
// whose only use is CompleteLogin. Every failure is ErrInvalidCredentials,
// or a *ThrottleError while the account must wait.
func (s *Service) BeginLogin(ctx context.Context, email, password string, c Client) (string, error) {
	now := s.now()
	addr, emailErr := NormalizeEmail(email)
	fail := func(u *UserRecord, detail string) {
		e := audit.Entry{Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure, Detail: "password: " + detail}
		if u != nil {
			e.Actor, e.ActorEmail, e.Target = u.ID, u.Email, u.ID
		} else if emailErr == nil {
			// Only a well-formed address is recorded: people sometimes
			// type their password into the e-mail field.
			e.ActorEmail = addr
		}
		s.record(ctx, e, c)
	}
	if len(password) > MaxPasswordBytes {
		fail(nil, "password too long")
		return "", ErrInvalidCredentials
	}

	var u *UserRecord
	if emailErr == nil {
		err := s.st.View(ctx, func(tx Tx) error {
			var err error
			u, err = tx.UserByEmail(ctx, addr)
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "", fmt.Errorf("account: login: %w", err)
		}
	}
	if u == nil {
		if err := s.ghostAttempt(ctx, email, now); err != nil {
			if !errors.Is(err, ErrThrottled) {
				return "", fmt.Errorf("account: login: %w", err)
			}
			fail(nil, "throttled")
			return "", err
		}
		if _, _, err := s.checkHash(ctx, s.dummyHash, password); err != nil {
			return "", err
		}
		fail(nil, "unknown account")
		return "", ErrInvalidCredentials
	}

	u, res, err := s.reserve(ctx, u.ID, c, now)
	switch {
	case errors.Is(err, errLocked):
		// Locked for untrusted browsers. The password is still checked
		// (the same Argon2 work as any attempt), only to mail the member
		// a way in when it is right; the answer is the same either way.
		ok, _, err := s.checkHash(ctx, u.PasswordHash, password)
		if err != nil && !errors.Is(err, errPHC) {
			return "", err
		}
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: audit.ActionLoginLocked, Outcome: audit.OutcomeDenied, Detail: "untrusted attempt on a locked account"}, c)
		if ok && !u.Disabled && u.MFAEnrolled {
			// After the answer, not before it: a right password must not
			// answer more slowly than a wrong one.
			s.background.Go(func() { s.offerUnlockLink(context.WithoutCancel(ctx), u, c) })
		}
		return "", ErrInvalidCredentials
	case errors.Is(err, ErrThrottled):
		fail(u, "throttled")
		if res.device == nil {
			s.offerThrottledLink(ctx, u, c)
		}
		return "", err
	case err != nil:
		return "", fmt.Errorf("account: login: %w", err)
	}

	ok, rehash, err := s.checkHash(ctx, u.PasswordHash, password)
	if errors.Is(err, errPHC) {
		s.log.ErrorContext(ctx, "stored password hash is unreadable", "user", u.ID)
	} else if err != nil {
		return "", err
	}
	reason := ""
	switch {
	case !ok:
		reason = "wrong password"
	case u.Disabled:
		reason = "account disabled"
	case !u.MFAEnrolled:
		reason = "second factor not set up"
	}
	if reason != "" {
		locked, err := s.settleFailure(ctx, u, res)
		if err != nil {
			return "", fmt.Errorf("account: login: %w", err)
		}
		fail(u, reason)
		if locked {
			s.lockedNow(ctx, u, res.device, c)
		}
		return "", ErrInvalidCredentials
	}

	// A suspended member's right password is given back to the counter
	// and refused with a reason: suspension is no secret from them.
	suspended := false
	err = s.st.Update(ctx, func(tx Tx) error {
		var err error
		if suspended, err = tx.Suspended(ctx, u.ID); err != nil || !suspended {
			return err
		}
		return unreserve(ctx, tx, u.ID, res)
	})
	if err != nil {
		return "", fmt.Errorf("account: login: %w", err)
	}
	if suspended {
		fail(u, "membership suspended")
		return "", &SuspendedError{UserID: u.ID}
	}

	var newHash string
	if rehash {
		if newHash, err = s.hashPassword(ctx, password); err != nil {
			return "", err
		}
	}
	token := newToken()
	sess := s.newSession(token, u.ID, StagePassword, now, c)
	err = s.st.Update(ctx, func(tx Tx) error {
		cur, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		// The account may have changed while we hashed.
		if cur.PasswordHash != u.PasswordHash || cur.Disabled || (cur.Locked && res.device == nil) {
			return ErrInvalidCredentials
		}
		if err := unreserve(ctx, tx, u.ID, res); err != nil {
			return err
		}
		if newHash != "" {
			if cur, err = tx.UserByID(ctx, u.ID); err != nil {
				return err
			}
			cur.PasswordHash = newHash
			if err := tx.SaveUser(ctx, cur); err != nil {
				return err
			}
		}
		return tx.InsertSession(ctx, sess)
	})
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			fail(u, "account changed during login")
			return "", err
		}
		return "", fmt.Errorf("account: login: %w", err)
	}
	if err := s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
		Action: audit.ActionLoginPassword, Outcome: audit.OutcomeSuccess, Detail: "session " + sessionRef(sess.ID)}, c); err != nil {
		return "", err
	}
	return token, nil
}

// lockedNow reports a lock that an attempt has just set: on the account's
// untrusted counter (d nil) or on the trusted device d. Both are audited
// and mailed to the member; the account lock's mail carries an unlock link.
func (s *Service) lockedNow(ctx context.Context, u *UserRecord, d *Device, c Client) {
	s.opts.Metrics.AccountLocked()
	if d != nil {
		s.log.WarnContext(ctx, "trusted device locked after consecutive failures", "user", u.ID, "failures", DeviceMaxFailures)
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: audit.ActionDeviceLocked, Outcome: audit.OutcomeFailure,
			Detail: fmt.Sprintf("device %s trusted no more after %d consecutive failures", sessionRef(d.ID), DeviceMaxFailures)}, c)
		s.notify(ctx, deviceLockedNotice(u.Email, s.now(), c))
		return
	}
	s.log.WarnContext(ctx, "account locked for untrusted browsers after consecutive failures", "user", u.ID, "failures", MaxFailures)
	s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
		Action: audit.ActionLoginLocked, Outcome: audit.OutcomeFailure,
		Detail: fmt.Sprintf("factors locked for untrusted browsers after %d consecutive failures", MaxFailures)}, c)
	now := s.now()
	var link string
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		link, err = s.newUnlockLink(ctx, tx, u, now)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "account: unlock link", "user", u.ID, "error", err)
		return
	}
	s.notify(ctx, lockNotice(u.Email, link, now.Add(UnlockLinkTTL)))
}

// newSession builds a session for token. Half-authenticated sessions are
// short-lived: they only exist to finish the next step.
func (s *Service) newSession(token, userID string, stage Stage, now time.Time, c Client) *Session {
	life := s.opts.AbsoluteTimeout
	switch stage {
	case StagePassword:
		life = min(life, halfSessionTTL)
	case StageEnrol:
		life = min(life, time.Hour)
	}
	return &Session{
		ID: hashToken(token), UserID: userID, Stage: stage,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(life),
		IP: clip(c.IP, 64), UserAgent: clip(c.UserAgent, 256),
	}
}

// CompleteLogin checks the second factor of a Stage password session: a
// six-digit TOTP code or a recovery code. On success the half session is
// deleted and a new token for a Stage full session is returned.
func (s *Service) CompleteLogin(ctx context.Context, sessionToken, code string, c Client) (string, error) {
	now := s.now()
	sess, u, err := s.lookup(ctx, sessionToken, now)
	if err != nil {
		return "", err
	}
	if sess.Stage != StagePassword {
		return "", ErrStage
	}
	code = normCode(code)
	factor := "totp"
	if !isTOTPCode(code) {
		factor = "recovery code"
	}

	token, full := s.fullSession(u.ID, now, c)
	deviceID := s.deviceID(c, u.ID)
	var (
		ok, locked bool
		failure    string
		device     *Device // the trusted device whose counter this attempt uses
	)
	err = s.st.Update(ctx, func(tx Tx) error {
		ctr, refused, err := s.openFactor(ctx, tx, sess, deviceID, now)
		device = ctr.device
		if err != nil || refused != "" {
			failure = refused
			return err
		}
		u := ctr.u
		if factor == "totp" {
			seed, err := s.open(u.TOTPSecret, u.ID)
			if err != nil {
				return err
			}
			if step := matchTOTP(seed, code, now, u.LastTOTPStep); step > 0 {
				u.LastTOTPStep, ok = step, true
				// The login's code is a fresh second factor (StepUpWindow);
				// a recovery code is a way back in, not one.
				full.SteppedUpAt = now
			}
		} else if norm := normRecoveryCode(code); norm != "" {
			if ok, err = tx.UseRecoveryCode(ctx, u.ID, hashRecoveryCode(norm)); err != nil {
				return err
			}
		}
		if !ok {
			failure = "wrong " + factor
			if locked = ctr.fail(now); locked {
				if _, err := tx.DeleteSession(ctx, sess.ID); err != nil {
					return err
				}
			}
		} else {
			ctr.succeed()
		}
		if err := ctr.save(ctx, tx); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		return s.promote(ctx, tx, sess, full)
	})
	if errors.Is(err, ErrThrottled) {
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure, Detail: factor + ": throttled"}, c)
		if device == nil {
			s.offerThrottledLink(ctx, u, c)
		}
		return "", err
	}
	if errors.Is(err, ErrSuspended) {
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: audit.ActionLoginFailure, Outcome: audit.OutcomeDenied, Detail: factor + ": membership suspended"}, c)
		return "", err
	}
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			return "", err
		}
		return "", fmt.Errorf("account: complete login: %w", err)
	}
	if !ok {
		action, outcome := audit.ActionLoginFailure, audit.OutcomeFailure
		if failure == "account locked" {
			action, outcome = audit.ActionLoginLocked, audit.OutcomeDenied
		}
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: action, Outcome: outcome, Detail: factor + ": " + failure}, c)
		if locked {
			s.lockedNow(ctx, u, device, c)
		}
		return "", ErrInvalidCredentials
	}
	action := audit.ActionLoginMFA
	if factor != "totp" {
		action = audit.ActionLoginRecoveryCode
	}
	if err := s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
		Action: action, Outcome: audit.OutcomeSuccess, Detail: "session " + sessionRef(full.ID)}, c); err != nil {
		return "", err
	}
	return token, nil
}

// fullSession makes the Stage full session that replaces a
// half-authenticated one once its second factor is checked (CompleteLogin,
// ConfirmEnrolment), and its token. The token is new so that one seen
// before the second factor is worth nothing after it.
func (s *Service) fullSession(userID string, now time.Time, c Client) (string, *Session) {
	token := newToken()
	return token, s.newSession(token, userID, StageFull, now, c)
}

// promote turns the half-authenticated session half into full (made by
// fullSession), in tx: half ends, full starts, and the member's oldest
// sessions beyond MaxSessions end.
func (s *Service) promote(ctx context.Context, tx Tx, half, full *Session) error {
	// No full session for a suspended member, by whichever way they came
	// (a login suspended since its password step, a re-enrolment link).
	switch suspended, err := tx.Suspended(ctx, full.UserID); {
	case err != nil:
		return err
	case suspended:
		return &SuspendedError{UserID: full.UserID}
	}
	if _, err := tx.DeleteSession(ctx, half.ID); err != nil {
		return err
	}
	if err := tx.InsertSession(ctx, full); err != nil {
		return err
	}
	return s.capSessions(ctx, tx, full.UserID)
}

// capSessions ends a member's oldest sessions beyond MaxSessions.
func (s *Service) capSessions(ctx context.Context, tx Tx, userID string) error {
	list, err := tx.ListSessions(ctx, userID)
	if err != nil {
		return err
	}
	for i := s.opts.MaxSessions; i < len(list); i++ {
		if _, err := tx.DeleteSession(ctx, list[i].ID); err != nil {
			return err
		}
	}
	return nil
}

// normCode forgives the spaces with which apps display codes ("123 456").
func normCode(code string) string {
	if len(code) > maxCodeInputLen {
		return ""
	}
	if c := strings.ReplaceAll(strings.TrimSpace(code), " ", ""); isTOTPCode(c) {
		return c
	}
	return strings.TrimSpace(code)
}

// reauth checks the password of a signed-in member before a sensitive
// change. Wrong passwords count as failures like at login.
func (s *Service) reauth(ctx context.Context, userID, password string, c Client) error {
	if password == "" || len(password) > MaxPasswordBytes {
		return ErrReauthRequired
	}
	now := s.now()
	u, res, err := s.reserve(ctx, userID, c, now)
	switch {
	case errors.Is(err, errLocked):
		return ErrReauthRequired
	case err != nil:
		return err
	}
	ok, _, err := s.checkHash(ctx, u.PasswordHash, password)
	if errors.Is(err, errPHC) {
		s.log.ErrorContext(ctx, "stored password hash is unreadable", "user", u.ID)
	} else if err != nil {
		return err
	}
	if !ok {
		locked, err := s.settleFailure(ctx, u, res)
		if err != nil {
			return fmt.Errorf("account: re-authenticate: %w", err)
		}
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure, Detail: "re-authentication: wrong password"}, c)
		if locked {
			s.lockedNow(ctx, u, res.device, c)
		}
		return ErrReauthRequired
	}
	return s.st.Update(ctx, func(tx Tx) error {
		return unreserve(ctx, tx, userID, res)
	})
}
