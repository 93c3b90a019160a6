// Package account manages the portal's members: invitations, passwords,
// TOTP second factors and recovery codes, login with throttling and lockout,
// server-side sessions, and the admin operations on accounts. It holds the
// rules; persistence is behind the Store interface and HTTP is elsewhere.
//
// Documented security choices (SECURITY.md AU-8, AU-11, SE-4, SE-6):
//   - A session starts at Stage password (only the second-factor step is
//     allowed) or Stage enrol (only TOTP setup), and becomes Stage full (AAL2)
//     with a new token. Idle timeout 30 min, absolute lifetime 12 h; a
//     half-authenticated session lives at most 10 min. At most MaxSessions
//     full sessions per member; the oldest are ended beyond that.
//   - Password and second-factor failures share one consecutive-failure
//     counter: per trusted device for attempts that present the device
//     cookie of a complete login (device.go), and per account for all
//     others. After 5 failures every attempt waits 2^(n-5) s (at most
//     15 min). A device locks at 10 and is trusted no more; the account's
//     untrusted counter locks at 100 (NIST SP 800-63B-4), which stops
//     untrusted attempts only, until an admin unlocks it; a member on a new
//     browser meanwhile gets a single-use unlock link by mail. So an
//     outsider who knows only an address cannot keep its member out. The
//     counters and locks are stored, so they survive restarts. A lockout
//     only blocks sign-in; it never deletes data, and each lock and unlock
//     is audited and mailed to the member.
//   - Unknown e-mail addresses get the same error, the same Argon2 work and
//     the same throttling as known ones, kept in the database too, so that
//     a restart does not tell them apart.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"portal/access"
	"portal/audit"
	"portal/metrics"
)

// Role is a member's role.
type Role string

// Roles.
const (
	RoleMember  Role = "member"
	RoleTrainer Role = "trainer"
	RoleAdmin   Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleMember || r == RoleTrainer || r == RoleAdmin
}

// GroupMembers is the access group every member belongs to.
const GroupMembers = access.Members

