package account

import (
	"context"
	"time"
)

// Store persists accounts. Each call of fn runs in one transaction; the
// account rules are written against Tx so that a PostgreSQL store can take
// the place of SQLite without touching them.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a write transaction that is committed if fn returns
	// nil and rolled back otherwise. Update transactions are serialisable:
	// a record read inside one does not change before it commits (SQLite:
	// BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE or SERIALIZABLE).
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is the set of queries available inside a transaction. Lookups return
// ErrNotFound for a missing row; inserts return ErrConflict for a duplicate.
type Tx interface {
	InsertUser(ctx context.Context, u *UserRecord) error
	UserByID(ctx context.Context, id string) (*UserRecord, error)
	UserByEmail(ctx context.Context, email string) (*UserRecord, error)
	ListUsers(ctx context.Context) ([]User, error) // by e-mail
	// SaveUser writes every field of u except ID and CreatedAt.
	SaveUser(ctx context.Context, u *UserRecord) error
	CountEnabledAdmins(ctx context.Context) (int, error)

	InsertInvitation(ctx context.Context, inv *InvitationRecord) error
	InvitationByHash(ctx context.Context, tokenHash string) (*InvitationRecord, error)
	// ConsumeInvitation marks the invitation used if it is unused and not
	// expired at now, and returns ErrInvitationInvalid otherwise.
	ConsumeInvitation(ctx context.Context, tokenHash string, now time.Time) error
	// DeleteUserInvitations removes the unused re-enrolment tokens of a user.
	DeleteUserInvitations(ctx context.Context, userID string) error
	// PurgeInvitations deletes the invitations used, or expired at now,
	// and returns how many it deleted.
	PurgeInvitations(ctx context.Context, now time.Time) (int, error)

	InsertSession(ctx context.Context, s *Session) error
	SessionByID(ctx context.Context, id string) (*Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession reports whether a session was deleted.
	DeleteSession(ctx context.Context, id string) (bool, error)
	// DeleteUserSessions deletes all of a user's sessions except the one
	// whose ID is exceptID ("" for none) and returns how many it deleted.
	DeleteUserSessions(ctx context.Context, userID, exceptID string) (int, error)
	ListSessions(ctx context.Context, userID string) ([]Session, error) // newest first
	// PurgeSessions deletes sessions last seen before idleBefore or whose
	// absolute expiry is at or before now.
	PurgeSessions(ctx context.Context, idleBefore, now time.Time) (int, error)

	// ReplaceRecoveryCodes replaces a user's recovery codes with hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error
	// UseRecoveryCode deletes the code with this hash and reports whether
	// it existed.
	UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error)

	InsertPasskey(ctx context.Context, p *PasskeyRecord) error
	ListPasskeys(ctx context.Context, userID string) ([]PasskeyRecord, error) // oldest first
	// UsePasskey records a successful assertion's counter and flags.
	UsePasskey(ctx context.Context, id string, signCount uint32, flags byte, at time.Time) error
	RenamePasskey(ctx context.Context, userID, id, name string) error
	DeletePasskey(ctx context.Context, userID, id string) error
	// DeleteUserPasskeys removes all of a member's passkeys.
	DeleteUserPasskeys(ctx context.Context, userID string) error
	// PutCeremony keeps a session's WebAuthn ceremony of one kind until
	// expires, replacing one begun before; TakeCeremony deletes and returns
	// it, or ErrNotFound when there is none or it has expired at now.
	PutCeremony(ctx context.Context, sessionID, kind string, data []byte, expires time.Time) error
	TakeCeremony(ctx context.Context, sessionID, kind string, now time.Time) ([]byte, error)

	// SetSessionSteppedUp records that the session passed a second factor at.
	SetSessionSteppedUp(ctx context.Context, id string, at time.Time) error

	// PendingInvitations returns the invitations unused and unexpired at
	// now, newest first.
	PendingInvitations(ctx context.Context, now time.Time) ([]InvitationRecord, error)
	// DeleteInvitation deletes the unused invitation id and returns it
	// (ErrNotFound when there is none).
	DeleteInvitation(ctx context.Context, id string) (*InvitationRecord, error)

	InsertResetRequest(ctx context.Context, r *ResetRequest) error
	ResetRequestByID(ctx context.Context, id string) (*ResetRequest, error)
	// PendingResetRequests returns the requests unapproved and unexpired at
	// now, oldest first; userID "" for every member's.
	PendingResetRequests(ctx context.Context, userID string, now time.Time) ([]ResetRequest, error)
	// ApproveResetRequest marks the pending request id approved; ErrNotFound
	// when it is not pending.
	ApproveResetRequest(ctx context.Context, id, by string, at time.Time) error
	// PurgeResetRequests deletes the requests approved, or expired at now,
	// and returns how many it deleted.
	PurgeResetRequests(ctx context.Context, now time.Time) (int, error)

	// InsertDevice records a trusted device; a member keeps only their
	// most recently used ones.
	InsertDevice(ctx context.Context, d *Device) error
	DeviceByID(ctx context.Context, id string) (*Device, error)
	// SaveDevice writes LastUsedAt, Failures, LastFailureAt and Locked.
	SaveDevice(ctx context.Context, d *Device) error
	// DeleteUserDevices forgets every trusted device of a user.
	DeleteUserDevices(ctx context.Context, userID string) (int, error)

	// InsertUnlockLink stores an unlock link's token hash.
	InsertUnlockLink(ctx context.Context, tokenHash, userID string, created, expires time.Time) error
	// LastUnlockLinkAt is when the newest unlock link of a user was made
	// (zero if none is stored).
	LastUnlockLinkAt(ctx context.Context, userID string) (time.Time, error)
	// LiveUnlockLinks counts a user's unlock links unused and unexpired
	// at now.
	LiveUnlockLinks(ctx context.Context, userID string, now time.Time) (int, error)
	// ConsumeUnlockLink marks the link used if it is unused and not
	// expired at now and returns its user; ErrLinkInvalid otherwise.
	ConsumeUnlockLink(ctx context.Context, tokenHash string, now time.Time) (string, error)
	// PurgeUnlockLinks deletes the links used, or expired at now.
	PurgeUnlockLinks(ctx context.Context, now time.Time) (int, error)

	// Ghost returns the throttle state of an address with no account, by
	// its keyed hash; ErrNotFound when it has none.
	Ghost(ctx context.Context, addressHash string) (failures int, last time.Time, err error)
	SaveGhost(ctx context.Context, addressHash string, failures int, last time.Time) error
	// PurgeGhosts keeps the most recently tried addresses up to the
	// store's bound and returns how many it deleted.
	PurgeGhosts(ctx context.Context) (int, error)

	// GroupLeads returns the leads of an access group and whether it is
	// archived; ErrNotFound when there is no such group (package groups).
	GroupLeads(ctx context.Context, group string) (leads []string, archived bool, err error)
	// StartAttestation records a new member's sponsor ("" when unknown)
	// and the start of their first attestation period (package attest).
	StartAttestation(ctx context.Context, userID, sponsorID string, since time.Time) error
	// Suspended reports whether a member's membership is suspended because
	// their attestation lapsed (package attest).
	Suspended(ctx context.Context, userID string) (bool, error)
}

