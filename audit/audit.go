// Package audit is the portal's tamper-evident audit log: who did what to
// which object, when, from where, and with what outcome. Entries are only
// ever appended, and each one carries the SHA-256 hash of its predecessor,
// so that `portal audit verify` can find an edited, inserted or deleted row.
//
// The chain is unkeyed: it proves that the log is internally consistent, not
// who wrote it. An attacker with write access to the database file can
// rebuild the whole chain, so the head hash (Result.Head) should also be
// shipped off the machine, where a rewritten history no longer matches it.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Actions recorded by the account package. Other packages may record their
// own actions (for example "document.view"); Record only checks their shape.
const (
	ActionLoginPassword      = "login.password"
	ActionLoginMFA           = "login.mfa"
	ActionLoginRecoveryCode  = "login.recovery_code"
	ActionLoginFailure       = "login.failure"
	ActionLoginLocked        = "login.locked"
	ActionDeviceLocked       = "login.device_locked"
	ActionUnlockLinkSent     = "login.unlock_link"
	ActionDeviceUnlock       = "login.device_unlock"
	ActionLogout             = "logout"
	ActionSessionRevoke      = "session.revoke"
	ActionSessionRevokeAll   = "session.revoke_all"
	ActionInvitationCreate   = "invitation.create"
	ActionInvitationAccept   = "invitation.accept"
	ActionMFAEnrol           = "mfa.enrol"
	ActionMFAReset           = "mfa.reset"
	ActionRecoveryRegenerate = "recovery_codes.regenerate"
	ActionPasswordChange     = "password.change"
	ActionUserUpdate         = "user.update"
	ActionUserDisable        = "user.disable"
	ActionUserEnable         = "user.enable"
	ActionUserUnlock         = "user.unlock"
	ActionAdminBootstrap     = "admin.bootstrap"
	ActionAccessDenied       = "access.denied"
	ActionStepUp             = "mfa.step_up"
	ActionMFAResetRequest    = "mfa.reset_request"
	ActionMFAResetApprove    = "mfa.reset_approve"
	ActionInvitationRevoke   = "invitation.revoke"
	ActionSessionList        = "session.list"
)

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
)

// ActorSystem is the actor of entries written by the portal itself or by its
// command line, rather than by a signed-in user.
const ActorSystem = "system"

// Genesis is the PrevHash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Limits on free-text fields; longer values are cut, not rejected, so that
// an oversized input never costs us the record of what happened.
const (
	maxField  = 256
	maxDetail = 1024
)

// Entry is one audited event.
type Entry struct {
	ID         int64
	Time       time.Time // UTC
	Actor      string    // user ID, "" when unknown, or ActorSystem
	ActorEmail string
	Action     string
	Target     string
	IP         string
	Outcome    string // OutcomeSuccess, OutcomeFailure or OutcomeDenied
	Detail     string // short and free of secrets
	PrevHash   string
	Hash       string
}

// Filter selects entries for List. Zero fields do not filter.
type Filter struct {
	Actor  string // matches the actor's ID or e-mail address
	Action string
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	Limit  int       // default 50, at most 500
	Offset int
}

// Store keeps the entries. Implementations must make AppendAudit atomic: the
// read of the last entry and the insert of the next one happen in one write
// transaction, so that two concurrent appends cannot fork the chain.
type Store interface {
	// AppendAudit calls next with the last stored entry (the zero Entry when
	// the log is empty) and inserts the entries it returns, in order, with
	// their IDs, all in one transaction.
	AppendAudit(ctx context.Context, next func(last Entry) []Entry) error
	// ListAudit returns one page of the entries that match f, newest first,
	// and the number of all matching entries. f.Limit is already bounded.
	ListAudit(ctx context.Context, f Filter) ([]Entry, int, error)
	// ScanAudit calls fn for every entry in ID order and stops at its first
	// error, which it returns.
	ScanAudit(ctx context.Context, fn func(Entry) error) error
}

// Log writes and checks the audit log.
type Log struct {
	store Store
	now   func() time.Time
	key   []byte // chain key; nil for a plain SHA-256 chain
}