// User is a member as the rest of the portal sees it: no secrets.
type User struct {
	ID          string // random 16-byte hex
	Email       string // lower-cased, trimmed
	DisplayName string
	Role        Role
	Groups      []string // sorted; always includes GroupMembers
	Disabled    bool
	MFAEnrolled bool
	Locked      bool // factors locked after MaxFailures consecutive failures
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Subject is the one mapping from a member to the subject that
// access.CanSee judges: their groups. The role is left out on purpose: an
// admin sees content through the admin's own groups (see package access). A
// nil or disabled user is a subject that sees nothing.
func (u *User) Subject() access.Subject {
	if u == nil || u.Disabled {
		return access.Subject{}
	}
	return access.Subject{Groups: u.Groups}
}

// InGroup reports whether u belongs to group g.
func (u *User) InGroup(g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// Stage is how far a session has authenticated.
type Stage string

// Stages.
const (
	// StagePassword: the password was right; only the second-factor step
	// (CompleteLogin) is allowed.
	StagePassword Stage = "password"
	// StageEnrol: an invited member set a password and is setting up TOTP;
	// only ConfirmEnrolment is allowed.
	StageEnrol Stage = "enrol"
	// StageFull: password and second factor (AAL2).
	StageFull Stage = "full"
)

// Session is a server-side session. The token the browser holds is never
// stored; ID is its hex SHA-256.
type Session struct {
	ID         string
	UserID     string
	Stage      Stage
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end of life
	IP         string
	UserAgent  string
	Current    bool // set by ListSessions for the caller's own session
	// SteppedUpAt is when the session last passed a second factor (at
	// login or on the step-up route); zero when never. See SteppedUp.
	SteppedUpAt time.Time
}

// Client describes where a request came from, for sessions and the audit
// log, and the device cookie it presented (empty if none).
type Client struct {
	IP, UserAgent string
	Device        string
}

// Invitation is what an invitation token grants.
type Invitation struct {
	Email     string
	Role      Role
	Groups    []string
	ExpiresAt time.Time
	// Reset is true for a re-enrolment token issued by ResetMFA: accepting
	// it keeps the account and replaces its password and TOTP.
	Reset bool
}

// TOTPEnrolment is what a member needs to add the portal to an
// authenticator app.
type TOTPEnrolment struct {
	Secret string // base32, for manual entry
	URL    string // otpauth:// URI
	QRSVG  string // standalone <svg> document of URL; no scripts, no external references
}

// Errors. The API maps them to statuses; compare with errors.Is.
var (
	// ErrInvalidCredentials is the only login failure: unknown e-mail, wrong
	// password, wrong code, disabled or locked account all look the same.
	ErrInvalidCredentials = errors.New("account: invalid credentials")
	// ErrThrottled: too many recent failures; see ThrottleError.RetryAfter.
	ErrThrottled = errors.New("account: too many attempts")
	// ErrUnauthenticated: no, expired or revoked session.
	ErrUnauthenticated = errors.New("account: not authenticated")
	// ErrStage: the session is at the wrong stage for this step.
	ErrStage     = errors.New("account: session at the wrong stage")
	ErrForbidden = errors.New("account: forbidden")
	ErrNotFound  = errors.New("account: not found")
	// ErrInvitationInvalid: unknown, used or expired invitation.
	ErrInvitationInvalid = errors.New("account: invitation invalid")
	// ErrWeakPassword is wrapped in a *PasswordError with a reason.
	ErrWeakPassword = errors.New("account: weak password")
	// ErrConflict: the change clashes with existing state, such as an
	// e-mail address already in use or removing the last admin.
	ErrConflict = errors.New("account: conflict")
	// ErrReauthRequired: a sensitive change needs the current password.
	ErrReauthRequired = errors.New("account: re-authentication required")
	// ErrInvalidInput: a malformed argument, such as an e-mail address, a
	// role or a group name (400).
	ErrInvalidInput = errors.New("account: invalid input")
	// ErrResetMailNotQueued: a reset was done and committed, but the mail
	// with its re-enrolment link could not be queued; ResendResetLink
	// sends a new one.
	ErrResetMailNotQueued = errors.New("account: the reset is done but its link could not be mailed")
	// ErrSuspended: the password was right but the membership is
	// suspended (package attest); see SuspendedError.
	ErrSuspended = errors.New("account: membership suspended")
)

// SuspendedError refuses the sign-in of a member whose attestation lapsed.
// It is returned only after the right password, so it tells nothing to
// someone who knows only the address; UserID lets the caller say whom the
// member should contact (attest.Service.Contact).
type SuspendedError struct {
	UserID string
}

func (e *SuspendedError) Error() string { return ErrSuspended.Error() }

func (e *SuspendedError) Unwrap() error { return ErrSuspended }

// ThrottleError is returned while an account must wait before the next
// attempt. It wraps ErrThrottled.
type ThrottleError struct {
	RetryAfter time.Duration // whole seconds, at least 1 s
}

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("%v: retry after %v", ErrThrottled, e.RetryAfter)
}

func (e *ThrottleError) Unwrap() error { return ErrThrottled }

// PasswordError says why a password was refused, in words safe to show the
// user. It wraps ErrWeakPassword.
type PasswordError struct {
	Reason string
}

func (e *PasswordError) Error() string { return ErrWeakPassword.Error() + ": " + e.Reason }

func (e *PasswordError) Unwrap() error { return ErrWeakPassword }

// InputError names the malformed argument in words safe to show the user.
// It wraps ErrInvalidInput.
type InputError struct {
	Field, Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidInput, e.Field, e.Reason)
}

func (e *InputError) Unwrap() error { return ErrInvalidInput }

// Limits of the login throttle (SECURITY.md AU-7, AU-8).
const (
	// FreeFailures is how many consecutive failures cost no delay.
	FreeFailures = 5
	// MaxFailures locks the account's factors for untrusted browsers.
	MaxFailures = 100
	// MaxDelay caps the delay between attempts.
	MaxDelay = 15 * time.Minute
	// MaxPasswordBytes caps the password input before any hashing.
	MaxPasswordBytes = 1024
	// halfSessionTTL bounds the life of a Stage password session.
	halfSessionTTL = 10 * time.Minute
	// touchEvery limits LastSeenAt writes.
	touchEvery = time.Minute
)

