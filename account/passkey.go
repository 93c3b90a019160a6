package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"portal/audit"
	"portal/mail"
)

// Passkeys are WebAuthn credentials a member registers as a second factor:
// at login one may take the place of the TOTP code (the password stays the
// first factor), and a signed-in member proves with one that they are still
// at the keyboard (step-up). User verification (the authenticator's PIN or
// biometric) is required at registration and at every use. The portal keeps
// the credential ID and public key, never a secret.

// Audited passkey actions.
const (
	ActionPasskeyAdd    = "passkey.add"
	ActionPasskeyRemove = "passkey.remove"
	ActionPasskeyRename = "passkey.rename"
	ActionLoginPasskey  = "login.passkey"
)

// ErrPasskey means the browser's answer to a passkey ceremony was not
// accepted: no ceremony under way, expired, malformed, or its signature,
// challenge, origin or user verification did not check out.
var ErrPasskey = errors.New("account: passkey not accepted")

const (
	// MaxPasskeys bounds the passkeys of one member.
	MaxPasskeys = 10
	// ceremonyTTL is how long a challenge stays valid: enough to find the
	// key and touch it, short enough not to linger.
	ceremonyTTL    = 5 * time.Minute
	maxPasskeyName = 64
	// maxAnswerBytes bounds the browser's answer to a ceremony; a real one
	// is a few kilobytes.
	maxAnswerBytes = 16 << 10
)

// Ceremony kinds; a session has at most one of each under way.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"
	ceremonyStepUp   = "step-up"
)

// Passkey is a member's passkey as the member sees it.
type Passkey struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// PasskeyRecord is a stored passkey: public material only.
type PasskeyRecord struct {
	Passkey
	UserID          string
	CredentialID    []byte
	PublicKey       []byte // COSE_Key
	AttestationType string
	AAGUID          []byte
	SignCount       uint32
	Flags           byte // webauthn.CredentialFlags as one byte
	Transports      []string
}

// RelyingParty is the site passkeys are bound to: ID is its host name (the
// browser binds each passkey to it), Origin the scheme://host[:port] the
// member's browser shows.
type RelyingParty struct {
	ID, Origin string
}

// RelyingPartyFor derives the relying party from an origin such as
// https://portal.example.
func RelyingPartyFor(origin string) (RelyingParty, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return RelyingParty{}, fmt.Errorf("account: %q is not an http(s) origin", origin)
	}
	// Browsers bind passkeys to a domain; an IP address cannot be one.
	if net.ParseIP(u.Hostname()) != nil {
		return RelyingParty{}, fmt.Errorf("account: passkeys need a host name, not the address %s", u.Hostname())
	}
	return RelyingParty{ID: u.Hostname(), Origin: u.Scheme + "://" + u.Host}, nil
}

