package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"portal/account"
	"portal/audit"
	"portal/portaltest"
)

// addAuthenticator plugs a virtual platform authenticator into the tab:
// it verifies its user (as a PIN or fingerprint would) and answers at once.
func addAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	return call(t, ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	}).AuthenticatorID
}

// addPasskeyInBrowser adds a passkey named name on the account page.
func addPasskeyInBrowser(t *testing.T, ctx context.Context, u portaltest.User, name string, rows int) {
	t.Helper()
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("#account-passkey-form")),
		chromedp.SendKeys(chromedp.CSS("#account-passkey-name"), name),
		chromedp.SendKeys(chromedp.CSS("#account-passkey-password"), u.Password),
		chromedp.Click(chromedp.CSS(`#account-passkey-form button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#account-passkeys-body tr").length === `+strconv.Itoa(rows),
			chromedp.WithPollingTimeout(20*time.Second)),
	)
}

// passkeyNames reads the names in the account page's passkey table.
func passkeyNames(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#account-passkeys-body th")].map(th => th.textContent.trim())`))
}

// Through the real pages in Chromium, with the DevTools protocol's virtual
// authenticators: an admin is refused a passkey made without user
// verification, adds two passkeys (one per authenticator), logs in with the password and a passkey in
// place of the code, is refused when the authenticator's answer lacks user
// verification, steps up with a passkey (whose answer, sent again, is
// refused), removes a passkey and renames the other. Each step is in the
// audit log, and the member is mailed of each addition and removal.
func TestPasskeyEnrolLoginStepUpRemove(t *testing.T) {
	// Its own portal: the test sends more secret-checking requests in a few
	// seconds than the per-address limit lets one browser send.
	p := portaltest.Start(t, portaltest.Options{SecretRate: 100})
	u := p.SeedUser(t, account.RoleAdmin)
	ctx := browser(t)
	// WebAuthn needs a host name (not an IP address) for its relying party,
	// and localhost is a secure context over plain HTTP.
	base := strings.Replace(p.URL, "127.0.0.1", "localhost", 1)
	call(t, ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)})
	first := addAuthenticator(t, ctx)

	// Log in with the code, then add a passkey from the account page.
	do(t, ctx,
		chromedp.Navigate(base+"/en/account/login/"),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), u.Password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#login-code")),
		chromedp.SendKeys(chromedp.CSS("#login-code"), account.TOTPCode(u.TOTPSecret, time.Now())+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#account-passkeys-empty")),
	)
	// A passkey made without user verification is refused.
	call(t, ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: first, IsBadUV: new(true)})
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#account-passkey-name"), "Unverified"),
		chromedp.SendKeys(chromedp.CSS("#account-passkey-password"), u.Password),
		chromedp.Click(chromedp.CSS(`#account-passkey-form button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("#app-alert").textContent.trim() !== ""`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	refusal := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#app-alert").textContent.trim()`))
	// Without its flags, SetResponseOverrideBits turns every override off.
	call(t, ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: first})
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("account-passkey-form").reset()`))
	if refusal != "The passkey could not be added. Try again." {
		t.Errorf("passkey made without user verification: %q", refusal)
	}
	if ps, err := p.Accounts.ListPasskeys(t.Context(), u.ID); err != nil || len(ps) != 0 {
		t.Fatalf("passkeys after the refusal: %+v, %v", ps, err)
	}
	addPasskeyInBrowser(t, ctx, u, "Office laptop", 1)

	// A second passkey on another authenticator. The first authenticator
	// is unplugged: the portal lists its passkey as excluded, and a browser
	// refuses to make a second passkey on an authenticator that has one.
	call(t, ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: first})
	second := addAuthenticator(t, ctx)
	addPasskeyInBrowser(t, ctx, u, "Security key", 2)
	if got := passkeyNames(t, ctx); strings.Join(got, ",") != "Office laptop,Security key" {
		t.Errorf("passkeys listed: %q", got)
	}

	// Log out, then in again with the password and the passkey.
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#account-logout")),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), u.Password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#login-passkey")),
	)
	// An authenticator that answers without user verification is refused
	// by the portal, and the member stays at the second step.
	call(t, ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: second, IsBadUV: new(true)})
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#login-passkey")),
		chromedp.Poll[chromedp.Void](`(document.querySelector("#app-alert") || {}).textContent?.trim().length > 0`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	alert := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#app-alert").textContent.trim()`))
	path := run(t, ctx, chromedp.Evaluate[string](`location.pathname`))
	if !strings.Contains(alert, "not accepted") || path != "/en/account/login/" {
		t.Errorf("passkey without user verification: alert %q at %s, want a refusal on the login page", alert, path)
	}
	call(t, ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: second})
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#app-alert").replaceChildren()`),
		// The alert is shown before the button's action ends; a click while
		// it is still busy is ignored, as a double click is.
		chromedp.Poll[chromedp.Void](`!document.querySelector("#login-passkey").hasAttribute("aria-disabled")`,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Click(chromedp.CSS("#login-passkey")),
	)
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(wait, chromedp.WaitVisible(chromedp.CSS("#account-passkey-stepup-button"))); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + ": " + document.querySelector("#app-alert")?.textContent + " busy=" + document.querySelector("#login-passkey").getAttribute("aria-disabled") + " status=" + document.querySelector("#app-status").textContent`))
		t.Fatalf("login with the passkey: %v (%s)", err, state)
	}

	// Step up with the passkey.
	do(t, ctx,
		chromedp.Click(chromedp.CSS("#account-passkey-stepup-button")),
		chromedp.Poll[chromedp.Void](`document.querySelector("#app-status").textContent.trim() + document.querySelector("#app-alert").textContent.trim() !== ""`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	status := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#app-status").textContent.trim() + document.querySelector("#app-alert").textContent.trim()`))
	if status != "Your identity has been confirmed." {
		t.Errorf("after stepping up: %q", status)
	}

	// An answer is good for its own challenge once: sent again, it is refused.
	replay := run(t, ctx, chromedp.Evaluate[string](`(async () => {
		const csrf = (await (await fetch("/api/csrf")).json()).token;
		const headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf};
		const options = await (await fetch("/api/session/step-up/passkey/options", {method: "POST", headers, body: "{}"})).json();
		const credential = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey)});
		const body = JSON.stringify({credential: credential.toJSON()});
		const first = await fetch("/api/session/step-up/passkey", {method: "POST", headers, body});
		const again = await fetch("/api/session/step-up/passkey", {method: "POST", headers, body});
		return first.status + " " + again.status;
	})()`, chromedp.EvalAwaitPromise))
	if replay != "200 401" {
		t.Errorf("an assertion sent twice: %s, want 200 then 401", replay)
	}

	// Remove the first passkey.
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#account-passkeys-body button[aria-label="Remove passkey Office laptop"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#account-passkeys-body tr").length === 1`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if got := passkeyNames(t, ctx); strings.Join(got, ",") != "Security key" {
		t.Errorf("passkeys after removing one: %q", got)
	}

	// Rename the one left.
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#account-passkeys-body tr:first-child button[aria-label="Rename passkey Security key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#account-passkeys-body input.input-passkey-name`)),
		// The field opens with the old name selected: typing replaces it.
		chromedp.SendKeys(chromedp.CSS(`#account-passkeys-body input.input-passkey-name`), "Blue security key"),
		chromedp.Click(chromedp.CSS(`#account-passkeys-body input.input-passkey-name + button`)),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#account-passkeys-body input")`, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if got := passkeyNames(t, ctx); strings.Join(got, ",") != "Blue security key" {
		t.Errorf("passkeys after renaming: %q", got)
	}
	left, err := p.Accounts.ListPasskeys(t.Context(), u.ID)
	if err != nil || len(left) != 1 || left[0].Name != "Blue security key" || left[0].LastUsedAt.IsZero() {
		t.Errorf("stored passkeys: %+v, %v; want the used security key alone, renamed", left, err)
	}

	for action, want := range map[string]int{
		account.ActionPasskeyAdd: 2, account.ActionLoginPasskey: 1,
		audit.ActionStepUp: 2, account.ActionPasskeyRemove: 1, account.ActionPasskeyRename: 1,
	} {
		entries, _, err := p.Audit.List(t.Context(), audit.Filter{Actor: u.ID, Action: action, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Outcome == audit.OutcomeSuccess && (action != audit.ActionStepUp || strings.HasPrefix(e.Detail, "passkey")) {
				n++
			}
		}
		if n != want {
			t.Errorf("audit %s: %d successes, want %d", action, n, want)
		}
	}
	refused, _, err := p.Audit.List(t.Context(), audit.Filter{Actor: u.ID, Action: audit.ActionLoginFailure, Limit: 10})
	if err != nil || len(refused) != 1 || !strings.HasPrefix(refused[0].Detail, "passkey:") {
		t.Errorf("audit of the refused passkey: %+v, %v", refused, err)
	}

	// The member was told of each change, at the registered address.
	var subjects []string
	for _, m := range p.Mail(t, u.Email) {
		subjects = append(subjects, m.Subject)
	}
	if got, want := strings.Join(subjects, " | "), "A passkey was added to your account | A passkey was added to your account | "+
		"A passkey was removed from your account"; got != want {
		t.Errorf("mail to the member: %s\nwant %s", got, want)
	}
	checkAxe(t, ctx, "account page with passkeys")
}

