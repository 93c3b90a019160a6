package account_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/account"
	"portal/mail"
)

// outbox keeps the notices the service queues.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (o *outbox) Enqueue(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) subjects() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, m := range o.sent {
		out = append(out, m.To+": "+m.Subject)
	}
	return out
}

// trustedClient logs in with password and TOTP and returns a client that
// presents the device cookie this login earns.
func (e *env) trustedClient(email, secret string) account.Client {
	e.t.Helper()
	full := e.login(email, secret)
	cookie, err := e.svc.TrustDevice(e.ctx(), full, e.c)
	if err != nil || cookie == "" {
		e.t.Fatalf("TrustDevice: %q, %v", cookie, err)
	}
	c := e.c
	c.Device = cookie
	return c
}

func TestDeviceCookieSheltersFromUntrustedLock(t *testing.T) {
	out := &outbox{}
	e := newEnv(t, func(o *account.Options) { o.Mail, o.PublicURL = out, "https://portal.example" })
	u, secret := e.seed("a@example.org", account.RoleMember)
	trusted := e.trustedClient(u.Email, secret)
	// The same cookie again: kept, not replaced.
	half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, trusted)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	full, err := e.svc.CompleteLogin(e.ctx(), half, account.TOTPCode(secret, e.clock.Now()), trusted)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := e.svc.TrustDevice(e.ctx(), full, trusted); err != nil || again != trusted.Device {
		t.Errorf("TrustDevice with a trusted cookie: %v, new cookie %t", err, again != trusted.Device)
	}

	for i := 1; i <= account.MaxFailures; i++ {
		if err := failLogin(e, u.Email); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if rec := e.record(u.ID); !rec.Locked {
		t.Fatal("not locked after 100 untrusted failures")
	}

	// Forged, tampered or foreign cookies are untrusted.
	parts := strings.Split(trusted.Device, ".")
	for name, cookie := range map[string]string{
		"tampered MAC":   strings.Join(parts[:3], ".") + "." + strings.Repeat("0", 64),
		"other account":  strings.Replace(trusted.Device, u.ID, strings.Repeat("f", 32), 1),
		"unknown device": strings.Join([]string{parts[0], parts[1], strings.Repeat("A", 43), parts[3]}, "."),
		"garbage":        "v1.x.y.z",
	} {
		c := e.c
		c.Device = cookie
		if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, c); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Errorf("%s cookie on a locked account: %v, want ErrInvalidCredentials", name, err)
		}
	}

	// The trusted browser: a wrong code counts on the device, a right one
	// logs in; the account's lock does not apply.
	half, err = e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, trusted)
	if err != nil {
		t.Fatalf("trusted browser on a locked account: %v", err)
	}
	if _, err := e.svc.CompleteLogin(e.ctx(), half, "000000", trusted); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("wrong code: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	if _, err := e.svc.CompleteLogin(e.ctx(), half, account.TOTPCode(secret, e.clock.Now()), trusted); err != nil {
		t.Fatalf("trusted browser, right code: %v", err)
	}
	if rec := e.record(u.ID); !rec.Locked || rec.Failures != account.MaxFailures {
		t.Errorf("the trusted login changed the untrusted counter: locked %v failures %d", rec.Locked, rec.Failures)
	}

	// A device unused for DeviceTTL is trusted no more.
	e.clock.Advance(account.DeviceTTL + time.Hour)
	if _, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, trusted); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("stale device on a locked account: %v", err)
	}
	e.svc.Wait()
	if got := strings.Join(out.subjects(), "\n"); !strings.Contains(got, "Sign-in from new browsers is locked") ||
		!strings.Contains(got, "Sign in from a new browser") {
		t.Errorf("notices: %s", got)
	}
	if acts := strings.Join(e.actions(), " "); !strings.Contains(acts, "login.unlock_link:success") {
		t.Errorf("no unlock link audited: %s", acts)
	}
}

// A trusted device's second-factor failures lock that device, not the
// account, and the member is told.
func TestDeviceLocksOnCodeFailures(t *testing.T) {
	out := &outbox{}
	e := newEnv(t, func(o *account.Options) { o.Mail = out })
	u, secret := e.seed("a@example.org", account.RoleMember)
	trusted := e.trustedClient(u.Email, secret)
	for i := 1; i <= account.DeviceMaxFailures; i++ {
		e.clock.Advance(account.MaxDelay)
		half, err := e.svc.BeginLogin(e.ctx(), u.Email, goodPassword, trusted)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if _, err := e.svc.CompleteLogin(e.ctx(), half, "000000", trusted); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if rec := e.record(u.ID); rec.Locked || rec.Failures != 0 {
		t.Errorf("device failures reached the account: locked %v failures %d", rec.Locked, rec.Failures)
	}
	if acts := strings.Join(e.actions(), " "); !strings.Contains(acts, "login.device_locked:failure") {
		t.Errorf("device lock not audited: %s", acts)
	}
	if got := strings.Join(out.subjects(), "\n"); !strings.Contains(got, "Sign-in from one of your browsers is locked") {
		t.Errorf("notices: %s", got)
	}
	// From now on the browser counts as untrusted: its failures go to the
	// account.
	e.clock.Advance(account.MaxDelay)
	failLoginAs(e, u.Email, trusted)
	if rec := e.record(u.ID); rec.Failures != 1 {
		t.Errorf("after the device lock, a failure from it counted %d on the account, want 1", rec.Failures)
	}
}

func failLoginAs(e *env, email string, c account.Client) {
	e.t.Helper()
	if _, err := e.svc.BeginLogin(e.ctx(), email, "wrong password entirely", c); !errors.Is(err, account.ErrInvalidCredentials) {
		e.t.Fatalf("failed login: %v", err)
	}
}

// An unlock link does not let a disabled member in.
func TestUnlockLinkRefusedForDisabled(t *testing.T) {
	out := &outbox{}
	e := newEnv(t, func(o *account.Options) { o.Mail, o.PublicURL = out, "https://portal.example" })
	admin, _ := e.seed("admin@example.org", account.RoleAdmin)
	u, _ := e.seed("a@example.org", account.RoleMember)
	for range account.MaxFailures {
		failLogin(e, u.Email)
	}
	e.svc.Wait()
	var token string
	for _, m := range out.sent {
		if _, after, ok := strings.Cut(m.Text, "/en/account/unlock/#token="); ok {
			token, _, _ = strings.Cut(after, "\n")
		}
	}
	if token == "" {
		t.Fatalf("no unlock link in %v", out.subjects())
	}
	if _, err := e.svc.SetDisabled(e.ctx(), &admin, u.ID, true, e.c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemUnlockLink(e.ctx(), token, e.c); !errors.Is(err, account.ErrLinkInvalid) {
		t.Errorf("link of a disabled member: %v, want ErrLinkInvalid", err)
	}
	if _, err := e.svc.RedeemUnlockLink(e.ctx(), "not a token", e.c); !errors.Is(err, account.ErrLinkInvalid) {
		t.Errorf("malformed link: %v", err)
	}
}