func (s *Service) webAuthn(rp RelyingParty) (*webauthn.WebAuthn, error) {
	w, err := webauthn.New(&webauthn.Config{
		RPID:          rp.ID,
		RPDisplayName: s.opts.Issuer,
		RPOrigins:     []string{rp.Origin},
		// No attestation: the portal does not restrict authenticator
		// models, and "none" tells the browser to send nothing that
		// identifies the device.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("account: webauthn: %w", err)
	}
	return w, nil
}

// webAuthnUser is a member as go-webauthn needs them. The user handle is
// the random account ID: it says nothing about the member.
type webAuthnUser struct {
	u     *UserRecord
	creds []webauthn.Credential
}

func (w webAuthnUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w webAuthnUser) WebAuthnName() string                       { return w.u.Email }
func (w webAuthnUser) WebAuthnDisplayName() string                { return w.u.DisplayName }
func (w webAuthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func credential(p PasskeyRecord) webauthn.Credential {
	c := webauthn.Credential{
		ID:              p.CredentialID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Flags:           webauthn.CredentialFlagsFromMsgpByte(p.Flags),
		Authenticator:   webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

func credentials(ps []PasskeyRecord) []webauthn.Credential {
	out := make([]webauthn.Credential, len(ps))
	for i, p := range ps {
		out[i] = credential(p)
	}
	return out
}

// normPasskeyName trims a passkey's name and checks that it is 1–64
// characters of printable text.
func normPasskeyName(s string) (string, error) { return normText("name", maxPasskeyName, s) }

// sessionAt finds the live session of token at stage, with its user.
func (s *Service) sessionAt(ctx context.Context, token string, stage Stage, now time.Time) (*Session, *UserRecord, error) {
	sess, u, err := s.lookup(ctx, token, now)
	if err != nil {
		return nil, nil, err
	}
	if sess.Stage != stage {
		return nil, nil, ErrStage
	}
	return sess, u, nil
}

// beginCeremony keeps a ceremony's data for the session.
func (s *Service) beginCeremony(ctx context.Context, sessionID, kind string, sd *webauthn.SessionData, now time.Time) error {
	data, err := json.Marshal(sd)
	if err != nil {
		return fmt.Errorf("account: passkey ceremony: %w", err)
	}
	return s.st.Update(ctx, func(tx Tx) error {
		return tx.PutCeremony(ctx, sessionID, kind, data, now.Add(ceremonyTTL))
	})
}

// takeCeremony returns the session's ceremony of kind and ends it: each
// challenge (32 random bytes from go-webauthn) is answered at most once
// (SECURITY.md MF-8).
func takeCeremony(ctx context.Context, tx Tx, sessionID, kind string, now time.Time) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	data, err := tx.TakeCeremony(ctx, sessionID, kind, now)
	if errors.Is(err, ErrNotFound) {
		return sd, fmt.Errorf("%w: no %s ceremony under way", ErrPasskey, kind)
	}
	if err != nil {
		return sd, err
	}
	if err := json.Unmarshal(data, &sd); err != nil {
		return sd, fmt.Errorf("account: passkey ceremony: %w", err)
	}
	return sd, nil
}

// ListPasskeys returns the member's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	var ps []PasskeyRecord
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		ps, err = tx.ListPasskeys(ctx, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account: list passkeys: %w", err)
	}
	out := make([]Passkey, len(ps))
	for i, p := range ps {
		out[i] = p.Passkey
	}
	return out, nil
}

// BeginPasskeyRegistration starts adding a passkey to the account of a
// full session. Adding a factor needs the current password, as changing
// the password does, so that a session left open is not enough. It returns
// the options for navigator.credentials.create, as JSON.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, token string, rp RelyingParty, password string, c Client) (json.RawMessage, error) {
	now := s.now()
	sess, u, err := s.sessionAt(ctx, token, StageFull, now)
	if err != nil {
		return nil, err
	}
	if err := s.reauth(ctx, u.ID, password, c); err != nil {
		return nil, err
	}
	var ps []PasskeyRecord
	if err := s.st.View(ctx, func(tx Tx) error {
		ps, err = tx.ListPasskeys(ctx, u.ID)
		return err
	}); err != nil {
		return nil, fmt.Errorf("account: passkeys: %w", err)
	}
	if len(ps) >= MaxPasskeys {
		return nil, &InputError{Field: "passkeys", Reason: fmt.Sprintf("at most %d passkeys per account; remove one first", MaxPasskeys)}
	}
	w, err := s.webAuthn(rp)
	if err != nil {
		return nil, err
	}
	user := webAuthnUser{u: u, creds: credentials(ps)}
	creation, sd, err := w.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()))
	if err != nil {
		return nil, fmt.Errorf("account: begin passkey registration: %w", err)
	}
	if err := s.beginCeremony(ctx, sess.ID, ceremonyRegister, sd, now); err != nil {
		return nil, err
	}
	return json.Marshal(creation)
}