// Device is a browser a member completed a login on, known by its signed
// device cookie. Its counter takes the failed attempts made from it; the
// account's own counter (UserRecord.Failures) takes those of untrusted
// browsers.
type Device struct {
	ID            string // hex SHA-256 of the cookie's random part
	UserID        string
	CreatedAt     time.Time
	LastUsedAt    time.Time // the last complete login from it
	Failures      int
	LastFailureAt time.Time
	Locked        bool // trusted no more: its attempts count as untrusted ones
}

// UserRecord is a user with the secrets only this package reads.
type UserRecord struct {
	User
	PasswordHash  string // PHC string
	TOTPSecret    []byte // AES-GCM sealed; nil when not set up
	LastTOTPStep  int64  // last accepted TOTP time step; codes at or before it are refused
	Failures      int    // consecutive failed attempts from untrusted browsers, all factors
	LastFailureAt time.Time
	// RoleLoweredAt is when the account last lost the admin role (zero if
	// it never did): a reset of a recent former admin needs a second admin
	// like an admin's (needsSecondAdmin).
	RoleLoweredAt time.Time
}

// InvitationRecord is a stored invitation. Only the token's hash is kept.
type InvitationRecord struct {
	ID        string // random 16-byte hex: names it to admins; never accepts it
	TokenHash string
	Invitation
	UserID    string // for a re-enrolment (MFA reset): the account it resets
	CreatedBy string // user ID, or audit.ActorSystem
	CreatedAt time.Time
	UsedAt    time.Time // zero while unused
}
