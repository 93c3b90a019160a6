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
	"portal/mail"
)

// Device cookies keep an outsider's guessing from locking a member out
// (SECURITY.md AU-8). A complete login gives the browser a cookie, signed
// with a key derived from the secret key and bound to the account, that
// names a row in the devices table. An attempt that presents a valid one
// for the account it is made on counts its failures on that device alone,
// and is not held back by the account's untrusted counter; an attempt
// without one counts on the account's untrusted counter, and the lock at
// MaxFailures stops untrusted attempts only. A member on a new browser
// while that counter waits or is locked gets a single-use unlock link by
// mail, which trusts the browser it is opened in.
const (
	// DeviceMaxFailures locks one trusted device: from then on its
	// attempts count as untrusted ones. A device is the member's own
	// browser, so a few mistakes are plenty.
	DeviceMaxFailures = 10
	// DeviceTTL is how long a device stays trusted after its last
	// complete login.
	DeviceTTL = 180 * 24 * time.Hour
	// UnlockLinkTTL is how long an unlock link works.
	UnlockLinkTTL = 24 * time.Hour
	// unlockLinkEvery spaces the unlock links mailed on attempts with the
	// right password on a locked account, so that they cannot flood the
	// member's mailbox.
	unlockLinkEvery = 15 * time.Minute
)

// ErrLinkInvalid: an unknown, used or expired unlock link.
var ErrLinkInvalid = errors.New("account: link invalid")

// deviceCookie is "v1.<user id>.<random part>.<mac>"; the row's ID is the
// hash of the random part.
func (s *Service) deviceCookie(userID string) (cookie, id string) {
	nonce := newToken()
	return "v1." + userID + "." + nonce + "." + s.deviceMAC(userID, nonce), hashToken(nonce)
}