// FinishPasskeyRegistration checks the browser's answer to the
// registration begun for the session and stores the new passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, token string, rp RelyingParty, name string, answer []byte, c Client) (Passkey, error) {
	now := s.now()
	name, err := normPasskeyName(name)
	if err != nil {
		return Passkey{}, err
	}
	sess, u, err := s.sessionAt(ctx, token, StageFull, now)
	if err != nil {
		return Passkey{}, err
	}
	w, err := s.webAuthn(rp)
	if err != nil {
		return Passkey{}, err
	}
	var rec *PasskeyRecord
	// A refused answer still spends the ceremony: the transaction commits
	// its removal, and the refusal is returned after it.
	var refused error
	refuse := func(err error) error { refused = err; return nil }
	err = s.st.Update(ctx, func(tx Tx) error {
		sd, err := takeCeremony(ctx, tx, sess.ID, ceremonyRegister, now)
		if err != nil {
			return err
		}
		if len(answer) > maxAnswerBytes {
			return refuse(fmt.Errorf("%w: answer too large", ErrPasskey))
		}
		parsed, err := protocol.ParseCredentialCreationResponseBytes(answer)
		if err != nil {
			return refuse(fmt.Errorf("%w: %w", ErrPasskey, err))
		}
		ps, err := tx.ListPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(ps) >= MaxPasskeys {
			return refuse(&InputError{Field: "passkeys", Reason: fmt.Sprintf("at most %d passkeys per account; remove one first", MaxPasskeys)})
		}
		cred, err := w.CreateCredential(webAuthnUser{u: u, creds: credentials(ps)}, sd, parsed)
		if err != nil {
			return refuse(fmt.Errorf("%w: %w", ErrPasskey, err))
		}
		// go-webauthn checked the flag already, because the ceremony asked
		// for it; the rule is the portal's, so it is checked here too.
		if !cred.Flags.UserVerified {
			return refuse(fmt.Errorf("%w: user not verified", ErrPasskey))
		}
		rec = &PasskeyRecord{
			Passkey:         Passkey{ID: newUserID(), Name: name, CreatedAt: now},
			UserID:          u.ID,
			CredentialID:    cred.ID,
			PublicKey:       cred.PublicKey,
			AttestationType: cred.AttestationType,
			AAGUID:          cred.Authenticator.AAGUID,
			SignCount:       cred.Authenticator.SignCount,
			Flags:           cred.Flags.MsgpByte(),
		}
		if rec.AAGUID == nil {
			rec.AAGUID = []byte{}
		}
		for _, t := range cred.Transport {
			rec.Transports = append(rec.Transports, string(t))
		}
		return tx.InsertPasskey(ctx, rec)
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		if errors.Is(err, ErrPasskey) || errors.Is(err, ErrConflict) {
			s.record(ctx, actorEntryRec(u, ActionPasskeyAdd, u.ID, audit.OutcomeFailure, err.Error()), c)
		}
		if errors.Is(err, ErrConflict) {
			return Passkey{}, fmt.Errorf("%w: this passkey is already registered", ErrPasskey)
		}
		return Passkey{}, err
	}
	if err := s.record(ctx, actorEntryRec(u, ActionPasskeyAdd, u.ID, audit.OutcomeSuccess, "passkey "+rec.ID+": "+name), c); err != nil {
		return Passkey{}, err
	}
	s.notify(ctx, noticePasskey(u.Email, rec.Passkey, true, now, c))
	return rec.Passkey, nil
}

// noticePasskey tells the member that a passkey was added or removed, so
// that a change they did not make does not go unnoticed.
func noticePasskey(to string, p Passkey, added bool, at time.Time, c Client) mail.Message {
	name := "\"" + p.Name + "\""
	if added {
		return mail.Message{To: to, Subject: "A passkey was added to your account", Text: noticeIntro +
			fmt.Sprintf("On %s a passkey named %s was added to your account%s.\n", at.UTC().Format(noticeTime), name, from(c)) +
			"It can take the place of the code from your authenticator app when you sign in.\n" + noticeEnd}
	}
	return mail.Message{To: to, Subject: "A passkey was removed from your account", Text: noticeIntro +
		fmt.Sprintf("On %s the passkey named %s was removed from your account%s.\n", at.UTC().Format(noticeTime), name, from(c)) +
		"It can no longer be used to sign in.\n" + noticeEnd}
}

// RenamePasskey gives one of the member's passkeys a new name.
func (s *Service) RenamePasskey(ctx context.Context, user *User, id, name string, c Client) (Passkey, error) {
	name, err := normPasskeyName(name)
	if err != nil {
		return Passkey{}, err
	}
	var renamed Passkey
	err = s.st.Update(ctx, func(tx Tx) error {
		if err := tx.RenamePasskey(ctx, user.ID, id, name); err != nil {
			return err
		}
		ps, err := tx.ListPasskeys(ctx, user.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.ID == id {
				renamed = p.Passkey
			}
		}
		return nil
	})
	if err != nil {
		return Passkey{}, err
	}
	e := actorEntry(user, ActionPasskeyRename, user.ID, audit.OutcomeSuccess)
	e.Detail = "passkey " + id + ": " + name
	if err := s.record(ctx, e, c); err != nil {
		return Passkey{}, err
	}
	return renamed, nil
}

// RemovePasskey deletes one of the member's passkeys and returns it.
func (s *Service) RemovePasskey(ctx context.Context, user *User, id string, c Client) (Passkey, error) {
	var removed Passkey
	err := s.st.Update(ctx, func(tx Tx) error {
		ps, err := tx.ListPasskeys(ctx, user.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.ID == id {
				removed = p.Passkey
				return tx.DeletePasskey(ctx, user.ID, id)
			}
		}
		return ErrNotFound
	})
	if err != nil {
		return Passkey{}, err
	}
	e := actorEntry(user, ActionPasskeyRemove, user.ID, audit.OutcomeSuccess)
	e.Detail = "passkey " + removed.ID + ": " + removed.Name
	if err := s.record(ctx, e, c); err != nil {
		return Passkey{}, err
	}
	s.notify(ctx, noticePasskey(user.Email, removed, false, s.now(), c))
	return removed, nil
}

