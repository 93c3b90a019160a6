package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/account"
	"portal/api"
	"portal/portaltest"
)

// The account tests share one portal with a settable clock; each test seeds
// its own users, so they do not interfere.
var accountsPortal struct {
	once   sync.Once
	portal *portaltest.Portal
	clock  *portaltest.Clock
	err    error
}

func withAccounts(t *testing.T) (*portaltest.Portal, *portaltest.Clock) {
	t.Helper()
	accountsPortal.once.Do(func() {
		accountsPortal.clock = portaltest.NewClock()
		accountsPortal.portal, accountsPortal.err = portaltest.Run(portaltest.Options{
			Now: accountsPortal.clock.Now, SecretRate: 1000})
	})
	if accountsPortal.err != nil {
		t.Fatal(accountsPortal.err)
	}
	return accountsPortal.portal, accountsPortal.clock
}

func TestLoginWithTOTP(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.RefreshCSRF()
	resp, body := c.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": u.Password})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"next":"mfa"`) {
		t.Fatalf("password step: %d %s", resp.StatusCode, body)
	}
	checkSessionCookie(t, resp)
	pending := c.Cookie("__Host-portal_session")

	// Half-authenticated: nothing but the second step.
	for _, path := range []string{"/api/me", "/api/me/sessions", "/api/admin/users"} {
		resp, body := c.Do("GET", path, nil)
		if resp.StatusCode != http.StatusForbidden || portaltest.ErrorCode(t, body) != "second_factor_required" {
			t.Errorf("GET %s with a password-only session: %d %s", path, resp.StatusCode, body)
		}
	}

	c.RefreshCSRF()
	resp, body = c.Do("POST", "/api/session/mfa", map[string]string{"code": account.TOTPCode(u.TOTPSecret, clock.Now())})
	if resp.StatusCode != 200 {
		t.Fatalf("mfa step: %d %s", resp.StatusCode, body)
	}
	checkSessionCookie(t, resp)
	if c.Cookie("__Host-portal_session") == pending {
		t.Fatal("session token not rotated after the second factor")
	}
	var me struct {
		Email  string
		Role   string
		Groups []string
	}
	c.JSON("GET", "/api/me", nil, 200, &me)
	if me.Email != u.Email || me.Role != "member" || !slices.Contains(me.Groups, "members") {
		t.Errorf("me = %+v", me)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}

	// The pre-MFA token is dead.
	old := p.NewClient(t)
	old.SetCookie("__Host-portal_session", pending)
	if resp, _ := old.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old half session after login: %d, want 401", resp.StatusCode)
	}
	// The same TOTP code cannot log in again.
	again := p.NewClient(t)
	again.RefreshCSRF()
	again.JSON("POST", "/api/session", map[string]string{"email": u.Email, "password": u.Password}, 200, nil)
	again.RefreshCSRF()
	resp, body = again.Do("POST", "/api/session/mfa", map[string]string{"code": account.TOTPCode(u.TOTPSecret, clock.Now())})
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "invalid_credentials" {
		t.Errorf("reused TOTP code: %d %s", resp.StatusCode, body)
	}

	// Logout ends the session on the server and clears the browser.
	c.RefreshCSRF()
	token := c.Cookie("__Host-portal_session")
	resp, _ = c.Do("DELETE", "/api/session", nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Clear-Site-Data") == "" {
		t.Errorf("logout: %d, Clear-Site-Data %q", resp.StatusCode, resp.Header.Get("Clear-Site-Data"))
	}
	replay := p.NewClient(t)
	replay.SetCookie("__Host-portal_session", token)
	if resp, _ := replay.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("cookie replayed after logout: %d, want 401", resp.StatusCode)
	}
}

func checkSessionCookie(t *testing.T, resp *http.Response) {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if ck.Name != "__Host-portal_session" {
			continue
		}
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("session cookie attributes: %+v", ck)
		}
		if len(ck.Value) < 43 { // 32 bytes, base64url
			t.Errorf("session token %d characters, want 256 bits", len(ck.Value))
		}
		return
	}
	t.Errorf("no session cookie set")
}

