package account_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"

	"portal/account"
	"portal/attest"
	"portal/audit"
	"portal/store"
	"portal/store/storetest"
)

const goodPassword = "velvet tundra mosaic harbor"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	db    *store.DB
	svc   *account.Service
	audit *audit.Log
	clock *clock
	logs  *bytes.Buffer
	c     account.Client
}

func newEnv(t *testing.T, tweak ...func(*account.Options)) *env {
	t.Helper()
	db := storetest.Open(t)
	e := &env{t: t, db: db, logs: &bytes.Buffer{}, c: account.Client{IP: "192.0.2.7", UserAgent: "test"},
		// Start in the middle of a TOTP step, so that ±seconds stay in it.
		clock: &clock{t: time.Date(2025, 6, 2, 9, 0, 15, 0, time.UTC)}}
	e.audit = audit.New(db, e.clock.Now)
	opts := account.Options{
		Now:       e.clock.Now,
		SecretKey: bytes.Repeat([]byte{7}, 32),
		Argon2:    account.FastArgon2,
		Logger:    slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range tweak {
		f(&opts)
	}
	var err error
	if e.svc, err = account.New(db, e.audit, opts); err != nil {
		t.Fatal(err)
	}
	// Before the database closes (cleanups run last in, first out).
	t.Cleanup(e.svc.Wait)
	return e
}

func (e *env) ctx() context.Context { return context.Background() }

// seed creates an enrolled member and returns it with its TOTP secret.
func (e *env) seed(email string, role account.Role, groups ...string) (account.User, string) {
	e.t.Helper()
	u, secret, err := e.svc.SeedUser(e.ctx(), email, "Test Person", role, groups, goodPassword)
	if err != nil {
		e.t.Fatalf("SeedUser(%s): %v", email, err)
	}
	return u, secret
}

// login signs in with password and TOTP and returns the full-session token.
// Each login moves the clock to the next TOTP step so codes are never reused.
func (e *env) login(email, secret string) string {
	e.t.Helper()
	e.clock.Advance(30 * time.Second)
	half, err := e.svc.BeginLogin(e.ctx(), email, goodPassword, e.c)
	if err != nil {
		e.t.Fatalf("BeginLogin(%s): %v", email, err)
	}
	full, err := e.svc.CompleteLogin(e.ctx(), half, account.TOTPCode(secret, e.clock.Now()), e.c)
	if err != nil {
		e.t.Fatalf("CompleteLogin(%s): %v", email, err)
	}
	return full
}

func (e *env) auth(token string) (*account.User, *account.Session, error) {
	return e.svc.Authenticate(e.ctx(), token)
}

func (e *env) mustAuth(token string) (*account.User, *account.Session) {
	e.t.Helper()
	u, s, err := e.auth(token)
	if err != nil {
		e.t.Fatalf("Authenticate: %v", err)
	}
	return u, s
}

func (e *env) wantUnauth(token, why string) {
	e.t.Helper()
	if _, _, err := e.auth(token); !errors.Is(err, account.ErrUnauthenticated) {
		e.t.Errorf("%s: Authenticate = %v, want ErrUnauthenticated", why, err)
	}
}

func (e *env) record(id string) *account.UserRecord {
	e.t.Helper()
	var rec *account.UserRecord
	err := e.db.View(e.ctx(), func(tx account.Tx) error {
		var err error
		rec, err = tx.UserByID(e.ctx(), id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

func (e *env) actions() []string {
	e.t.Helper()
	entries, _, err := e.audit.List(e.ctx(), audit.Filter{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+":"+entries[i].Outcome)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		context  []string
		ok       bool
	}{
		{"11 code points", "kayak vexes", nil, false},
		{"12 code points, strong", "kayak vexes!", nil, true},
		{"12 varied emoji", "🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮", nil, true},
		{"12 identical emoji", "🐶🐶🐶🐶🐶🐶🐶🐶🐶🐶🐶🐶", nil, false},
		{"4 emoji repeated", "🐶🐱🐭🐹🐶🐱🐭🐹🐶🐱🐭🐹", nil, false},
		{"accented passphrase", "àèìòù ñandú çédille", nil, true},
		{"64 chars", strings.Repeat("x", 0) + "the quiet otter sang verses to a lantern beneath marble bridges!", nil, true},
		{"128 chars", strings.Repeat("amber falcon drifts over ", 5) + "lakes", nil, true},
		{"password", "password", nil, false},
		{"Password123456789", "Password123456789", nil, false},
		{"org name and year", "cacsg2025!!!!!", nil, false},
		{"org name leet", "1nterp0l-rocks-hard", nil, false},
		{"portal", "myportalpassword9", nil, false},
		{"specialist group", "Specialist-Group-77", nil, false},
		{"aaaa…", "aaaaaaaaaaaaaaaaaaaa", nil, false},
		{"keyboard walk", "qwertyuiopasdfgh", nil, false},
		{"email local part", "jane.doe.secure.2024", []string{"jane.doe@police.example"}, false},
		{"display name", "Marguerite Okonkwo!", []string{"x@example.org", "Marguerite Okonkwo"}, false},
		{"1 MB", strings.Repeat("a7#Kq", 200_000), nil, false},
		{"1025 bytes", strings.Repeat("zq8%", 256) + "x", nil, false},
		{"control character", "velvet tundra\x00 mosaic", nil, false},
		{"invalid UTF-8", "velvet tundra \xff mosaic", nil, false},
	}
	// zxcvbn's "128 chars" case is a repetition; use a non-repeating one.
	tests[7].password = "amber falcon drifts over quiet northern lakes while seven copper lanterns flicker beside the harbor wall at dusk, humming old tunes"[:128]
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := account.CheckPassword(tc.password, tc.context...)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("CheckPassword took %v", elapsed)
			}
			if tc.ok && err != nil {
				t.Errorf("CheckPassword(%.40q) = %v, want accepted", tc.password, err)
			}
			if !tc.ok {
				var pe *account.PasswordError
				if !errors.Is(err, account.ErrWeakPassword) || !errors.As(err, &pe) || pe.Reason == "" {
					t.Errorf("CheckPassword(%.40q) = %v, want ErrWeakPassword with a reason", tc.password, err)
				}
			}
		})
	}
}

func TestArgon2Parameters(t *testing.T) {
	// The real parameters, not FastArgon2: this test is about them.
	e := newEnv(t, func(o *account.Options) { o.Argon2 = account.Argon2Params{} })
	a, _ := e.seed("a@example.org", account.RoleMember)
	b, _ := e.seed("b@example.org", account.RoleMember)
	ha, hb := e.record(a.ID).PasswordHash, e.record(b.ID).PasswordHash
	if ha == hb {
		t.Error("two members with the same password have the same hash")
	}
	for _, h := range []string{ha, hb} {
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q is not argon2id v19 with OWASP parameters", h)
		}
		p, err := account.ParsePHC(h)
		if err != nil {
			t.Fatal(err)
		}
		if p.Memory < 19456 || p.Time < 2 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 32 {
			t.Errorf("parameters %+v below m=19456 t=2 p=1, 16-byte salt, 32-byte key", p)
		}
	}
}