func (s *Service) deviceMAC(userID, nonce string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("v1." + userID + "." + nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// deviceID returns the devices row that c's cookie names if the cookie is
// genuine and bound to userID, and "" otherwise. The row itself is checked
// by trusted, in the transaction that counts the attempt.
func (s *Service) deviceID(c Client, userID string) string {
	parts := strings.Split(c.Device, ".")
	if len(parts) != 4 || parts[0] != "v1" || parts[1] != userID || !wellFormedToken(parts[2]) {
		return ""
	}
	if !hmac.Equal([]byte(parts[3]), []byte(s.deviceMAC(parts[1], parts[2]))) {
		return ""
	}
	return hashToken(parts[2])
}

// trusted returns the device id if it is userID's, unlocked and used
// recently enough, and nil otherwise.
func (s *Service) trusted(ctx context.Context, tx Tx, id, userID string, now time.Time) (*Device, error) {
	if id == "" {
		return nil, nil
	}
	d, err := tx.DeviceByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.UserID != userID || d.Locked || now.Sub(d.LastUsedAt) > DeviceTTL {
		return nil, nil
	}
	return d, nil
}

// factorCounter is the failure counter that a second-factor attempt (a
// code at login or step-up, a passkey) counts on, inside the transaction
// that judges it: the trusted device's own when there is one, the
// account's untrusted counter otherwise.
type factorCounter struct {
	u      *UserRecord
	device *Device // nil: an untrusted attempt
}

// openFactor starts a second-factor attempt on sess (a code or a passkey,
// at login or at step-up) inside the transaction that judges it, the same
// way for every factor: it reloads the account, makes sure the session
// still exists (ErrUnauthenticated when it ended meanwhile), and picks the
// counter the attempt counts on, the trusted device deviceID names or the
// account's untrusted counter. A blocked account (factorCounter.blocked)
// is refused with the reason for the audit log, "account disabled" or
// "account locked", and a half-authenticated session ends with it; a
// counter still waiting is a *ThrottleError. The counter comes back in
// every case but the first two, for the caller to count on and report.
func (s *Service) openFactor(ctx context.Context, tx Tx, sess *Session, deviceID string, now time.Time) (ctr factorCounter, refused string, err error) {
	u, err := tx.UserByID(ctx, sess.UserID)
	if err != nil {
		return factorCounter{}, "", err
	}
	if _, err := tx.SessionByID(ctx, sess.ID); err != nil {
		return factorCounter{}, "", ErrUnauthenticated
	}
	device, err := s.trusted(ctx, tx, deviceID, u.ID, now)
	if err != nil {
		return factorCounter{}, "", err
	}
	ctr = factorCounter{u: u, device: device}
	if ctr.blocked() {
		refused = "account disabled"
		if !u.Disabled {
			refused = "account locked"
		}
		if sess.Stage != StageFull {
			if _, err := tx.DeleteSession(ctx, sess.ID); err != nil {
				return ctr, "", err
			}
		}
		return ctr, refused, nil
	}
	return ctr, "", ctr.throttle(now)
}

// blocked reports whether the account refuses the attempt before any
// check: disabled, or locked and the attempt untrusted.
func (f factorCounter) blocked() bool { return f.u.Disabled || (f.u.Locked && f.device == nil) }

func (f factorCounter) counts() (*int, *time.Time) {
	if f.device != nil {
		return &f.device.Failures, &f.device.LastFailureAt
	}
	return &f.u.Failures, &f.u.LastFailureAt
}

// throttle refuses an attempt made before the counter's back-off is over.
func (f factorCounter) throttle(now time.Time) error {
	n, last := f.counts()
	return throttle(*n, *last, now)
}

// fail counts a failed attempt and locks the device, or the account for
// untrusted attempts, at its limit; it reports whether it locked.
func (f factorCounter) fail(now time.Time) (locked bool) {
	n, last := f.counts()
	*n++
	*last = now
	switch {
	case f.device != nil && f.device.Failures >= DeviceMaxFailures:
		f.device.Locked = true
	case f.device == nil && f.u.Failures >= MaxFailures:
		f.u.Locked = true
	default:
		return false
	}
	return true
}

// succeed clears the counter.
func (f factorCounter) succeed() {
	n, last := f.counts()
	*n, *last = 0, time.Time{}
}

// save writes the device's counter, if it was the one used, and the user.
func (f factorCounter) save(ctx context.Context, tx Tx) error {
	if f.device != nil {
		if err := tx.SaveDevice(ctx, f.device); err != nil {
			return err
		}
	}
	return tx.SaveUser(ctx, f.u)
}

// TrustDevice is called after a complete login with the new session's
// token: it returns the device cookie to give the browser, the one it
// presented if that is still trusted (its last use is moved to now), or a
// new one.
func (s *Service) TrustDevice(ctx context.Context, sessionToken string, c Client) (string, error) {
	now := s.now()
	sess, u, err := s.lookup(ctx, sessionToken, now)
	if err != nil {
		return "", err
	}
	if sess.Stage != StageFull {
		return "", ErrStage
	}
	cookie := c.Device
	err = s.st.Update(ctx, func(tx Tx) error {
		cookie = c.Device
		d, err := s.trusted(ctx, tx, s.deviceID(c, u.ID), u.ID, now)
		if err != nil {
			return err
		}
		if d != nil {
			d.LastUsedAt = now
			return tx.SaveDevice(ctx, d)
		}
		var id string
		cookie, id = s.deviceCookie(u.ID)
		return tx.InsertDevice(ctx, &Device{ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now})
	})
	if err != nil {
		return "", fmt.Errorf("account: trust device: %w", err)
	}
	return cookie, nil
}

// newUnlockLink stores a single-use unlock link for u and returns it.
func (s *Service) newUnlockLink(ctx context.Context, tx Tx, u *UserRecord, now time.Time) (string, error) {
	token := newToken()
	if err := tx.InsertUnlockLink(ctx, hashToken(token), u.ID, now, now.Add(UnlockLinkTTL)); err != nil {
		return "", err
	}
	return s.opts.PublicURL + "/en/account/unlock/#token=" + token, nil
}

// offerUnlockLink mails u an unlock link after an attempt with the right
// password on an account locked for untrusted browsers, unless one was
// mailed within unlockLinkEvery. The caller answers as for a wrong
// password, so the attempt learns nothing; the member learns from the mail
// how to get in.
func (s *Service) offerUnlockLink(ctx context.Context, u *UserRecord, c Client) {
	s.mailUnlockLink(ctx, u, c, false, "right password from an untrusted browser while locked", newDeviceNotice)
}

// offerThrottledLink mails u an unlock link after the account's untrusted
// counter made an attempt wait (SECURITY.md AU-13). Whoever fails on the
// account from anywhere keeps that counter waiting, up to about 21 hours
// before the lock, and with it the member on a new browser; the link lets
// the member trust that browser (RedeemUnlockLink) and sign in there with
// password and second factor on its own counter. The throttled attempt's
// password is not checked, since that would give anyone who knows the
// address Argon2 work without limit (AU-8), so anyone can cause this mail:
// it goes out only while the member holds no unused, unexpired link, and
// no sooner than unlockLinkEvery after the last one, which keeps it to
// about one a day unless the member spends the links.
func (s *Service) offerThrottledLink(ctx context.Context, u *UserRecord, c Client) {
	if u.Disabled || !u.MFAEnrolled {
		return
	}
	s.background.Go(func() {
		s.mailUnlockLink(context.WithoutCancel(ctx), u, c, true, "untrusted attempts are made to wait", throttledNotice)
	})
}

// mailUnlockLink stores a new unlock link for u and mails it with notice,
// unless one was made within unlockLinkEvery or, when onlyIfNone, u holds
// an unused one still valid. It audits the link with detail.
func (s *Service) mailUnlockLink(ctx context.Context, u *UserRecord, c Client, onlyIfNone bool, detail string,
	notice func(to, link string, expires time.Time) mail.Message) {
	now := s.now()
	var link string
	err := s.st.Update(ctx, func(tx Tx) error {
		last, err := tx.LastUnlockLinkAt(ctx, u.ID)
		if err != nil {
			return err
		}
		if !last.IsZero() && now.Sub(last) < unlockLinkEvery {
			return nil
		}
		if onlyIfNone {
			n, err := tx.LiveUnlockLinks(ctx, u.ID, now)
			if err != nil || n > 0 {
				return err
			}
		}
		link, err = s.newUnlockLink(ctx, tx, u, now)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "account: unlock link", "user", u.ID, "error", err)
		return
	}
	if link == "" {
		return
	}
	s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID, Action: audit.ActionUnlockLinkSent,
		Outcome: audit.OutcomeSuccess, Detail: detail}, c)
	s.notify(ctx, notice(u.Email, link, now.Add(UnlockLinkTTL)))
}

// RedeemUnlockLink spends an unlock link and trusts the browser it is
// opened in: it returns the device cookie to give that browser. The
// account's lock stays on for every other untrusted browser.
func (s *Service) RedeemUnlockLink(ctx context.Context, token string, c Client) (string, error) {
	if !wellFormedToken(token) {
		return "", ErrLinkInvalid
	}
	now := s.now()
	var (
		u      *UserRecord
		cookie string
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		userID, err := tx.ConsumeUnlockLink(ctx, hashToken(token), now)
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		if u.Disabled {
			return ErrLinkInvalid
		}
		var id string
		cookie, id = s.deviceCookie(u.ID)
		return tx.InsertDevice(ctx, &Device{ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now})
	})
	if errors.Is(err, ErrLinkInvalid) || errors.Is(err, ErrNotFound) {
		return "", ErrLinkInvalid
	}
	if err != nil {
		return "", fmt.Errorf("account: unlock link: %w", err)
	}
	if err := s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID, Action: audit.ActionDeviceUnlock,
		Outcome: audit.OutcomeSuccess, Detail: "unlock link opened; this browser is trusted"}, c); err != nil {
		return "", err
	}
	s.notify(ctx, deviceUnlockedNotice(u.Email, now, c))
	return cookie, nil
}
