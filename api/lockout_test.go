package api_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/api"
	"portal/audit"
	"portal/portaltest"
)

const deviceCookie = "__Host-portal_device"

// waitMail waits for a mail to to with this subject and returns the ones
// that have come, oldest first.
func waitMail(t *testing.T, p *portaltest.Portal, to, subject string) []portaltest.Mail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []portaltest.Mail
		for _, m := range p.Mail(t, to) {
			if m.Subject == subject {
				got = append(got, m)
			}
		}
		if len(got) > 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s", subject, to)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var unlockToken = regexp.MustCompile(`/en/account/unlock/#token=([A-Za-z0-9_-]{43})\b`)

// targetCount counts the audit entries of action about target (the
// lockout entries name the member as target, not as actor).
func targetCount(t *testing.T, p *portaltest.Portal, action, target string) int {
	t.Helper()
	n := 0
	for _, e := range auditEntries(t, p, audit.Filter{Action: action}) {
		if e.Target == target {
			n++
		}
	}
	return n
}

// An outsider who knows a member's address makes 150 failed attempts, far
// past the lock: the member, on a browser that completed a login before,
// logs in at once; on a new browser, the member gets in through the link
// mailed to the registered address; the outsider stays locked out.
func TestOutsiderCannotLockMemberOut(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)

	member := p.NewClient(t)
	member.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	if member.Cookie(deviceCookie) == "" {
		t.Fatal("no device cookie after a complete login")
	}
	member.JSON("DELETE", "/api/session", nil, http.StatusNoContent, nil)

	attacker := p.NewClient(t)
	attacker.RefreshCSRF()
	var lastBody []byte
	for i := 1; i <= 150; i++ {
		// Each attempt waits out the throttle, as a patient attacker would.
		clock.Advance(account.MaxDelay)
		resp, body := attacker.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": "not the password at all"})
		if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "invalid_credentials" {
			t.Fatalf("attempt %d: %d %s", i, resp.StatusCode, body)
		}
		lastBody = body
	}

	// The member's own browser is not held back: no wait, no lock.
	clock.Advance(time.Minute)
	member.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	member.JSON("GET", "/api/me", nil, http.StatusOK, nil)

	// The lock was mailed to the member and audited.
	lock := waitMail(t, p, u.Email, "Sign-in from new browsers is locked")
	if len(lock) != 1 || !unlockToken.MatchString(lock[0].Text) {
		t.Fatalf("lock notices: %+v", lock)
	}
	if n := targetCount(t, p, audit.ActionLoginLocked, u.ID); n < 51 {
		t.Errorf("%d login.locked entries, want the lock and the 50 attempts after it", n)
	}

	// A new browser with the right password is refused exactly like the
	// outsider, and the member gets a link by mail.
	laptop := p.NewClient(t)
	laptop.RefreshCSRF()
	resp, body := laptop.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": u.Password})
	if resp.StatusCode != http.StatusUnauthorized || string(body) != string(lastBody) {
		t.Fatalf("new browser, right password, while locked: %d %s; outsider got %s", resp.StatusCode, body, lastBody)
	}
	offer := waitMail(t, p, u.Email, "Sign in from a new browser")
	m := unlockToken.FindStringSubmatch(offer[0].Text)
	if m == nil {
		t.Fatalf("no unlock link in %q", offer[0].Text)
	}
	laptop.RefreshCSRF()
	laptop.JSON("POST", "/api/devices/unlock", map[string]string{"token": m[1]}, http.StatusOK, nil)
	if laptop.Cookie(deviceCookie) == "" {
		t.Fatal("no device cookie after the unlock link")
	}
	clock.Advance(time.Minute)
	laptop.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	waitMail(t, p, u.Email, "A new browser may sign in to your account")
	if n := targetCount(t, p, audit.ActionDeviceUnlock, u.ID); n != 1 {
		t.Errorf("%d login.device_unlock entries, want 1", n)
	}

	// The link works once, and the lock stays for every other browser.
	other := p.NewClient(t)
	other.RefreshCSRF()
	resp, body = other.Do("POST", "/api/devices/unlock", map[string]string{"token": m[1]})
	if resp.StatusCode != http.StatusGone || portaltest.ErrorCode(t, body) != "link_invalid" {
		t.Errorf("second use of the link: %d %s", resp.StatusCode, body)
	}
	resp, body = other.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": u.Password})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another untrusted browser after the unlock: %d %s", resp.StatusCode, body)
	}
	// A device cookie of one account does not shelter attempts on another.
	v := p.SeedUser(t, account.RoleMember)
	forged := p.NewClient(t)
	forged.SetCookie(deviceCookie, strings.Replace(member.Cookie(deviceCookie), u.ID, v.ID, 1))
	forged.RefreshCSRF()
	for range account.FreeFailures + 1 {
		resp, body = forged.Do("POST", "/api/session", map[string]string{"email": v.Email, "password": "not the password at all"})
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("attempts with another account's device cookie: %d %s, want them throttled as untrusted", resp.StatusCode, body)
	}
}