// Options configures a Service. Zero values take the documented defaults.
type Options struct {
	Now             func() time.Time // default time.Now
	SecretKey       []byte           // 32 bytes, kept outside the database: seals TOTP secrets, derives CSRF tokens
	IdleTimeout     time.Duration    // default 30 min
	AbsoluteTimeout time.Duration    // default 12 h
	InvitationTTL   time.Duration    // default 72 h
	HashConcurrency int              // Argon2 hashes at once; default runtime.NumCPU()
	Argon2          Argon2Params     // default OWASP: m=19456 KiB, t=2, p=1
	Issuer          string           // TOTP issuer label; default "CAC Portal"
	MaxSessions     int              // full sessions per member; default 10
	Logger          *slog.Logger     // default slog.Default()
	Metrics         *metrics.Metrics // counts failed sign-ins and locks; nil counts nothing
	// Mail queues the mail to members: security notices (locks, unlocks,
	// password changes, admins' changes to the account) and re-enrolment
	// links; nil logs that they were not sent.
	Mail Mailer
	// PublicURL is the portal's origin, for the links in mail.
	PublicURL string
}

// Service is the account domain logic. It is safe for concurrent use.
type Service struct {
	st      Store
	audit   *audit.Log
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	sealKey []byte // AES-256 key derived from SecretKey for TOTP secrets
	// deviceKey signs device cookies; ghostKey hashes unknown addresses.
	deviceKey, ghostKey []byte

	sem       chan struct{} // bounds concurrent Argon2 work
	dummyHash string        // verified for unknown accounts to equalise work
	hashes    atomic.Int64  // Argon2 computations, for tests
	// background runs the work a request starts but does not wait for
	// (device.go: offerUnlockLink); Wait waits for it.
	background sync.WaitGroup
}

// Wait waits for the work that requests started in the background. The
// owner of the service calls it before closing the database.
func (s *Service) Wait() { s.background.Wait() }

// New returns a Service over st that records to log.
func New(st Store, log *audit.Log, opts Options) (*Service, error) {
	if st == nil || log == nil {
		return nil, errors.New("account: store and audit log are required")
	}
	if len(opts.SecretKey) != 32 {
		return nil, fmt.Errorf("account: secret key must be 32 bytes, got %d", len(opts.SecretKey))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	if opts.AbsoluteTimeout <= 0 {
		opts.AbsoluteTimeout = 12 * time.Hour
	}
	if opts.InvitationTTL <= 0 {
		opts.InvitationTTL = 72 * time.Hour
	}
	if opts.HashConcurrency <= 0 {
		opts.HashConcurrency = runtime.NumCPU()
	}
	if opts.Argon2 == (Argon2Params{}) {
		opts.Argon2 = defaultArgon2
	}
	if err := opts.Argon2.validate(); err != nil {
		return nil, err
	}
	if opts.Issuer == "" {
		opts.Issuer = "CAC Portal"
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{
		st:      st,
		audit:   log,
		opts:    opts,
		now:     func() time.Time { return opts.Now().UTC().Round(0) },
		log:     opts.Logger,
		sealKey: deriveKey(opts.SecretKey, "portal totp-seal v1"),
		sem:     make(chan struct{}, opts.HashConcurrency),
	}
	s.deviceKey = deriveKey(opts.SecretKey, "portal device-cookie v1")
	s.ghostKey = deriveKey(opts.SecretKey, "portal login-ghost v1")
	// The dummy uses the live parameters so that verifying it costs what
	// verifying a real hash costs.
	dummy, err := s.hashPassword(context.Background(), "portal dummy password for unknown accounts")
	if err != nil {
		return nil, fmt.Errorf("account: dummy hash: %w", err)
	}
	s.dummyHash = dummy
	return s, nil
}

// record writes an audit entry. Failures to audit are logged; callers on
// success paths return the error so that nothing succeeds unrecorded.
func (s *Service) record(ctx context.Context, e audit.Entry, c Client) error {
	e.IP = c.IP
	if e.Action == audit.ActionLoginFailure {
		s.opts.Metrics.LoginFailed()
	}
	if err := s.audit.Record(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit record failed", "action", e.Action, "err", err)
		return fmt.Errorf("account: %w", err)
	}
	return nil
}

// actorEntry starts an audit entry for an act by u.
func actorEntry(u *User, action, target, outcome string) audit.Entry {
	e := audit.Entry{Action: action, Target: target, Outcome: outcome}
	if u != nil {
		e.Actor, e.ActorEmail = u.ID, u.Email
	}
	return e
}

// sessionRef is what logs may say about a session: a short prefix of its
// ID (itself a hash of the token), never the token.
func sessionRef(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