func TestRehashOnLogin(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember)
	stronger := account.FastArgon2
	stronger.Time = 2
	svc2, err := account.New(e.db, e.audit, account.Options{Now: e.clock.Now, SecretKey: bytes.Repeat([]byte{7}, 32), Argon2: stronger})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc2
	e.login(u.Email, secret)
	p, err := account.ParsePHC(e.record(u.ID).PasswordHash)
	if err != nil || p.Time != 2 {
		t.Errorf("after login with new parameters: %+v, %v; want t=2", p, err)
	}
	e.login(u.Email, secret) // the new hash verifies
}

func TestInvitationFlow(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	member, _ := e.seed("member@example.org", account.RoleMember)

	if _, _, err := e.svc.Invite(e.ctx(), &member, "new@example.org", account.RoleMember, nil, e.c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("member invites: %v, want ErrForbidden", err)
	}
	if _, _, err := e.svc.Invite(e.ctx(), &admin, "member@example.org", account.RoleMember, nil, e.c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("invite an existing member: %v, want ErrConflict", err)
	}
	if _, _, err := e.svc.Invite(e.ctx(), &admin, "not-an-email", account.RoleMember, nil, e.c); !errors.Is(err, account.ErrInvalidInput) {
		t.Errorf("invite a bad address: %v, want ErrInvalidInput", err)
	}
	if _, _, err := e.svc.Invite(e.ctx(), &admin, "x@example.org", account.RoleMember, []string{"Bad Group"}, e.c); !errors.Is(err, account.ErrInvalidInput) {
		t.Errorf("invite with a bad group: %v, want ErrInvalidInput", err)
	}

	token, inv, err := e.svc.Invite(e.ctx(), &admin, "  New.Person@Example.ORG ", account.RoleTrainer, []string{"g1"}, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || inv.Email != "new.person@example.org" || inv.Role != account.RoleTrainer ||
		strings.Join(inv.Groups, ",") != "g1,members" || !inv.ExpiresAt.Equal(e.clock.Now().Add(72*time.Hour)) {
		t.Errorf("Invite = %q, %+v", token, inv)
	}
	info, err := e.svc.InvitationInfo(e.ctx(), token)
	if err != nil || info.Email != inv.Email {
		t.Errorf("InvitationInfo = %+v, %v", info, err)
	}
	if _, _, err := e.svc.AcceptInvitation(e.ctx(), token, "New Person", "password", e.c); !errors.Is(err, account.ErrWeakPassword) {
		t.Errorf("accept with a weak password: %v, want ErrWeakPassword", err)
	}
	enrolTok, enrol, err := e.svc.AcceptInvitation(e.ctx(), token, "New Person", goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if len(enrol.Secret) != 32 || !strings.HasPrefix(enrol.URL, "otpauth://totp/") || !strings.HasPrefix(enrol.QRSVG, "<svg") {
		t.Errorf("enrolment = %+v", enrol)
	}
	for _, bad := range []string{"<script", "href", "style", "url(", "javascript", "<image", "<foreignObject"} {
		if strings.Contains(enrol.QRSVG, bad) {
			t.Errorf("QR SVG contains %q", bad)
		}
	}
	if _, _, err := e.svc.AcceptInvitation(e.ctx(), token, "Someone Else", goodPassword, e.c); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("second accept: %v, want ErrInvitationInvalid", err)
	}
	if _, err := e.svc.InvitationInfo(e.ctx(), token); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("info after use: %v, want ErrInvitationInvalid", err)
	}

	u, sess := e.mustAuth(enrolTok)
	if sess.Stage != account.StageEnrol || u.MFAEnrolled || u.Role != account.RoleTrainer {
		t.Errorf("after accept: user %+v, stage %s", u, sess.Stage)
	}
	// Not enrolled yet: a password login is refused.
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("login before enrolment: %v, want ErrInvalidCredentials", err)
	}
	if _, _, err := e.svc.ConfirmEnrolment(e.ctx(), enrolTok, "000000", e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("confirm with a wrong code: %v", err)
	}
	full, codes, err := e.svc.ConfirmEnrolment(e.ctx(), enrolTok, account.TOTPCode(enrol.Secret, e.clock.Now()), e.c)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Errorf("got %d recovery codes, want 10", len(codes))
	}
	for _, c := range codes {
		if n := len(strings.ReplaceAll(c, "-", "")); n != 24 || strings.Count(c, "-") != 5 {
			t.Errorf("recovery code %q: want 24 base32 letters (120 bits) in groups of 4", c)
		}
	}
	e.wantUnauth(enrolTok, "enrol token after confirmation")
	u, sess = e.mustAuth(full)
	if sess.Stage != account.StageFull || !u.MFAEnrolled {
		t.Errorf("after confirmation: enrolled %v, stage %s", u.MFAEnrolled, sess.Stage)
	}
	e.login(u.Email, enrol.Secret)

	got := e.actions()
	for _, want := range []string{"access.denied:denied", "invitation.create:success", "invitation.accept:success",
		"mfa.enrol:failure", "mfa.enrol:success", "login.mfa:success"} {
		if !contains(got, want) {
			t.Errorf("audit log lacks %s: %v", want, got)
		}
	}
}

func TestInvitationExpiry(t *testing.T) {
	tests := []struct {
		after time.Duration
		ok    bool
	}{
		{72*time.Hour - time.Second, true},
		{72*time.Hour + time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.after.String(), func(t *testing.T) {
			e := newEnv(t)
			admin, _ := e.seed("admin@example.org", account.RoleAdmin)
			token, _, err := e.svc.Invite(e.ctx(), &admin, "new@example.org", account.RoleMember, nil, e.c)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(tc.after)
			_, infoErr := e.svc.InvitationInfo(e.ctx(), token)
			_, _, acceptErr := e.svc.AcceptInvitation(e.ctx(), token, "New Person", goodPassword, e.c)
			for name, err := range map[string]error{"InvitationInfo": infoErr, "AcceptInvitation": acceptErr} {
				if tc.ok && err != nil {
					t.Errorf("%s after %v: %v, want success", name, tc.after, err)
				}
				if !tc.ok && !errors.Is(err, account.ErrInvitationInvalid) {
					t.Errorf("%s after %v: %v, want ErrInvitationInvalid", name, tc.after, err)
				}
			}
		})
	}
}