// A trusted browser's own failures lock that browser alone, which is then
// treated as untrusted; the lock is mailed and audited.
func TestTrustedDeviceLocksAlone(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	for i := 1; i <= account.DeviceMaxFailures; i++ {
		clock.Advance(account.MaxDelay)
		resp, body := c.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": "not the password at all"})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, resp.StatusCode, body)
		}
	}
	waitMail(t, p, u.Email, "Sign-in from one of your browsers is locked")
	if n := targetCount(t, p, audit.ActionDeviceLocked, u.ID); n != 1 {
		t.Errorf("%d login.device_locked entries, want 1", n)
	}
	// The account itself is not locked: this browser signs in as an
	// untrusted one and is trusted again (a new device cookie).
	before := c.Cookie(deviceCookie)
	clock.Advance(account.MaxDelay)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	if after := c.Cookie(deviceCookie); after == "" || after == before {
		t.Errorf("device cookie after signing in again: %q (was %q)", after, before)
	}
}

// The throttle of addresses without an account is kept in the database:
// after a restart (a new server over the same SQLite file), a member's
// address and an unknown one still answer alike.
func TestRestartKeepsUnknownAddressesLikeKnownOnes(t *testing.T) {
	p, clock := withAccounts(t)
	known := p.SeedUser(t, account.RoleMember).Email
	unknown := "nobody-" + time.Now().Format("150405.000000") + "@test.invalid"

	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	try := func(base, email string) answer {
		c := portaltest.NewClientAt(t, base)
		c.RefreshCSRF()
		resp, body := c.Do("POST", "/api/session", map[string]string{"email": email, "password": "not the password at all"})
		return answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(body)}
	}
	same := func(when, base string) answer {
		t.Helper()
		a, b := try(base, known), try(base, unknown)
		if a != b {
			t.Fatalf("%s: member's address %+v, unknown address %+v", when, a, b)
		}
		return a
	}
	for i := 1; i <= account.FreeFailures+3; i++ {
		clock.Advance(account.MaxDelay)
		same("failure "+string(rune('0'+i)), p.URL)
	}
	if a := same("before the restart", p.URL); a.status != http.StatusTooManyRequests {
		t.Fatalf("before the restart: %+v, want both throttled", a)
	}

	// The restart: a new store handle, audit log, account service and
	// server over the same database file; nothing kept in memory.
	db, err := p.ReopenDB(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.New(db, clock.Now).WithKey(audit.ChainKey(p.SecretKey))
	accounts, err := account.New(db, log, account.Options{Now: clock.Now, SecretKey: p.SecretKey, Argon2: portaltest.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Search: p.Searcher, Accounts: accounts, Audit: log, Research: p.Research,
		Training: p.Training, SecretKey: p.SecretKey, SiteDir: p.SiteDir, Database: db, SecretRate: 1000, Groups: p.Groups, Attest: p.Attest, Reach: p.Reach})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	if a := same("after the restart", hs.URL); a.status != http.StatusTooManyRequests {
		t.Fatalf("after the restart: %+v, want both still throttled", a)
	}
	clock.Advance(account.MaxDelay)
	if a := same("after the wait", hs.URL); a.status != http.StatusUnauthorized {
		t.Fatalf("after the wait: %+v, want both refused", a)
	}
}