func TestLoginWithRecoveryCodeOnce(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())

	// Invite, accept, enrol: the whole path a new member takes.
	var inv struct {
		Link    string
		Emailed bool
	}
	email := "new-" + time.Now().Format("150405.000000") + "@test.invalid"
	queued := time.Now()
	a.JSON("POST", "/api/invitations", map[string]any{"email": email, "role": "member", "groups": []string{"victim-identification"}}, 201, &inv)
	if !inv.Emailed || inv.Link != "" {
		t.Fatalf("invitation = %+v, want it mailed and its link kept from the admin", inv)
	}
	// The link arrives by mail, through the portal's SMTP relay (Mailpit):
	// a plain-text message with its own Message-ID and Date.
	mails := p.Mail(t, email)
	if len(mails) != 1 {
		t.Fatalf("%d mails to %s, want 1", len(mails), email)
	}
	got := mails[0]
	if !strings.HasSuffix(got.MessageID, "@portal.example") || len(got.MessageID) < 40 {
		t.Errorf("Message-ID %q", got.MessageID)
	}
	if d := got.Date.Sub(queued); d < -time.Second || d > 5*time.Second {
		t.Errorf("Date %v, queued at %v", got.Date, queued)
	}
	if got.HTML != "" || !strings.Contains(got.Text, "expires on") {
		t.Errorf("want a plain-text invitation; text %q, html %q", got.Text, got.HTML)
	}
	link := regexp.MustCompile(`https?://\S+#token=(\S+)`).FindStringSubmatch(got.Text)
	if link == nil {
		t.Fatalf("no invitation link in %q", got.Text)
	}
	token := link[1]
	m := p.NewClient(t)
	m.RefreshCSRF()
	var info struct{ Email string }
	m.JSON("POST", "/api/invitations/lookup", map[string]string{"token": token}, 200, &info)
	if info.Email != email {
		t.Errorf("lookup email %q", info.Email)
	}
	resp, body := m.Do("POST", "/api/invitations/accept", map[string]string{"token": token, "displayName": "New Member", "password": "password123456"})
	if resp.StatusCode != 400 || portaltest.ErrorCode(t, body) != "weak_password" {
		t.Errorf("common password: %d %s", resp.StatusCode, body)
	}
	password := "mauve lighthouse ledger quietly"
	var enrol struct{ Secret, OtpauthURL, QrSvg string }
	m.JSON("POST", "/api/invitations/accept", map[string]string{"token": token, "displayName": "New Member", "password": password}, 200, &enrol)
	if enrol.Secret == "" || !strings.HasPrefix(enrol.QrSvg, "<svg") && !strings.HasPrefix(enrol.QrSvg, "<?xml") {
		t.Fatalf("enrolment = %+v", enrol)
	}
	if resp, _ := m.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("enrolling session reached /api/me: %d", resp.StatusCode)
	}
	m.RefreshCSRF()
	var rc struct{ RecoveryCodes []string }
	m.JSON("POST", "/api/mfa/totp/confirm", map[string]string{"code": account.TOTPCode(enrol.Secret, clock.Now())}, 200, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("%d recovery codes", len(rc.RecoveryCodes))
	}
	m.RefreshCSRF()
	m.JSON("GET", "/api/me", nil, 200, nil)

	// The invitation is spent.
	other := p.NewClient(t)
	other.RefreshCSRF()
	resp, body = other.Do("POST", "/api/invitations/accept", map[string]string{"token": token, "displayName": "X", "password": password + " again"})
	if resp.StatusCode != http.StatusGone || portaltest.ErrorCode(t, body) != "invitation_invalid" {
		t.Errorf("second accept: %d %s", resp.StatusCode, body)
	}

	// A recovery code logs in once.
	for i, want := range []int{200, 401} {
		r := p.NewClient(t)
		r.RefreshCSRF()
		r.JSON("POST", "/api/session", map[string]string{"email": email, "password": password}, 200, nil)
		r.RefreshCSRF()
		resp, body := r.Do("POST", "/api/session/mfa", map[string]string{"code": rc.RecoveryCodes[0]})
		if resp.StatusCode != want {
			t.Errorf("recovery code use %d: %d %s, want %d", i+1, resp.StatusCode, body, want)
		}
	}
}