// ChainKey derives the chain key from the portal's secret key, so that the
// audit chain and the other uses of that secret never share a key.
func ChainKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("portal audit chain v1"))
	return mac.Sum(nil)
}

// WithKey returns a Log whose chain hashes are HMAC-SHA256 with key, a
// secret kept outside the database. Without it, someone who can write the
// database file could edit a row and recompute every later hash; with it,
// they cannot produce a chain that verifies.
func (l *Log) WithKey(key []byte) *Log {
	c := *l
	c.key = key
	return &c
}

// New returns a Log over store. A nil clock means time.Now.
func New(store Store, clock func() time.Time) *Log {
	if clock == nil {
		clock = time.Now
	}
	return &Log{store: store, now: clock}
}

// Record appends e to the log. It sets e's ID, Time, PrevHash and Hash.
func (l *Log) Record(ctx context.Context, e Entry) error {
	return l.RecordBatch(ctx, []Entry{e})
}

// RecordBatch appends entries in one transaction (one disk sync for all).
func (l *Log) RecordBatch(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	now := l.now().UTC().Round(0)
	prepared := make([]Entry, len(entries))
	for i, e := range entries {
		if err := validAction(e.Action); err != nil {
			return err
		}
		switch e.Outcome {
		case OutcomeSuccess, OutcomeFailure, OutcomeDenied:
		default:
			return fmt.Errorf("audit: invalid outcome %q", e.Outcome)
		}
		e.Actor = clip(e.Actor, maxField)
		e.ActorEmail = clip(e.ActorEmail, maxField)
		e.Target = clip(e.Target, maxField)
		e.IP = clip(e.IP, maxField)
		e.Detail = clip(e.Detail, maxDetail)
		// Round(0) drops the monotonic reading; the stored form keeps
		// nanoseconds, so the hash recomputes exactly from the stored row.
		if e.Time.IsZero() {
			e.Time = now
		}
		e.Time = e.Time.UTC().Round(0)
		prepared[i] = e
	}
	err := l.store.AppendAudit(ctx, func(last Entry) []Entry {
		out := make([]Entry, len(prepared))
		for i, e := range prepared {
			e.ID = last.ID + 1
			e.PrevHash = last.Hash
			if last.ID == 0 {
				e.PrevHash = Genesis
			}
			e.Hash = l.hash(e)
			out[i], last = e, e
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", prepared[0].Action, err)
	}
	return nil
}

// List returns one page of matching entries, newest first, and the number
// of all matching entries.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, int, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	entries, total, err := l.store.ListAudit(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: list: %w", err)
	}
	return entries, total, nil
}

// Head returns the newest entry, the zero Entry when the log is empty. A
// backup records it so that a restore can tell a truncated log from a
// whole one.
func (l *Log) Head(ctx context.Context) (Entry, error) {
	entries, _, err := l.store.ListAudit(ctx, Filter{Limit: 1})
	if err != nil {
		return Entry{}, fmt.Errorf("audit: head: %w", err)
	}
	if len(entries) == 0 {
		return Entry{}, nil
	}
	return entries[0], nil
}

// Result is the outcome of Verify.
type Result struct {
	Entries  int    // entries read
	FirstBad int64  // ID of the first entry that breaks the chain; 0 if none
	Reason   string // why FirstBad is bad
	Head     string // hash of the last entry read, to compare with a copy kept elsewhere
	LastID   int64  // ID of the last entry read
	// Missing says how the log fails the head VerifyHead was told to
	// expect: it ends before that entry, or holds another there. Empty
	// when the log holds it, or when no head was expected.
	Missing string
}

// OK reports whether the chain verified and holds the expected head.
func (r Result) OK() bool { return r.FirstBad == 0 && r.Missing == "" }

// Last returns the head of the last entry read.
func (r Result) Last() Head { return Head{ID: r.LastID, MAC: r.Head} }

// errStop ends a scan early once the first bad entry is found.
var errStop = errors.New("stop")