// A member on a trusted browser changes the password while the account is
// locked for untrusted ones, and is told by mail; an admin's unlock is
// mailed too.
func TestPasswordChangeAndUnlockMailed(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	err := p.DB.Update(t.Context(), func(tx account.Tx) error {
		rec, err := tx.UserByID(t.Context(), u.ID)
		if err != nil {
			return err
		}
		rec.Locked, rec.Failures, rec.LastFailureAt = true, account.MaxFailures, clock.Now()
		return tx.SaveUser(t.Context(), rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	next := "amber quarry lantern whistle"
	c.JSON("POST", "/api/me/password", map[string]string{"currentPassword": u.Password, "newPassword": next}, http.StatusNoContent, nil)
	changed := waitMail(t, p, u.Email, "Your password was changed")
	if len(changed) != 1 || !strings.Contains(changed[0].Text, "other sessions were ended") {
		t.Errorf("password change notice: %+v", changed)
	}

	a := p.NewClient(t)
	clock.Advance(time.Minute)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	a.JSON("POST", "/api/admin/users/"+u.ID+"/unlock", nil, http.StatusOK, nil)
	waitMail(t, p, u.Email, "Your account was unlocked")
	// Unlocked: any browser signs in with the new password.
	clock.Advance(time.Minute)
	p.NewClient(t).Login(u.Email, next, u.TOTPSecret, clock.Now())
}

// An outsider who fails on a member's address over and over keeps the
// account's untrusted counter waiting, and with it the member on a new
// browser. The member is mailed one link (however many attempts were
// throttled), follows it from the new browser and signs in there at once;
// the outsider, and any other browser without the link, still waits.
func TestThrottledMemberGetsAWayIn(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	const subject = "Sign-in from new browsers is slowed down"

	attacker := p.NewClient(t)
	attacker.RefreshCSRF()
	throttled := 0
	for round := range 3 {
		if round > 0 {
			// Past the 15 minutes between two links, within the first
			// link's 24 hours: no second mail while it is unused.
			clock.Advance(16 * time.Minute)
		}
		for range account.FreeFailures + 5 {
			resp, _ := attacker.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": "not the password at all"})
			if resp.StatusCode == http.StatusTooManyRequests {
				throttled++
			}
		}
		if round == 0 {
			waitMail(t, p, u.Email, subject)
		}
	}
	if throttled < 10 {
		t.Fatalf("%d of the outsider's attempts were throttled; the test needs the counter waiting", throttled)
	}

	// The member on a new browser, right password: made to wait like the
	// outsider.
	laptop := p.NewClient(t)
	laptop.RefreshCSRF()
	resp, body := laptop.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": u.Password})
	if resp.StatusCode != http.StatusTooManyRequests || portaltest.ErrorCode(t, body) != "throttled" {
		t.Fatalf("new browser, right password, while throttled: %d %s, want 429 throttled", resp.StatusCode, body)
	}

	// One mail, whatever the number of throttled attempts, with a link.
	// The attempts' offers run in the background: they are done before the
	// link is spent, since an offer handled after that would rightly mail
	// a new link (the test's clock is 32 minutes on, past the 15 between
	// two links), which the slower store of the two shows now and then.
	p.Accounts.Wait()
	var offers []portaltest.Mail
	for _, m := range p.Mail(t, u.Email) {
		if m.Subject == subject {
			offers = append(offers, m)
		}
	}
	if len(offers) != 1 {
		t.Fatalf("%d mails %q, want 1", len(offers), subject)
	}
	m := unlockToken.FindStringSubmatch(offers[0].Text)
	if m == nil {
		t.Fatalf("no unlock link in %q", offers[0].Text)
	}
	laptop.RefreshCSRF()
	laptop.JSON("POST", "/api/devices/unlock", map[string]string{"token": m[1]}, http.StatusOK, nil)
	if laptop.Cookie(deviceCookie) == "" {
		t.Fatal("no device cookie after the link")
	}
	// No wait: the browser counts on its own device counter now.
	laptop.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	laptop.JSON("GET", "/api/me", nil, http.StatusOK, nil)
	if n := targetCount(t, p, audit.ActionUnlockLinkSent, u.ID); n != 1 {
		t.Errorf("%d login.unlock_link entries, want 1", n)
	}

	// The outsider, and another browser with the right password but not
	// the mail, still wait.
	for name, c := range map[string]struct {
		client   *portaltest.Client
		password string
	}{"the outsider": {attacker, "not the password at all"}, "another new browser": {p.NewClient(t), u.Password}} {
		c.client.RefreshCSRF()
		resp, body := c.client.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": c.password})
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("%s after the member signed in: %d %s, want 429", name, resp.StatusCode, body)
		}
	}
}