func TestLoginAndRotation(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember, "g1")
	half, err := e.svc.BeginLogin(e.ctx(), "A@Example.org ", goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	_, s := e.mustAuth(half)
	if s.Stage != account.StagePassword || s.IP != e.c.IP {
		t.Errorf("after password: %+v", s)
	}
	code := account.TOTPCode(secret, e.clock.Now())
	full, err := e.svc.CompleteLogin(e.ctx(), half, code, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if full == half {
		t.Fatal("token not rotated")
	}
	e.wantUnauth(half, "password-stage token after CompleteLogin")
	got, s := e.mustAuth(full)
	if s.Stage != account.StageFull || got.ID != u.ID || !got.InGroup("g1") || !got.InGroup("members") {
		t.Errorf("full session: %+v, user %+v", s, got)
	}
	// The same code again, in a new login within its validity: refused.
	half2, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CompleteLogin(e.ctx(), half2, code, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("reused code: %v, want ErrInvalidCredentials", err)
	}
	if rec := e.record(u.ID); rec.Failures != 1 {
		t.Errorf("failures after a bad code = %d, want 1", rec.Failures)
	}
	e.clock.Advance(30 * time.Second)
	if _, err := e.svc.CompleteLogin(e.ctx(), half2, account.TOTPCode(secret, e.clock.Now()), e.c); err != nil {
		t.Errorf("next step's code: %v", err)
	}
	if rec := e.record(u.ID); rec.Failures != 0 {
		t.Errorf("failures after a complete login = %d, want 0", rec.Failures)
	}
}

func TestTOTPWindow(t *testing.T) {
	tests := []struct {
		steps int
		ok    bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}}
	for _, tc := range tests {
		t.Run(time.Duration(tc.steps*30*int(time.Second)).String(), func(t *testing.T) {
			e := newEnv(t)
			u, secret := e.seed("a@example.org", account.RoleMember)
			half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
			if err != nil {
				t.Fatal(err)
			}
			code := account.TOTPCode(secret, e.clock.Now().Add(time.Duration(tc.steps)*30*time.Second))
			_, err = e.svc.CompleteLogin(e.ctx(), half, code, e.c)
			if tc.ok && err != nil {
				t.Errorf("code of step %+d: %v, want accepted", tc.steps, err)
			}
			if !tc.ok && !errors.Is(err, account.ErrInvalidCredentials) {
				t.Errorf("code of step %+d: %v, want ErrInvalidCredentials", tc.steps, err)
			}
		})
	}
}

func TestRecoveryCodeLogin(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember)
	full := e.login(u.Email, secret)
	user, _ := e.mustAuth(full)
	if _, err := e.svc.RegenerateRecoveryCodes(e.ctx(), user, "wrong password here", e.c); !errors.Is(err, account.ErrReauthRequired) {
		t.Errorf("regenerate with a wrong password: %v, want ErrReauthRequired", err)
	}
	codes, err := e.svc.RegenerateRecoveryCodes(e.ctx(), user, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	use := func(code string) error {
		half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CompleteLogin(e.ctx(), half, code, e.c)
		return err
	}
	// Typed loosely: upper case, spaces instead of hyphens.
	if err := use(strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))); err != nil {
		t.Errorf("first use of a recovery code: %v", err)
	}
	if err := use(codes[0]); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("second use of a recovery code: %v, want ErrInvalidCredentials", err)
	}
	if err := use(codes[1]); err != nil {
		t.Errorf("another code: %v", err)
	}
	if !contains(e.actions(), "login.recovery_code:success") {
		t.Error("no login.recovery_code audit entry")
	}
}

// failLogin makes one failed password attempt, waiting out any delay, and
// returns the error.
func failLogin(e *env, email string) error {
	e.t.Helper()
	_, err := e.svc.BeginLogin(e.ctx(), email, "wrong password entirely", e.c)
	var te *account.ThrottleError
	if errors.As(err, &te) {
		e.clock.Advance(te.RetryAfter)
		_, err = e.svc.BeginLogin(e.ctx(), email, "wrong password entirely", e.c)
	}
	return err
}

func TestThrottle(t *testing.T) {
	e := newEnv(t)
	u, _ := e.seed("a@example.org", account.RoleMember)
	for i := 1; i <= 5; i++ {
		if _, err := e.svc.BeginLogin(e.ctx(), u.Email, "wrong password entirely", e.c); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v, want ErrInvalidCredentials without delay", i, err)
		}
	}
	before := account.HashCount(e.svc)
	_, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	var te *account.ThrottleError
	if !errors.As(err, &te) || !errors.Is(err, account.ErrThrottled) || te.RetryAfter != time.Second {
		t.Fatalf("6th attempt: %v, want a ThrottleError with RetryAfter 1s", err)
	}
	// Nor afterwards: the link a throttled attempt may mail the member
	// (offerThrottledLink) does not depend on its password.
	e.svc.Wait()
	if account.HashCount(e.svc) != before {
		t.Error("a throttled attempt ran Argon2")
	}
	e.clock.Advance(te.RetryAfter)
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, "wrong password entirely", e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("after waiting: %v, want the attempt checked", err)
	}
	// 6 failures now: the next wait is 2 s.
	_, err = e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if !errors.As(err, &te) || te.RetryAfter != 2*time.Second {
		t.Errorf("after 6 failures: %v, want RetryAfter 2s", err)
	}
	// Unknown addresses are throttled the same way.
	for i := 1; i <= 5; i++ {
		e.svc.BeginLogin(e.ctx(), "ghost@example.org", "wrong password entirely", e.c)
	}
	if _, err := e.svc.BeginLogin(e.ctx(), "ghost@example.org", "wrong password entirely", e.c); !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Errorf("6th attempt on an unknown address: %v, want RetryAfter 1s", err)
	}
}

