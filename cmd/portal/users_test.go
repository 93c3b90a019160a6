package main

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/config"
)

// The users commands against a real SQLite file, as an operator locked out
// of the web would run them.
func TestUsersCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": strings.Repeat("cd", 32),
		"PORTAL_PUBLIC_URL": "https://portal.example"}
	out, err := runCmd(t, env, "users", "create-admin", "--email", "first.admin@example.org")
	if err != nil || !strings.Contains(out, "https://portal.example/en/account/accept/#token=") {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}

	// Two members with passwords and second factors, one of them locked
	// out by failed sign-ins (synthetic accounts).
	ctx := context.Background()
	cfg, err := config.LoadFor("users list", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := openApp(ctx, cfg, cfg.NewLogger(t.Output()))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		email string
		role  account.Role
	}{{"admin@example.org", account.RoleAdmin}, {"member@example.org", account.RoleMember}} {
		if _, _, err := a.accounts.SeedUser(ctx, u.email, "Synthetic Test Account", u.role, []string{"members"}, "quiet-harbour-lantern-9127"); err != nil {
			t.Fatal(err)
		}
	}
	err = a.db.Update(ctx, func(tx account.Tx) error {
		u, err := tx.UserByEmail(ctx, "member@example.org")
		if err != nil {
			return err
		}
		u.Locked, u.Failures = true, account.MaxFailures
		return tx.SaveUser(ctx, u)
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}

	row := func(email string) string {
		t.Helper()
		out, err := runCmd(t, env, "users", "list")
		if err != nil {
			t.Fatalf("users list: %v\n%s", err, out)
		}
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, email+" ") {
				return line
			}
		}
		t.Fatalf("users list has no row for %s:\n%s", email, out)
		return ""
	}
	if r := row("member@example.org"); !strings.Contains(r, "member ") || !strings.Contains(r, "locked") {
		t.Errorf("locked member listed as %q", r)
	}
	if r := row("admin@example.org"); !strings.Contains(r, "admin ") || !strings.Contains(r, "active") {
		t.Errorf("admin listed as %q", r)
	}

	steps := []struct {
		args    []string
		want    string // in the output
		wantErr string // in the error, if the command must fail
		state   string // in the member's row afterwards
	}{
		{[]string{"unlock", "--email", "Member@Example.org"}, "member@example.org: unlocked (was locked: true)", "", "active"},
		{[]string{"disable", "--email", "member@example.org"}, "disabled; their sessions are ended", "", "disabled"},
		{[]string{"disable", "--email", "member@example.org"}, "already disabled", "", "disabled"},
		{[]string{"enable", "--email", "member@example.org"}, "member@example.org: enabled", "", "active"},
		{[]string{"reset-mfa", "--email", "member@example.org"}, "https://portal.example/en/account/accept/#token=", "", "no second factor"},
		{[]string{"unlock", "--email", "nobody@example.org"}, "", "no member has the e-mail address nobody@example.org", "no second factor"},
		{[]string{"disable", "--email", "admin@example.org"}, "", "last enabled admin", "no second factor"},
	}
	for _, s := range steps {
		out, err := runCmd(t, env, append([]string{"users"}, s.args...)...)
		if s.wantErr == "" && err != nil || s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
			t.Errorf("users %s: err %v, want %q", strings.Join(s.args, " "), err, s.wantErr)
		}
		if !strings.Contains(out, s.want) {
			t.Errorf("users %s printed %q, want %q in it", strings.Join(s.args, " "), out, s.want)
		}
		if r := row("member@example.org"); !strings.Contains(r, s.state) {
			t.Errorf("after users %s the member is listed as %q, want %q", strings.Join(s.args, " "), r, s.state)
		}
	}

	// With a relay, the link is queued in the database for the running
	// portal to mail, even while the relay cannot be reached, and is not
	// printed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relay := l.Addr().String()
	l.Close()
	env["PORTAL_SMTP_URL"] = "smtp://" + relay
	out, err = runCmd(t, env, "users", "reset-mfa", "--email", "admin@example.org")
	if err != nil || !strings.Contains(out, "queued for admin@example.org") || strings.Contains(out, "token=") {
		t.Errorf("reset-mfa with a relay: %v\n%s", err, out)
	}
	if r := row("admin@example.org"); !strings.Contains(r, "no second factor") {
		t.Errorf("admin after reset-mfa: %q", r)
	}
	a, err = openApp(ctx, cfg, cfg.NewLogger(t.Output()))
	if err != nil {
		t.Fatal(err)
	}
	queued, err := a.db.Mail().ClaimMail(ctx, time.Now().Add(time.Minute), time.Now(), 10)
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The operator's acts are mailed to the member they concern, as the
	// admin pages' are: the unlock at the start, each change of state, and
	// the reset link. The link is a credential: sealed in the database, not
	// in clear.
	subjects := map[string][]string{}
	for _, q := range queued {
		subjects[q.To] = append(subjects[q.To], q.Subject)
		if q.To == "admin@example.org" && (!strings.HasPrefix(q.Text, "sealed-v1:") || strings.Contains(q.Text, "token=")) {
			t.Errorf("re-enrolment mail stored as %q, want it sealed", q.Text)
		}
	}
	if got := subjects["admin@example.org"]; len(got) != 1 || got[0] != "Set up your second factor again" {
		t.Errorf("mails to the admin %q, want the re-enrolment link alone", got)
	}
	for _, want := range []string{"Your account was unlocked", "Your account was disabled", "Your account was enabled", "Set up your second factor again"} {
		if !slices.Contains(subjects["member@example.org"], want) {
			t.Errorf("mails to the member %q lack %q", subjects["member@example.org"], want)
		}
	}
	env["PORTAL_SMTP_URL"] = "ftp://nowhere"
	if out, err := runCmd(t, env, "users", "reset-mfa", "--email", "member@example.org"); err == nil || strings.Contains(out, "token=") {
		t.Errorf("reset-mfa with an invalid relay URL: %v\n%s", err, out)
	}
	delete(env, "PORTAL_SMTP_URL")

	// Every act is audited, with the command line as the actor, and the
	// chain holds.
	if out, err := runCmd(t, env, "audit", "verify"); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
	a, err = openApp(ctx, cfg, cfg.NewLogger(t.Output()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for action, want := range map[string]int{audit.ActionUserUnlock: 1, audit.ActionUserDisable: 1, audit.ActionUserEnable: 1, audit.ActionMFAReset: 2} {
		entries, _, err := a.audit.List(ctx, audit.Filter{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Outcome == audit.OutcomeSuccess && e.Actor == audit.ActorSystem && strings.HasPrefix(e.ActorEmail, "command line (") {
				n++
			}
		}
		if n != want {
			t.Errorf("%s: %d successful entries by the command line, want %d: %+v", action, n, want, entries)
		}
	}
}