// An admin whose login is older than the step-up window ends a member's
// sessions from the members page and, asked to confirm, uses a passkey in
// place of a code: the act goes through and the member is mailed.
func TestStepUpWithPasskeyOnTheMembersPage(t *testing.T) {
	clock := portaltest.NewClock()
	p := portaltest.Start(t, portaltest.Options{Now: clock.Now})
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedNamedUser(t, "Passkey Step-up Member", account.RoleMember)
	ctx := browser(t)
	base := strings.Replace(p.URL, "127.0.0.1", "localhost", 1)
	call(t, ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)})
	addAuthenticator(t, ctx)
	do(t, ctx,
		chromedp.Navigate(base+"/en/account/login/"),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), admin.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), admin.Password+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#login-code")),
		chromedp.SendKeys(chromedp.CSS("#login-code"), account.TOTPCode(admin.TOTPSecret, clock.Now())+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#account-passkeys-empty")),
	)
	addPasskeyInBrowser(t, ctx, admin, "Admin laptop", 1)
	clock.Advance(account.StepUpWindow + time.Minute)

	row := `tr[data-user="` + member.ID + `"]`
	do(t, ctx,
		chromedp.Navigate(base+"/en/admin/members/"),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-action="manage"]`)),
		chromedp.Click(chromedp.CSS(row+` [data-action="manage"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-action="end-sessions"]`)),
		chromedp.Click(chromedp.CSS(`[data-action="end-sessions"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.Click(chromedp.CSS(`#app-confirm [data-confirm="yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app-step-up [data-step-up="passkey"]`)),
		chromedp.Click(chromedp.CSS(`#app-step-up [data-step-up="passkey"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#app-step-up`)),
		chromedp.WaitVisible(chromedp.CSS(`.member-note`)),
	)
	note := run(t, ctx, chromedp.Text(chromedp.CSS(`.member-note`)))
	if want := "All sessions of Passkey Step-up Member have been ended."; strings.TrimSpace(note) != want {
		t.Errorf("note %q, want %q", note, want)
	}
	if n := sessionsEnded(t, p, member.Email); n != 1 {
		t.Errorf("%d mails about ended sessions to the member, want 1", n)
	}
	checkAxe(t, ctx, "members page after a passkey step-up")
}