// Verify walks the whole log in ID order and reports the first entry that
// does not follow from its predecessor: IDs must run 1, 2, 3, … without a
// gap, each PrevHash must equal the previous entry's Hash (Genesis for the
// first), and each Hash must recompute. An edited row fails its own hash; a
// deleted row leaves a gap; a row inserted by renumbering breaks the link of
// the row after it. Truncation of the newest rows is only visible against a
// copy of Head kept elsewhere: see VerifyHead.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	return l.VerifyHead(ctx, Head{})
}

// VerifyHead is Verify that also requires the log to hold want, a head
// recorded earlier (the zero Head requires nothing): an entry with want.ID
// whose MAC is want.MAC. Entries after it are fine, since the log grows;
// a log that ends before it has lost its newest entries, and one that
// holds another entry there was rewritten. Result.Missing says which.
func (l *Log) VerifyHead(ctx context.Context, want Head) (Result, error) {
	var (
		res   Result
		macAt string // MAC of the entry with want.ID
	)
	prev := Entry{Hash: Genesis}
	err := l.store.ScanAudit(ctx, func(e Entry) error {
		res.Entries++
		bad := func(reason string) error {
			res.FirstBad, res.Reason = e.ID, reason
			return errStop
		}
		if e.ID != prev.ID+1 {
			return bad(fmt.Sprintf("expected id %d, found %d", prev.ID+1, e.ID))
		}
		if e.PrevHash != prev.Hash {
			return bad("prev_hash does not match the hash of the previous entry")
		}
		if l.hash(e) != e.Hash {
			return bad("hash does not match the entry's contents")
		}
		prev = e
		res.Head, res.LastID = e.Hash, e.ID
		if e.ID == want.ID {
			macAt = e.Hash
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return res, fmt.Errorf("audit: verify: %w", err)
	}
	switch {
	case res.FirstBad != 0 || want.ID == 0:
	case res.LastID < want.ID:
		res.Missing = fmt.Sprintf("the log ends at entry %d, before the expected head %d: its newest entries are gone", res.LastID, want.ID)
	case !hmac.Equal([]byte(macAt), []byte(strings.ToLower(want.MAC))):
		res.Missing = fmt.Sprintf("entry %d is not the expected head: its MAC is %s, the head says %s", want.ID, macAt, want.MAC)
	}
	return res, nil
}

// Hash returns the entry's chain hash: the lower-case hex SHA-256 of its
// canonical encoding.
//
// The canonical encoding is the concatenation of netstrings
// ("<decimal byte length>:<bytes>,") of, in this order: the version tag
// "portal-audit-v1", ID in decimal, Time in UTC as
// "2006-01-02T15:04:05.000000000Z", Actor, ActorEmail, Action, Target, IP,
// Outcome, Detail and PrevHash. Length prefixes make the encoding
// unambiguous whatever bytes the fields hold; Hash itself is excluded.
func Hash(e Entry) string { return hashWith(nil, e) }

func (l *Log) hash(e Entry) string { return hashWith(l.key, e) }

// hashWith is Hash, keyed with HMAC-SHA256 when key is set.
func hashWith(key []byte, e Entry) string {
	h := sha256.New()
	if key != nil {
		h = hmac.New(sha256.New, key)
	}
	for _, f := range []string{
		"portal-audit-v1",
		strconv.FormatInt(e.ID, 10),
		e.Time.UTC().Format(TimeFormat),
		e.Actor, e.ActorEmail, e.Action, e.Target, e.IP, e.Outcome, e.Detail,
		e.PrevHash,
	} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
		h.Write([]byte{','})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TimeFormat is the fixed-width UTC form of Entry.Time in the hash and in
// storage; fixed width keeps stored times ordered as strings.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

func validAction(a string) error {
	if a == "" || len(a) > 64 {
		return fmt.Errorf("audit: invalid action %q", a)
	}
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("audit: invalid action %q", a)
		}
	}
	return nil
}

// clip cuts s to at most n bytes on a rune boundary and replaces invalid
// UTF-8, so that stored text always reads back byte for byte.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