func TestNoAccountEnumeration(t *testing.T) {
	p, _ := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	try := func(email, password string) (int, string) {
		c := p.NewClient(t)
		c.RefreshCSRF()
		resp, body := c.Do("POST", "/api/session", map[string]string{"email": email, "password": password})
		return resp.StatusCode, string(body)
	}
	s1, b1 := try(u.Email, "wrong password entirely")
	s2, b2 := try("nobody@test.invalid", "wrong password entirely")
	if s1 != http.StatusUnauthorized || s1 != s2 || b1 != b2 {
		t.Errorf("wrong password: %d %s; unknown email: %d %s", s1, b1, s2, b2)
	}
}

func TestThrottleOverHTTP(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.RefreshCSRF()
	var last *http.Response
	var body []byte
	for range account.FreeFailures + 1 {
		last, body = c.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": "not the password at all"})
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" || portaltest.ErrorCode(t, body) != "throttled" {
		t.Fatalf("after %d failures: %d Retry-After=%q %s", account.FreeFailures+1, last.StatusCode, last.Header.Get("Retry-After"), body)
	}
	clock.Advance(time.Hour)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
}

func TestSessionExpiry(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	clock.Advance(29 * time.Minute)
	c.JSON("GET", "/api/me", nil, 200, nil)
	clock.Advance(31 * time.Minute)
	if resp, _ := c.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after 31 idle minutes: %d, want 401", resp.StatusCode)
	}

	clock.Advance(time.Minute)
	c = p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	// Active every 29 minutes: the idle limit never strikes, the absolute
	// one (12 h) does.
	for range 26 {
		clock.Advance(29 * time.Minute)
		if resp, _ := c.Do("GET", "/api/me", nil); resp.StatusCode != 200 {
			break
		}
	}
	if resp, _ := c.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("active session after 12 hours: %d, want 401", resp.StatusCode)
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	p, _ := withAccounts(t)
	creds := map[string]string{"email": "x@test.invalid", "password": "whatever it is"}
	cases := []struct {
		name   string
		prep   func(c *portaltest.Client)
		status int
		code   string
	}{
		{"no token", func(c *portaltest.Client) {}, 403, "csrf_invalid"},
		{"cross-site", func(c *portaltest.Client) { c.RefreshCSRF(); c.Header.Set("Sec-Fetch-Site", "cross-site") }, 403, "cross_origin"},
		{"same-site", func(c *portaltest.Client) { c.RefreshCSRF(); c.Header.Set("Sec-Fetch-Site", "same-site") }, 403, "cross_origin"},
		{"foreign origin", func(c *portaltest.Client) {
			c.RefreshCSRF()
			c.Header.Set("Sec-Fetch-Site", "")
			c.Header.Set("Origin", "https://evil.example")
		}, 403, "cross_origin"},
		{"forged token", func(c *portaltest.Client) { c.RefreshCSRF(); c.Header.Set("X-CSRF-Token", "forged") }, 403, "csrf_invalid"},
	}
	for _, tc := range cases {
		c := p.NewClient(t)
		tc.prep(c)
		resp, body := c.Do("POST", "/api/session", creds)
		if resp.StatusCode != tc.status || portaltest.ErrorCode(t, body) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	// A form post cannot stand in for JSON.
	c := p.NewClient(t)
	c.RefreshCSRF()
	c.Header.Set("Content-Type", "text/plain")
	resp, body := c.Do("POST", "/api/session", creds)
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d %s, want 415", resp.StatusCode, body)
	}
}