func TestFactorsShareFailureCounter(t *testing.T) {
	e := newEnv(t)
	u, _ := e.seed("a@example.org", account.RoleMember)
	for range 3 {
		failLogin(e, u.Email)
	}
	half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.record(u.ID).Failures; got != 3 {
		t.Errorf("a right password changed the counter to %d, want 3 (reset only on a complete login)", got)
	}
	for _, code := range []string{"000000", "not-a-code"} {
		if _, err := e.svc.CompleteLogin(e.ctx(), half, code, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if got := e.record(u.ID).Failures; got != 5 {
		t.Errorf("failures = %d, want 5 (password and code failures together)", got)
	}
	var te *account.ThrottleError
	if _, err := e.svc.CompleteLogin(e.ctx(), half, "000000", e.c); !errors.As(err, &te) {
		t.Errorf("6th failure on the code step: %v, want a ThrottleError", err)
	}
}

func TestLockAt100(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	u, secret := e.seed("a@example.org", account.RoleMember)
	for i := 1; i <= 100; i++ {
		if err := failLogin(e, u.Email); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	rec := e.record(u.ID)
	if !rec.Locked || rec.Failures != 100 {
		t.Fatalf("after 100 failures: locked %v, failures %d", rec.Locked, rec.Failures)
	}
	e.clock.Advance(time.Hour)
	before := account.HashCount(e.svc)
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("attempt 101 with the right password: %v, want ErrInvalidCredentials", err)
	}
	if account.HashCount(e.svc) != before+1 {
		t.Error("a locked account's attempt did not run Argon2 (timing would differ)")
	}
	acts := e.actions()
	if n := strings.Count(strings.Join(acts, " "), "login.locked:"); n < 2 {
		t.Errorf("audit has %d login.locked entries, want the locking and the attempt after it", n)
	}

	if _, err := e.svc.UnlockUser(e.ctx(), &u, u.ID, e.c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("member unlocks: %v, want ErrForbidden", err)
	}
	got, err := e.svc.UnlockUser(e.ctx(), &admin, u.ID, e.c)
	if err != nil || got.Locked {
		t.Fatalf("UnlockUser = %+v, %v", got, err)
	}
	e.login(u.Email, secret)
}

func TestUnknownEmailLooksLikeWrongPassword(t *testing.T) {
	e := newEnv(t)
	u, _ := e.seed("a@example.org", account.RoleMember)
	attempt := func(email string) (int64, error) {
		before := account.HashCount(e.svc)
		_, err := e.svc.BeginLogin(e.ctx(), email, "wrong password entirely", e.c)
		return account.HashCount(e.svc) - before, err
	}
	hashesUnknown, errUnknown := attempt("nobody@example.org")
	hashesWrong, errWrong := attempt(u.Email)
	hashesBad, errBad := attempt("not an address")
	if errUnknown != account.ErrInvalidCredentials || errWrong != account.ErrInvalidCredentials || errBad != account.ErrInvalidCredentials {
		t.Errorf("errors differ: unknown %v, wrong password %v, malformed %v", errUnknown, errWrong, errBad)
	}
	if hashesUnknown != 1 || hashesWrong != 1 || hashesBad != 1 {
		t.Errorf("Argon2 runs: unknown %d, wrong password %d, malformed %d; want 1 each", hashesUnknown, hashesWrong, hashesBad)
	}
	// A password beyond the cap is refused before any hashing.
	before := account.HashCount(e.svc)
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, strings.Repeat("x", 1<<20), e.c); err != account.ErrInvalidCredentials {
		t.Errorf("1 MB password: %v", err)
	}
	if account.HashCount(e.svc) != before {
		t.Error("a 1 MB password was hashed")
	}
}

func TestHashSemaphoreHonoursContext(t *testing.T) {
	e := newEnv(t, func(o *account.Options) { o.HashConcurrency = 1 })
	u, _ := e.seed("a@example.org", account.RoleMember)
	release := account.HoldHashSlots(e.svc)
	defer release()
	ctx, cancel := context.WithTimeout(e.ctx(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.svc.BeginLogin(ctx, u.Email, goodPassword, e.c); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("BeginLogin with no free hashing slot: %v, want the context's error", err)
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		e := newEnv(t)
		u, secret := e.seed("a@example.org", account.RoleMember)
		tok := e.login(u.Email, secret)
		e.clock.Advance(29 * time.Minute)
		e.mustAuth(tok)
		e.clock.Advance(31 * time.Minute)
		e.wantUnauth(tok, "after 31 idle minutes")
	})
	t.Run("absolute", func(t *testing.T) {
		e := newEnv(t)
		u, secret := e.seed("a@example.org", account.RoleMember)
		tok := e.login(u.Email, secret)
		_, s := e.mustAuth(tok)
		created := s.CreatedAt
		for e.clock.Now().Before(created.Add(12*time.Hour - 20*time.Minute)) {
			e.clock.Advance(20 * time.Minute)
			e.mustAuth(tok)
		}
		e.clock.t = created.Add(12*time.Hour - time.Second)
		e.mustAuth(tok)
		e.clock.Advance(2 * time.Second)
		e.wantUnauth(tok, "active session at 12h+1s")
	})
	t.Run("half-authenticated", func(t *testing.T) {
		e := newEnv(t)
		u, secret := e.seed("a@example.org", account.RoleMember)
		half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10*time.Minute + time.Second)
		if _, err := e.svc.CompleteLogin(e.ctx(), half, account.TOTPCode(secret, e.clock.Now()), e.c); !errors.Is(err, account.ErrUnauthenticated) {
			t.Errorf("second factor after 10 min: %v, want ErrUnauthenticated", err)
		}
	})
}

func TestStageEnforcement(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	u, secret := e.seed("a@example.org", account.RoleMember)
	full := e.login(u.Email, secret)
	half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	token, _, _ := e.svc.Invite(e.ctx(), &admin, "new@example.org", account.RoleMember, nil, e.c)
	enrolTok, _, err := e.svc.AcceptInvitation(e.ctx(), token, "New Person", goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	code := account.TOTPCode(secret, e.clock.Now())
	tests := []struct {
		name string
		call func() error
	}{
		{"CompleteLogin with a full session", func() error { _, err := e.svc.CompleteLogin(e.ctx(), full, code, e.c); return err }},
		{"CompleteLogin with an enrol session", func() error { _, err := e.svc.CompleteLogin(e.ctx(), enrolTok, code, e.c); return err }},
		{"ConfirmEnrolment with a password session", func() error { _, _, err := e.svc.ConfirmEnrolment(e.ctx(), half, code, e.c); return err }},
		{"ConfirmEnrolment with a full session", func() error { _, _, err := e.svc.ConfirmEnrolment(e.ctx(), full, code, e.c); return err }},
	}
	for _, tc := range tests {
		if err := tc.call(); !errors.Is(err, account.ErrStage) {
			t.Errorf("%s: %v, want ErrStage", tc.name, err)
		}
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("é", 100)} {
		if _, err := e.svc.CompleteLogin(e.ctx(), bad, code, e.c); !errors.Is(err, account.ErrUnauthenticated) {
			t.Errorf("CompleteLogin(%q): %v, want ErrUnauthenticated", bad, err)
		}
	}
}

func TestSessionsEndAtOnce(t *testing.T) {
	e := newEnv(t)
	admin, adminSecret := e.seed("admin@example.org", account.RoleAdmin)
	u, secret := e.seed("a@example.org", account.RoleMember)

	tok := e.login(u.Email, secret)
	if err := e.svc.Logout(e.ctx(), tok, e.c); err != nil {
		t.Fatal(err)
	}
	e.wantUnauth(tok, "after logout")
	if err := e.svc.Logout(e.ctx(), tok, e.c); err != nil {
		t.Errorf("second logout: %v, want nil", err)
	}

	t1, t2 := e.login(u.Email, secret), e.login(u.Email, secret)
	if _, err := e.svc.SetDisabled(e.ctx(), &admin, u.ID, true, e.c); err != nil {
		t.Fatal(err)
	}
	e.wantUnauth(t1, "first session after disable")
	e.wantUnauth(t2, "second session after disable")
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("login while disabled: %v", err)
	}
	if _, err := e.svc.SetDisabled(e.ctx(), &admin, u.ID, false, e.c); err != nil {
		t.Fatal(err)
	}
	e.wantUnauth(t1, "old session after re-enable")

	t3 := e.login(u.Email, secret)
	if err := e.svc.RevokeAllSessions(e.ctx(), &admin, u.ID, e.c); err != nil {
		t.Fatal(err)
	}
	e.wantUnauth(t3, "after RevokeAllSessions")

	other := e.login(admin.Email, adminSecret)
	if err := e.svc.RevokeAllSessions(e.ctx(), &u, admin.ID, e.c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("member revokes an admin's sessions: %v, want ErrForbidden", err)
	}
	e.mustAuth(other)
}

