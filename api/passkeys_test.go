package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/portaltest"
)

// What needs no authenticator, over real HTTP: adding a passkey needs the
// password, the options carry a fresh challenge of at least 16 bytes that
// asks for user verification and excludes nothing yet, an answer without a
// ceremony under way or with a bad name is refused, a member without
// passkeys is told so at the second step, and no one renames or removes a
// passkey that is not theirs. (The ceremonies themselves run in Chromium: e2e.)
func TestPasskeyRoutesWithoutAuthenticator(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	// Passkeys are bound to a host name; the test server's address is an IP.
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	resp, body := c.Do("POST", "/api/me/passkeys/options", map[string]string{"password": u.Password})
	if resp.StatusCode != http.StatusBadRequest || portaltest.ErrorCode(t, body) != "invalid_origin" {
		t.Errorf("options at an IP address: %d %s", resp.StatusCode, body)
	}
	base := strings.Replace(p.URL, "127.0.0.1", "localhost", 1)
	c = portaltest.NewClientAt(t, base)
	clock.Advance(30 * time.Second) // a TOTP code works once
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())

	var list struct{ Passkeys []any }
	c.JSON("GET", "/api/me/passkeys", nil, http.StatusOK, &list)
	if len(list.Passkeys) != 0 {
		t.Errorf("new member's passkeys: %v", list.Passkeys)
	}

	resp, body = c.Do("POST", "/api/me/passkeys/options", map[string]string{"password": "not the password"})
	if resp.StatusCode != http.StatusForbidden || portaltest.ErrorCode(t, body) != "reauthentication_required" {
		t.Errorf("options with a wrong password: %d %s", resp.StatusCode, body)
	}
	resp, body = c.Do("POST", "/api/me/passkeys", map[string]any{"name": "Laptop", "credential": map[string]string{"id": "x"}})
	if resp.StatusCode != http.StatusBadRequest || portaltest.ErrorCode(t, body) != "passkey_rejected" {
		t.Errorf("answer without a ceremony: %d %s", resp.StatusCode, body)
	}

	challenges := map[string]bool{}
	for range 2 {
		var opts struct {
			PublicKey struct {
				Challenge              string
				ExcludeCredentials     []any
				AuthenticatorSelection struct{ UserVerification string }
				RP                     struct{ ID string }
			}
		}
		c.JSON("POST", "/api/me/passkeys/options", map[string]string{"password": u.Password}, http.StatusOK, &opts)
		raw, err := base64.RawURLEncoding.DecodeString(opts.PublicKey.Challenge)
		if err != nil || len(raw) < 16 || challenges[opts.PublicKey.Challenge] {
			t.Errorf("challenge %q: %d bytes, err %v, seen before %v", opts.PublicKey.Challenge, len(raw), err, challenges[opts.PublicKey.Challenge])
		}
		challenges[opts.PublicKey.Challenge] = true
		if opts.PublicKey.AuthenticatorSelection.UserVerification != "required" || opts.PublicKey.RP.ID != "localhost" ||
			len(opts.PublicKey.ExcludeCredentials) != 0 {
			t.Errorf("creation options: %+v", opts.PublicKey)
		}
	}
	resp, body = c.Do("POST", "/api/me/passkeys", map[string]any{"name": "  ", "credential": json.RawMessage(`{}`)})
	if resp.StatusCode != http.StatusBadRequest || portaltest.ErrorCode(t, body) != "invalid_input" {
		t.Errorf("blank name: %d %s", resp.StatusCode, body)
	}
	// A refused answer spends the challenge: a second answer finds none.
	for i := range 2 {
		resp, body = c.Do("POST", "/api/me/passkeys", map[string]any{"name": "Laptop", "credential": json.RawMessage(`{}`)})
		if resp.StatusCode != http.StatusBadRequest || portaltest.ErrorCode(t, body) != "passkey_rejected" {
			t.Errorf("malformed answer %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	var details []string
	for _, e := range auditEntries(t, p, audit.Filter{Action: account.ActionPasskeyAdd, Actor: u.ID}) {
		details = append(details, e.Detail)
	}
	if len(details) < 2 || !strings.Contains(details[0], "no register ceremony under way") || strings.Contains(details[1], "no register ceremony") {
		t.Errorf("refused registrations, newest first: %q; want the malformed answer, then no ceremony left for the second", details)
	}
	resp, body = c.Do("PATCH", "/api/me/passkeys/0123456789abcdef0123456789abcdef", map[string]string{"name": "Mine now"})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("renaming a passkey that is not mine: %d %s", resp.StatusCode, body)
	}
	resp, body = c.Do("PATCH", "/api/me/passkeys/0123456789abcdef0123456789abcdef", map[string]string{"name": "bad\u202ename"})
	if resp.StatusCode != http.StatusBadRequest || portaltest.ErrorCode(t, body) != "invalid_input" {
		t.Errorf("a name with a bidi override: %d %s", resp.StatusCode, body)
	}
	resp, body = c.Do("DELETE", "/api/me/passkeys/0123456789abcdef0123456789abcdef", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing a passkey that is not mine: %d %s", resp.StatusCode, body)
	}
	resp, body = c.Do("POST", "/api/session/step-up/passkey/options", nil)
	if resp.StatusCode != http.StatusNotFound || portaltest.ErrorCode(t, body) != "no_passkey" {
		t.Errorf("step-up options without a passkey: %d %s", resp.StatusCode, body)
	}

	// At the second step of a login.
	half := portaltest.NewClientAt(t, base)
	half.RefreshCSRF()
	if resp, body := half.Do("POST", "/api/session", map[string]string{"email": u.Email, "password": u.Password}); resp.StatusCode != http.StatusOK {
		t.Fatalf("password step: %d %s", resp.StatusCode, body)
	}
	half.RefreshCSRF()
	resp, body = half.Do("POST", "/api/session/passkey/options", nil)
	if resp.StatusCode != http.StatusNotFound || portaltest.ErrorCode(t, body) != "no_passkey" {
		t.Errorf("login options without a passkey: %d %s", resp.StatusCode, body)
	}
	resp, body = half.Do("GET", "/api/me/passkeys", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("passkey list at the second step: %d %s", resp.StatusCode, body)
	}
	resp, body = half.Do("POST", "/api/session/passkey", map[string]any{"credential": map[string]string{"id": "x"}})
	if resp.StatusCode != http.StatusUnauthorized || portaltest.ErrorCode(t, body) != "invalid_credentials" {
		t.Errorf("assertion without a ceremony: %d %s", resp.StatusCode, body)
	}
}