// BeginPasskeyLogin starts the second step of a login with a passkey, for
// a session that has passed the password step. It returns the options for
// navigator.credentials.get, as JSON, or ErrNotFound when the member has
// no passkey.
func (s *Service) BeginPasskeyLogin(ctx context.Context, token string, rp RelyingParty) (json.RawMessage, error) {
	return s.beginAssertion(ctx, token, rp, StagePassword, ceremonyLogin)
}

// BeginPasskeyStepUp starts a passkey assertion for a full session, to
// prove again that its member is present.
func (s *Service) BeginPasskeyStepUp(ctx context.Context, token string, rp RelyingParty) (json.RawMessage, error) {
	return s.beginAssertion(ctx, token, rp, StageFull, ceremonyStepUp)
}

func (s *Service) beginAssertion(ctx context.Context, token string, rp RelyingParty, stage Stage, kind string) (json.RawMessage, error) {
	now := s.now()
	sess, u, err := s.sessionAt(ctx, token, stage, now)
	if err != nil {
		return nil, err
	}
	var ps []PasskeyRecord
	if err := s.st.View(ctx, func(tx Tx) error {
		ps, err = tx.ListPasskeys(ctx, u.ID)
		return err
	}); err != nil {
		return nil, fmt.Errorf("account: passkeys: %w", err)
	}
	if len(ps) == 0 {
		return nil, ErrNotFound
	}
	w, err := s.webAuthn(rp)
	if err != nil {
		return nil, err
	}
	assertion, sd, err := w.BeginLogin(webAuthnUser{u: u, creds: credentials(ps)},
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("account: begin passkey assertion: %w", err)
	}
	if err := s.beginCeremony(ctx, sess.ID, kind, sd, now); err != nil {
		return nil, err
	}
	return json.Marshal(assertion)
}

// CompletePasskeyLogin checks a passkey assertion as the second factor of
// a Stage password session, as CompleteLogin checks a code: a failure
// counts as a wrong code does (checkAssertion), and success replaces the
// half session with a full one, whose new token it returns.
func (s *Service) CompletePasskeyLogin(ctx context.Context, token string, rp RelyingParty, answer []byte, c Client) (string, error) {
	now := s.now()
	sess, u, err := s.sessionAt(ctx, token, StagePassword, now)
	if err != nil {
		return "", err
	}
	full, fullSess := s.fullSession(u.ID, now, c)
	// As the login's TOTP code, the passkey is a fresh second factor
	// (StepUpWindow).
	fullSess.SteppedUpAt = now
	used, failure, locked, device, err := s.checkAssertion(ctx, sess, rp, ceremonyLogin, answer, now, c, func(tx Tx) error {
		return s.promote(ctx, tx, sess, fullSess)
	})
	if errors.Is(err, ErrThrottled) {
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure, Detail: "passkey: throttled"}, c)
		if device == nil {
			s.offerThrottledLink(ctx, u, c)
		}
		return "", err
	}
	if err != nil {
		return "", err
	}
	if failure != "" {
		action, outcome := audit.ActionLoginFailure, audit.OutcomeFailure
		if failure == "account locked" {
			action, outcome = audit.ActionLoginLocked, audit.OutcomeDenied
		}
		s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
			Action: action, Outcome: outcome, Detail: "passkey: " + failure}, c)
		if locked {
			s.lockedNow(ctx, u, device, c)
		}
		return "", ErrInvalidCredentials
	}
	if err := s.record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Target: u.ID,
		Action: ActionLoginPasskey, Outcome: audit.OutcomeSuccess,
		Detail: "passkey " + used + ", session " + sessionRef(fullSess.ID)}, c); err != nil {
		return "", err
	}
	return full, nil
}