func TestListAndRevokeSessions(t *testing.T) {
	e := newEnv(t)
	a, sa := e.seed("a@example.org", account.RoleMember)
	b, sb := e.seed("b@example.org", account.RoleMember)
	a1, a2 := e.login(a.Email, sa), e.login(a.Email, sa)
	b1 := e.login(b.Email, sb)
	ua, cur := e.mustAuth(a1)
	_, other := e.mustAuth(a2)
	_, bs := e.mustAuth(b1)
	list, err := e.svc.ListSessions(e.ctx(), ua, cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("ListSessions: %d sessions, want 2", len(list))
	}
	for _, s := range list {
		if s.Current != (s.ID == cur.ID) {
			t.Errorf("session %s Current = %v", s.ID[:8], s.Current)
		}
	}
	if err := e.svc.RevokeSession(e.ctx(), ua, bs.ID, e.c); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("revoke someone else's session: %v, want ErrNotFound", err)
	}
	e.mustAuth(b1)
	if err := e.svc.RevokeSession(e.ctx(), ua, other.ID, e.c); err != nil {
		t.Fatal(err)
	}
	e.wantUnauth(a2, "revoked session")
	e.mustAuth(a1)
}

func TestPrivilegeChangeEndsSessions(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	u, secret := e.seed("a@example.org", account.RoleMember)
	trainer := account.RoleTrainer
	tok := e.login(u.Email, secret)
	got, err := e.svc.UpdateUser(e.ctx(), &admin, u.ID, &trainer, nil, e.c)
	if err != nil || got.Role != account.RoleTrainer {
		t.Fatalf("UpdateUser role = %+v, %v", got, err)
	}
	e.wantUnauth(tok, "after a role change")

	tok = e.login(u.Email, secret)
	groups := []string{"g2", "g1", "g1"}
	got, err = e.svc.UpdateUser(e.ctx(), &admin, u.ID, nil, &groups, e.c)
	if err != nil || strings.Join(got.Groups, ",") != "g1,g2,members" {
		t.Fatalf("UpdateUser groups = %+v, %v", got.Groups, err)
	}
	e.wantUnauth(tok, "after a group change")

	tok = e.login(u.Email, secret)
	if _, err := e.svc.UpdateUser(e.ctx(), &admin, u.ID, nil, &groups, e.c); err != nil {
		t.Fatal(err)
	}
	e.mustAuth(tok) // no change, no logout

	for _, bad := range [][]string{{"G1"}, {"-x"}, {"a b"}, {strings.Repeat("a", 65)}} {
		if _, err := e.svc.UpdateUser(e.ctx(), &admin, u.ID, nil, &bad, e.c); !errors.Is(err, account.ErrInvalidInput) {
			t.Errorf("groups %q: %v, want ErrInvalidInput", bad, err)
		}
	}
	bogus := account.Role("root")
	if _, err := e.svc.UpdateUser(e.ctx(), &admin, u.ID, &bogus, nil, e.c); !errors.Is(err, account.ErrInvalidInput) {
		t.Errorf("role root: %v, want ErrInvalidInput", err)
	}
	if _, err := e.svc.UpdateUser(e.ctx(), &u, u.ID, &trainer, nil, e.c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("non-admin update: %v, want ErrForbidden", err)
	}
	if _, err := e.svc.GetUser(e.ctx(), &admin, "0123"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("GetUser unknown: %v, want ErrNotFound", err)
	}
}

func TestLastAdminProtected(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	member := account.RoleMember
	if _, err := e.svc.UpdateUser(e.ctx(), &admin, admin.ID, &member, nil, e.c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("last admin demotes self: %v, want ErrConflict", err)
	}
	if _, err := e.svc.SetDisabled(e.ctx(), &admin, admin.ID, true, e.c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("last admin disables self: %v, want ErrConflict", err)
	}
	e.seed("admin2@example.org", account.RoleAdmin)
	if _, err := e.svc.UpdateUser(e.ctx(), &admin, admin.ID, &member, nil, e.c); err != nil {
		t.Errorf("demote with another admin left: %v", err)
	}
	users, err := e.svc.ListUsers(e.ctx(), &account.User{ID: "x", Role: account.RoleAdmin})
	if err != nil || len(users) != 2 {
		t.Errorf("ListUsers = %d users, %v", len(users), err)
	}
}

// Administering people does not open content (package access): an admin
// cannot add a group to their own account, which would open that group's
// records to them; dropping one is allowed, and another admin may add it.
func TestAdminCannotGrantThemselvesGroups(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	other, _ := e.seed("admin2@example.org", account.RoleAdmin)
	wider := append(slices.Clone(admin.Groups), "victim-identification")
	if _, err := e.svc.UpdateUser(e.ctx(), &admin, admin.ID, nil, &wider, e.c); !errors.Is(err, account.ErrForbidden) {
		t.Fatalf("admin adds a group to themselves: %v, want ErrForbidden", err)
	}
	if got, _ := e.svc.GetUser(e.ctx(), &other, admin.ID); slices.Contains(got.Groups, "victim-identification") {
		t.Fatalf("the refused change was stored: %v", got.Groups)
	}
	entries, _, err := e.audit.List(e.ctx(), audit.Filter{Action: audit.ActionUserUpdate})
	if err != nil || len(entries) != 1 || entries[0].Outcome != audit.OutcomeDenied || entries[0].Actor != admin.ID {
		t.Errorf("audit of the refusal = %+v, %v; want one denied user.update by the admin", entries, err)
	}
	if got, err := e.svc.UpdateUser(e.ctx(), &other, admin.ID, nil, &wider, e.c); err != nil || !slices.Contains(got.Groups, "victim-identification") {
		t.Errorf("another admin adds the group: %+v, %v", got.Groups, err)
	}
	admin.Groups = wider
	narrower := []string{account.GroupMembers}
	if got, err := e.svc.UpdateUser(e.ctx(), &admin, admin.ID, nil, &narrower, e.c); err != nil || slices.Contains(got.Groups, "victim-identification") {
		t.Errorf("admin drops their own group: %+v, %v", got.Groups, err)
	}
}