// TestRoutePolicies walks the router: every API route must be in the policy
// table, and each role gets exactly what its policy allows.
func TestRoutePolicies(t *testing.T) {
	p, clock := withAccounts(t)
	policies := api.Policies()
	registered := 0
	for _, r := range p.API.Router().Routes() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		registered++
		if _, ok := policies[r.Method+" "+r.Path]; !ok {
			t.Errorf("route %s %s has no policy", r.Method, r.Path)
		}
	}
	if registered != len(policies) {
		t.Errorf("%d API routes registered, %d in the policy table", registered, len(policies))
	}

	member := p.SeedUser(t, account.RoleMember)
	trainer := p.SeedUser(t, account.RoleTrainer)
	admin := p.SeedUser(t, account.RoleAdmin)
	// A member of the group that handles complaints (complaints.Service.Handles).
	handler := p.SeedUser(t, account.RoleMember, p.Complaints.HandlingGroup())
	clients := map[string]*portaltest.Client{"anonymous": p.NewClient(t)}
	clients["anonymous"].RefreshCSRF()
	for name, u := range map[string]portaltest.User{"member": member, "trainer": trainer, "admin": admin, "handler": handler} {
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		clients[name] = c
	}
	allowed := map[api.Policy][]string{
		api.Member:  {"member", "trainer", "admin", "handler"},
		api.Trainer: {"trainer", "admin"},
		api.Admin:   {"admin"},
	}
	for route, policy := range policies {
		method, path, _ := strings.Cut(route, " ")
		who, guarded := allowed[policy]
		if !guarded {
			continue
		}
		// The complaints queue is for members of the handling group only,
		// admins included: no role reaches it by itself.
		if policy == api.Member && strings.HasPrefix(path, "/api/complaints/") {
			who = []string{"handler"}
		}
		path = strings.ReplaceAll(path, ":id", "no-such-id")
		path = strings.ReplaceAll(path, ":number", "CP-2000-ZZZZ")
		for name, c := range clients {
			resp, body := c.Do(method, path, map[string]any{})
			switch {
			case name == "anonymous":
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s as anonymous: %d %s, want 401", route, resp.StatusCode, body)
				}
			case slices.Contains(who, name):
				// Past the guard, the handler may still refuse the empty
				// request (for instance for want of a password), but not
				// for who is asking.
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden && portaltest.ErrorCode(t, body) == "forbidden" {
					t.Errorf("%s as %s: %d %s, want access", route, name, resp.StatusCode, body)
				}
			default:
				if resp.StatusCode != http.StatusForbidden || portaltest.ErrorCode(t, body) != "forbidden" {
					t.Errorf("%s as %s: %d %s, want 403 forbidden", route, name, resp.StatusCode, body)
				}
			}
		}
	}
}

// TestAdminActsAreAudited: admin changes go through the API, are checked,
// and land in the audit log, whose chain stays intact.
func TestAdminActsAreAudited(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedUser(t, account.RoleMember)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	m := p.NewClient(t)
	m.Login(member.Email, member.Password, member.TOTPSecret, clock.Now())

	// Fields a client may not set are refused, not ignored.
	resp, body := a.Do("PATCH", "/api/admin/users/"+member.ID, map[string]any{"groups": []string{"victim-identification"}, "disabled": true})
	if resp.StatusCode != 400 {
		t.Errorf("PATCH with an unknown field: %d %s, want 400", resp.StatusCode, body)
	}
	var u struct{ Groups []string }
	a.JSON("PATCH", "/api/admin/users/"+member.ID, map[string]any{"groups": []string{"victim-identification"}}, 200, &u)
	if !slices.Contains(u.Groups, "victim-identification") || !slices.Contains(u.Groups, "members") {
		t.Errorf("groups after update: %v", u.Groups)
	}
	// A privilege change ends the member's sessions.
	if resp, _ := m.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("member session after a group change: %d, want 401", resp.StatusCode)
	}
	a.JSON("POST", "/api/admin/users/"+member.ID+"/disable", nil, 200, nil)
	clock.Advance(time.Minute)
	again := p.NewClient(t)
	again.RefreshCSRF()
	resp, _ = again.Do("POST", "/api/session", map[string]string{"email": member.Email, "password": member.Password})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled member's login: %d, want 401", resp.StatusCode)
	}

	var page struct {
		Entries []struct{ Action, Target, Outcome, ActorEmail string }
		Total   int
	}
	a.JSON("GET", "/api/admin/audit?actor="+admin.ID, nil, 200, &page)
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user.update", "user.disable", "login.mfa"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit log for the admin lacks %s: %v", want, actions)
		}
	}
	res, err := p.Audit.Verify(t.Context())
	if err != nil || res.FirstBad != 0 {
		t.Errorf("audit chain: %+v %v", res, err)
	}
}