// PasskeyStepUp checks a passkey assertion for a full session: the member
// is at the keyboard now, and the session is stepped up (MarkSteppedUp, as
// with a fresh code). A failure counts as a wrong code does
// (checkAssertion). It returns when the step-up lapses.
func (s *Service) PasskeyStepUp(ctx context.Context, token string, rp RelyingParty, answer []byte, c Client) (time.Time, error) {
	now := s.now()
	sess, u, err := s.sessionAt(ctx, token, StageFull, now)
	if err != nil {
		return time.Time{}, err
	}
	_, failure, locked, device, err := s.checkAssertion(ctx, sess, rp, ceremonyStepUp, answer, now, c, func(Tx) error { return nil })
	if errors.Is(err, ErrThrottled) {
		s.record(ctx, actorEntryRec(u, audit.ActionStepUp, u.ID, audit.OutcomeFailure, "passkey: throttled"), c)
		return time.Time{}, err
	}
	if err != nil {
		return time.Time{}, err
	}
	if failure != "" {
		s.record(ctx, actorEntryRec(u, audit.ActionStepUp, u.ID, audit.OutcomeFailure, "passkey: "+failure), c)
		if locked {
			s.lockedNow(ctx, u, device, c)
		}
		return time.Time{}, ErrInvalidCredentials
	}
	return s.MarkSteppedUp(ctx, &u.User, sess, "passkey", c)
}

// checkAssertion answers the session's ceremony of kind with the browser's
// assertion, in one transaction with the throttle and failure counter that
// apply, as CompleteLogin counts a code: the browser's trusted device when
// it has one, the account's untrusted counter otherwise. On success it
// records the passkey's use, clears the counter and runs then; it returns
// the passkey's ID. A refusal comes back as failure (a reason for the audit
// log), with locked set when it locked the device or the account (which
// also ends the session, as a wrong code that locks does) and device the
// counter's device, for lockedNow.
func (s *Service) checkAssertion(ctx context.Context, sess *Session, rp RelyingParty, kind string, answer []byte,
	now time.Time, c Client, then func(Tx) error) (used, failure string, locked bool, device *Device, err error) {
	w, err := s.webAuthn(rp)
	if err != nil {
		return "", "", false, nil, err
	}
	deviceID := s.deviceID(c, sess.UserID)
	err = s.st.Update(ctx, func(tx Tx) error {
		ctr, refused, err := s.openFactor(ctx, tx, sess, deviceID, now)
		device = ctr.device
		if err != nil || refused != "" {
			failure = refused
			return err
		}
		u := ctr.u
		sd, err := takeCeremony(ctx, tx, sess.ID, kind, now)
		if err != nil && !errors.Is(err, ErrPasskey) {
			return err
		}
		var p *PasskeyRecord
		if err == nil {
			if p, failure, err = s.verifyAssertion(ctx, tx, w, u, sd, answer); err != nil {
				return err
			}
		} else {
			failure = "no challenge under way"
		}
		if failure != "" {
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
		if failure != "" {
			return nil
		}
		used = p.ID
		if err := tx.UsePasskey(ctx, p.ID, p.SignCount, p.Flags, now); err != nil {
			return err
		}
		return then(tx)
	})
	if err != nil && !errors.Is(err, ErrThrottled) && !errors.Is(err, ErrUnauthenticated) {
		err = fmt.Errorf("account: passkey: %w", err)
	}
	return used, failure, locked, device, err
}

// verifyAssertion checks one assertion against the member's passkeys and
// returns the passkey used, updated with the assertion's counter and
// flags, or the reason it was refused, or the store's error.
func (s *Service) verifyAssertion(ctx context.Context, tx Tx, w *webauthn.WebAuthn, u *UserRecord, sd webauthn.SessionData, answer []byte) (*PasskeyRecord, string, error) {
	if len(answer) > maxAnswerBytes {
		return nil, "answer too large", nil
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(answer)
	if err != nil {
		return nil, "malformed assertion", nil
	}
	ps, err := tx.ListPasskeys(ctx, u.ID)
	if err != nil {
		// The store's failure, not the member's: it must not count.
		return nil, "", err
	}
	cred, err := w.ValidateLogin(webAuthnUser{u: u, creds: credentials(ps)}, sd, parsed)
	if err != nil {
		s.log.InfoContext(ctx, "passkey assertion refused", "user", u.ID, "error", err)
		return nil, "assertion not valid", nil
	}
	if !cred.Flags.UserVerified {
		return nil, "user not verified", nil
	}
	// A counter that went backwards means two copies of the key: refuse,
	// the member's other factors still work.
	if cred.Authenticator.CloneWarning {
		return nil, "signature counter went backwards", nil
	}
	for i := range ps {
		if bytes.Equal(ps[i].CredentialID, cred.ID) {
			p := ps[i]
			p.SignCount, p.Flags = cred.Authenticator.SignCount, cred.Flags.MsgpByte()
			return &p, "", nil
		}
	}
	return nil, "unknown passkey", nil
}