func TestTOTPSecretEncrypted(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember)
	if len(secret) != 32 {
		t.Errorf("base32 secret %d chars, want 32 (160 bits)", len(secret))
	}
	sealed := e.record(u.ID).TOTPSecret
	if len(sealed) != 12+20+16 {
		t.Errorf("sealed secret is %d bytes, want nonce+20+tag = 48", len(sealed))
	}
	if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(bytes.ToUpper(sealed), []byte(secret)) {
		t.Error("stored TOTP secret contains the base32 seed")
	}
	// A different key cannot use it.
	other, err := account.New(e.db, e.audit, account.Options{Now: e.clock.Now, SecretKey: bytes.Repeat([]byte{8}, 32), Argon2: account.FastArgon2})
	if err != nil {
		t.Fatal(err)
	}
	half, err := other.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CompleteLogin(e.ctx(), half, account.TOTPCode(secret, e.clock.Now()), e.c); err == nil {
		t.Error("a service with another secret key accepted the TOTP code")
	}
}

func TestCSRFToken(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember)
	_, s1 := e.mustAuth(e.login(u.Email, secret))
	_, s2 := e.mustAuth(e.login(u.Email, secret))
	c1 := e.svc.CSRFToken(s1)
	if c1 == "" || c1 != e.svc.CSRFToken(s1) || c1 == e.svc.CSRFToken(s2) {
		t.Error("CSRF token must be stable per session and differ between sessions")
	}
	if !e.svc.CheckCSRF(s1, c1) || e.svc.CheckCSRF(s2, c1) || e.svc.CheckCSRF(s1, "") {
		t.Error("CheckCSRF accepts the wrong token or refuses the right one")
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember)
	keep, other := e.login(u.Email, secret), e.login(u.Email, secret)
	user, sess := e.mustAuth(keep)
	const next = "ochre lantern quietly drifting"
	if err := e.svc.ChangePassword(e.ctx(), user, "", next, sess, e.c); !errors.Is(err, account.ErrReauthRequired) {
		t.Errorf("no current password: %v, want ErrReauthRequired", err)
	}
	if err := e.svc.ChangePassword(e.ctx(), user, "wrong password entirely", next, sess, e.c); !errors.Is(err, account.ErrReauthRequired) {
		t.Errorf("wrong current password: %v, want ErrReauthRequired", err)
	}
	if err := e.svc.ChangePassword(e.ctx(), user, goodPassword, "password1234", sess, e.c); !errors.Is(err, account.ErrWeakPassword) {
		t.Errorf("weak new password: %v, want ErrWeakPassword", err)
	}
	if err := e.svc.ChangePassword(e.ctx(), user, goodPassword, next, sess, e.c); err != nil {
		t.Fatal(err)
	}
	e.mustAuth(keep)
	e.wantUnauth(other, "other session after a password change")
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("old password: %v", err)
	}
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, next, e.c); err != nil {
		t.Errorf("new password: %v", err)
	}
	// SECURITY.md AU-2: verified exactly as entered.
	for _, v := range []string{strings.ToUpper(next[:1]) + next[1:], next[:len(next)-1] + "x", next + " "} {
		if _, err := e.svc.BeginLogin(e.ctx(), u.Email, v, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Errorf("variant %q accepted: %v", v, err)
		}
	}
}

func TestResetMFA(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	u, secret := e.seed("a@example.org", account.RoleMember, "g1")
	tok := e.login(u.Email, secret)
	// A passkey on an authenticator that may be the one lost.
	if err := e.db.Update(e.ctx(), func(tx account.Tx) error {
		return tx.InsertPasskey(e.ctx(), &account.PasskeyRecord{Passkey: account.Passkey{ID: "pk1", Name: "Lost key", CreatedAt: e.clock.Now()},
			UserID: u.ID, CredentialID: []byte("credential-1"), PublicKey: []byte("public key"), AAGUID: make([]byte, 16)})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResetMFA(e.ctx(), &u, u.ID, e.c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("member resets MFA: %v, want ErrForbidden", err)
	}
	res, err := e.svc.ResetMFA(e.ctx(), &admin, u.ID, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Pending != nil {
		t.Fatalf("reset of a member = %+v, want done at once", res)
	}
	reset := res.Token
	e.wantUnauth(tok, "session after MFA reset")
	if ps, err := e.svc.ListPasskeys(e.ctx(), u.ID); err != nil || len(ps) != 0 {
		t.Errorf("passkeys after the reset: %+v, %v; want none", ps, err)
	}
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("login without a second factor: %v, want ErrInvalidCredentials", err)
	}
	info, err := e.svc.InvitationInfo(e.ctx(), reset)
	if err != nil || !info.Reset || info.Email != u.Email {
		t.Errorf("InvitationInfo(reset) = %+v, %v", info, err)
	}
	const next = "ochre lantern quietly drifting"
	enrolTok, enrol, err := e.svc.AcceptInvitation(e.ctx(), reset, "", next, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if enrol.Secret == secret {
		t.Error("re-enrolment reused the old TOTP secret")
	}
	if _, _, err := e.svc.ConfirmEnrolment(e.ctx(), enrolTok, account.TOTPCode(enrol.Secret, e.clock.Now()), e.c); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetUser(e.ctx(), &admin, u.ID)
	if err != nil || got.ID != u.ID || got.DisplayName != u.DisplayName || !got.InGroup("g1") || !got.MFAEnrolled {
		t.Errorf("account after reset = %+v, %v; want the same account, enrolled", got, err)
	}
	e.clock.Advance(30 * time.Second)
	half, err := e.svc.BeginLogin(e.ctx(), u.Email, next, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CompleteLogin(e.ctx(), half, account.TOTPCode(enrol.Secret, e.clock.Now()), e.c); err != nil {
		t.Errorf("login with the new factor: %v", err)
	}
	if _, _, err := e.svc.AcceptInvitation(e.ctx(), reset, "", next, e.c); !errors.Is(err, account.ErrInvitationInvalid) {
		t.Errorf("reset token reused: %v", err)
	}
}

func TestBootstrapAdmin(t *testing.T) {
	e := newEnv(t)
	tok, err := e.svc.BootstrapAdmin(e.ctx(), "root@example.org", false)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.svc.InvitationInfo(e.ctx(), tok)
	if err != nil || info.Role != account.RoleAdmin {
		t.Errorf("bootstrap invitation = %+v, %v", info, err)
	}
	enrolTok, enrol, err := e.svc.AcceptInvitation(e.ctx(), tok, "First Admin", goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.ConfirmEnrolment(e.ctx(), enrolTok, account.TOTPCode(enrol.Secret, e.clock.Now()), e.c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.BootstrapAdmin(e.ctx(), "other@example.org", false); !errors.Is(err, account.ErrConflict) {
		t.Errorf("second bootstrap: %v, want ErrConflict", err)
	}
	if _, err := e.svc.BootstrapAdmin(e.ctx(), "other@example.org", true); err != nil {
		t.Errorf("forced bootstrap: %v", err)
	}
	if !contains(e.actions(), "admin.bootstrap:success") {
		t.Error("no admin.bootstrap audit entry")
	}
}

func TestSeedUserConflict(t *testing.T) {
	e := newEnv(t)
	e.seed("a@example.org", account.RoleMember)
	if _, _, err := e.svc.SeedUser(e.ctx(), "A@example.org", "Other", account.RoleMember, nil, goodPassword); !errors.Is(err, account.ErrConflict) {
		t.Errorf("seed an existing address: %v, want ErrConflict", err)
	}
}

// TestNoSecretsInLogs runs the main flows and checks that neither the
// audit log nor the service's own logs contain a password, code or token.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	admin, adminSecret := e.seed("admin@example.org", account.RoleAdmin)
	adminTok := e.login(admin.Email, adminSecret)
	secrets := []string{goodPassword, adminSecret, adminTok}

	invTok, _, err := e.svc.Invite(e.ctx(), &admin, "a@example.org", account.RoleMember, nil, e.c)
	if err != nil {
		t.Fatal(err)
	}
	enrolTok, enrol, err := e.svc.AcceptInvitation(e.ctx(), invTok, "A Person", goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	code := account.TOTPCode(enrol.Secret, e.clock.Now())
	full, codes, err := e.svc.ConfirmEnrolment(e.ctx(), enrolTok, code, e.c)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, invTok, enrolTok, enrol.Secret, code, full, codes[0])
	e.svc.BeginLogin(e.ctx(), "a@example.org\nFAKE audit line", "a wrong password value", e.c)
	secrets = append(secrets, "a wrong password value")
	for range 101 {
		failLogin(e, "a@example.org")
	}

	entries, _, err := e.audit.List(e.ctx(), audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, en := range entries {
		dump.WriteString(strings.Join([]string{en.Actor, en.ActorEmail, en.Action, en.Target, en.IP, en.Detail}, "|"))
		dump.WriteByte('\n')
	}
	dump.WriteString(e.logs.String())
	for _, s := range secrets {
		if strings.Contains(dump.String(), s) {
			t.Errorf("logs contain a secret %.12q…", s)
		}
	}
	if !strings.Contains(e.logs.String(), "account locked") {
		t.Error("locking an account was not logged")
	}
	res, err := e.audit.Verify(e.ctx())
	if err != nil || !res.OK() {
		t.Errorf("audit chain after the flows: %+v, %v", res, err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" Jane.Doe@Police.EXAMPLE ", "jane.doe@police.example", true},
		{"a@b.co", "a@b.co", true},
		{"", "", false},
		{"no-at.example.org", "", false},
		{"two@@example.org", "", false},
		{"a@b@example.org", "", false},
		{"@example.org", "", false},
		{"a@localhost", "", false},
		{"a@example..org", "", false},
		{"a@.example.org", "", false},
		{"a b@example.org", "", false},
		{"a\n@example.org", "", false},
		{"a@example.org\r\nBcc: x", "", false},
		{strings.Repeat("a", 250) + "@b.co", "", false},
	}
	for _, tc := range tests {
		got, err := account.NormalizeEmail(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, account.ErrInvalidInput) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidInput", tc.in, got, err)
		}
	}
}

func TestTOTPCodeRFC6238(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, seed "12345678901234567890", last 6 digits.
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, tc := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		if got := account.TOTPCode(secret, time.Unix(tc.unix, 0)); got != tc.want {
			t.Errorf("TOTPCode at %d = %s, want %s", tc.unix, got, tc.want)
		}
	}
}

// TestPurgeExpired runs the purge on a real database file with a settable
// clock: ended sessions and spent invitations go, live ones stay usable.
func TestPurgeExpired(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	u, secret := e.seed("a@example.org", account.RoleMember)
	e.login(u.Email, secret)
	invite := func(email string) string {
		t.Helper()
		token, _, err := e.svc.Invite(e.ctx(), &admin, email, account.RoleMember, nil, e.c)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	used, expired := invite("used@example.org"), invite("expired@example.org")
	if _, _, err := e.svc.AcceptInvitation(e.ctx(), used, "Used Person", goodPassword, e.c); err != nil {
		t.Fatal(err)
	}
	// Requests to reset an admin's second factor: one left to expire, one
	// pending.
	stale, _ := e.seed("stale@example.org", account.RoleAdmin)
	pending, _ := e.seed("pending@example.org", account.RoleAdmin)
	if _, err := e.svc.ResetMFA(e.ctx(), &admin, stale.ID, e.c); err != nil {
		t.Fatal(err)
	}

	// Past the invitations' 72 hours and every session's idle timeout.
	e.clock.Advance(73 * time.Hour)
	live := invite("live@example.org")
	liveSession := e.login(u.Email, secret)
	if _, err := e.svc.ResetMFA(e.ctx(), &admin, pending.ID, e.c); err != nil {
		t.Fatal(err)
	}

	sessionsBefore, invitationsBefore := countRows(t, e.db, "sessions"), countRows(t, e.db, "invitations")
	got, err := e.svc.PurgeExpired(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	want := account.Purged{Sessions: sessionsBefore - 1, Invitations: invitationsBefore - 1, ResetRequests: 1}
	if got != want || want.Sessions < 2 || want.Invitations != 2 {
		t.Errorf("PurgeExpired = %+v, want %+v (before: %d sessions, %d invitations)", got, want, sessionsBefore, invitationsBefore)
	}
	if n := countRows(t, e.db, "sessions"); n != 1 {
		t.Errorf("%d sessions left, want the live one", n)
	}
	if n := countRows(t, e.db, "invitations"); n != 1 {
		t.Errorf("%d invitations left, want the live one", n)
	}
	if n := countRows(t, e.db, "mfa_reset_requests"); n != 1 {
		t.Errorf("%d reset requests left, want the pending one", n)
	}
	e.mustAuth(liveSession)
	if _, err := e.svc.InvitationInfo(e.ctx(), live); err != nil {
		t.Errorf("live invitation after the purge: %v", err)
	}
	for _, token := range []string{used, expired} {
		if _, err := e.svc.InvitationInfo(e.ctx(), token); !errors.Is(err, account.ErrInvitationInvalid) {
			t.Errorf("purged invitation: %v, want ErrInvitationInvalid", err)
		}
	}
	if again, err := e.svc.PurgeExpired(e.ctx()); err != nil || again != (account.Purged{}) {
		t.Errorf("second purge = %+v, %v; want nothing", again, err)
	}
}

// countRows counts the rows of table.
func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	n, err := db.CountRows(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestInvitationSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	token, _, err := e.svc.Invite(e.ctx(), &admin, "new@example.org", account.RoleMember, nil, e.c)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, _, err := e.svc.AcceptInvitation(e.ctx(), token, "New Person", goodPassword, e.c)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, account.ErrInvitationInvalid):
			t.Errorf("concurrent accept: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent accepts succeeded, want exactly 1", ok)
	}
}

// TestThrottleHoldsUnderParallelAttempts: attempts that arrive together
// cannot all pass one throttle window, because each is counted before the
// slow password check.
func TestThrottleHoldsUnderParallelAttempts(t *testing.T) {
	e := newEnv(t)
	u, _ := e.seed("a@example.org", account.RoleMember)
	for range 5 {
		failLogin(e, u.Email)
	}
	e.clock.Advance(time.Minute)
	const n = 10
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := e.svc.BeginLogin(e.ctx(), u.Email, "wrong password entirely", e.c)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	checked := 0
	for err := range errs {
		if errors.Is(err, account.ErrInvalidCredentials) {
			checked++
		} else if !errors.Is(err, account.ErrThrottled) {
			t.Errorf("parallel attempt: %v", err)
		}
	}
	if checked != 1 {
		t.Errorf("%d of %d parallel attempts were checked, want 1", checked, n)
	}
}

func TestCodeWithSpaces(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("a@example.org", account.RoleMember)
	half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	code := account.TOTPCode(secret, e.clock.Now())
	if _, err := e.svc.CompleteLogin(e.ctx(), half, " "+code[:3]+" "+code[3:]+" ", e.c); err != nil {
		t.Errorf("code typed as %q: %v", code[:3]+" "+code[3:], err)
	}
}

func TestAccessDeniedAudited(t *testing.T) {
	e := newEnv(t)
	member, _ := e.seed("a@example.org", account.RoleMember)
	if _, err := e.svc.ListUsers(e.ctx(), &member); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("member lists users: %v, want ErrForbidden", err)
	}
	if _, err := e.svc.ListUsers(e.ctx(), nil); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("nobody lists users: %v, want ErrForbidden", err)
	}
	entries, _, err := e.audit.List(e.ctx(), audit.Filter{Action: audit.ActionAccessDenied})
	if err != nil || len(entries) != 2 || entries[1].Actor != member.ID || entries[1].Outcome != audit.OutcomeDenied {
		t.Errorf("access.denied entries = %+v, %v", entries, err)
	}
}

// TestCheckPasswordCommon: a password on zxcvbn's list is refused as common,
// whatever its case, even when long enough and varied enough to pass the
// other checks.
func TestCheckPasswordCommon(t *testing.T) {
	var common []string
	for _, p := range frequency.FrequencyLists["passwords"] {
		distinct := map[rune]bool{}
		for _, r := range p {
			distinct[r] = true
		}
		if utf8.RuneCountInString(p) >= 12 && len(distinct) >= 5 {
			common = append(common, p)
		}
	}
	if len(common) < 10 {
		t.Fatalf("only %d long common passwords in the list", len(common))
	}
	for _, p := range []string{common[0], strings.ToUpper(common[1]), common[len(common)-1]} {
		var pe *account.PasswordError
		if err := account.CheckPassword(p); !errors.As(err, &pe) || !strings.Contains(pe.Reason, "commonly used") {
			t.Errorf("CheckPassword(%q) = %v, want refused as commonly used", p, err)
		}
	}
	if err := account.CheckPassword("velvet tundra mosaic harbour"); err != nil {
		t.Errorf("uncommon passphrase refused: %v", err)
	}
}

func TestSubject(t *testing.T) {
	// The role is not part of the subject: an admin and a member of the same
	// groups are the same subject to access.CanSee.
	admin := &account.User{ID: "u", Role: account.RoleAdmin, Groups: []string{"members", "x"}}
	member := &account.User{ID: "m", Role: account.RoleMember, Groups: []string{"members", "x"}}
	if a, m := admin.Subject(), member.Subject(); !slices.Equal(a.Groups, admin.Groups) || !slices.Equal(a.Groups, m.Groups) {
		t.Errorf("Subject(admin) = %+v, Subject(member) = %+v; want the same groups", a, m)
	}
	admin.Disabled = true
	if s := admin.Subject(); len(s.Groups) != 0 {
		t.Errorf("Subject(disabled) = %+v, want nothing", s)
	}
	if s := (*account.User)(nil).Subject(); len(s.Groups) != 0 {
		t.Errorf("Subject(nil) = %+v", s)
	}
}

// TestPromotionCapsSessions: both ways to a full session (confirming the
// enrolment, completing a login) end the half session and the member's
// oldest full sessions beyond MaxSessions.
func TestPromotionCapsSessions(t *testing.T) {
	e := newEnv(t, func(o *account.Options) { o.MaxSessions = 2 })
	tok, err := e.svc.BootstrapAdmin(e.ctx(), "root@example.org", false)
	if err != nil {
		t.Fatal(err)
	}
	enrolTok, enrol, err := e.svc.AcceptInvitation(e.ctx(), tok, "First Admin", goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := e.svc.ConfirmEnrolment(e.ctx(), enrolTok, account.TOTPCode(enrol.Secret, e.clock.Now()), e.c)
	if err != nil {
		t.Fatal(err)
	}
	e.wantUnauth(enrolTok, "enrol token after confirmation")
	second := e.login("root@example.org", enrol.Secret)
	e.mustAuth(first)
	third := e.login("root@example.org", enrol.Secret)
	e.wantUnauth(first, "oldest session beyond MaxSessions")
	e.mustAuth(second)
	e.mustAuth(third)
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// A membership suspended between the password and the second factor gets
// no session: the check is where every way in becomes a full session.
func TestSuspendedBeforeTheSecondFactor(t *testing.T) {
	e := newEnv(t)
	u, secret := e.seed("lapsing@example.org", account.RoleMember)
	e.clock.Advance(30 * time.Second)
	half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, e.c)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if err := e.db.Attestations().SaveAttestation(e.ctx(), &attest.Record{UserID: u.ID, Since: now.AddDate(-1, 0, 0), SuspendedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CompleteLogin(e.ctx(), half, account.TOTPCode(secret, now), e.c); !errors.Is(err, account.ErrSuspended) {
		t.Fatalf("CompleteLogin of a suspended member: %v, want ErrSuspended", err)
	}
	if _, s, err := e.auth(half); err == nil && s.Stage == account.StageFull {
		t.Errorf("the suspended member holds a full session: %+v", s)
	}
}
