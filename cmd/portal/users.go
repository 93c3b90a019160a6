package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"portal/account"
	"portal/config"
)

// The users commands administer members from the command line, for the
// first admin and for an operator locked out of the web. Each goes through
// the account service, as the admin pages do, and is audited with the
// operator (account.Operator) as the actor.
const (
	usersListHelp = `Lists every member: e-mail address, role, access groups, and whether the
account is disabled, locked by failed sign-ins, or without a second factor.
Refuses a data directory without a database.`
	createAdminHelp = `Bootstraps the first admin: prints a single-use invitation link (valid 72
hours) to set a password and a second factor. Refuses when an enabled admin
exists, unless --force.`
	unlockHelp = `Lets a member whose sign-in from untrusted browsers locked after repeated
failures sign in from any browser again: clears the lock and the failure
count, and queues a mail telling the member. Audited.`
	disableHelp = `Disables a member's account: ends their sessions and unused re-enrolment
links at once. The last enabled admin cannot be disabled. Audited, and the
member is mailed.`
	enableHelp   = `Enables a disabled account again. Audited, and the member is mailed.`
	resetMFAHelp = `Removes a member's second factor and recovery codes, ends their sessions,
and issues a single-use re-enrolment link (valid 72 hours) with which they
set a new password and a new authenticator. The link is mailed to the
member's registered address through the portal's mail queue; without
PORTAL_SMTP_URL (development) it is also printed for you to pass on. An
admin's reset needs no second admin here: whoever runs this command holds
the database and the secret key already. Audited.`
)

// operator is the actor of this command line's acts: the operating-system
// account that runs it.
func operator() *account.User {
	name := "unknown user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return account.Operator(name)
}

func usersListCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("users list"), args); err != nil {
		return err
	}
	a, _, _, err := openState(ctx, "users list", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	users, err := a.accounts.ListUsers(ctx, operator())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "EMAIL\tROLE\tGROUPS\tSTATE\tCREATED")
	for _, u := range users {
		var state []string
		if u.Disabled {
			state = append(state, "disabled")
		}
		if u.Locked {
			state = append(state, "locked")
		}
		if !u.MFAEnrolled {
			state = append(state, "no second factor")
		}
		if len(state) == 0 {
			state = append(state, "active")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.Role, strings.Join(u.Groups, ","), strings.Join(state, ", "),
			u.CreatedAt.UTC().Format(time.DateOnly))
	}
	return w.Flush()
}

func createAdminCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("users create-admin")
	email := fs.String("email", "", "the admin's email address")
	force := fs.Bool("force", false, "create another admin even if one exists")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return usagef(fs, "--email is required")
	}
	cfg, err := loadOneOff("users create-admin", getenv, stderr)
	if err != nil {
		return err
	}
	if cfg, err = devSecret(cfg, true); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, cfg.NewLogger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	token, err := a.accounts.BootstrapAdmin(ctx, *email, *force)
	if errors.Is(err, account.ErrConflict) {
		return errors.New("an admin already exists; use --force to create another")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Invitation for %s (admin), valid 72 hours, usable once:\n\n  %s\n\n",
		strings.ToLower(*email), invitationLink(cfg, token))
	return nil
}

// invitationLink is the link that accepts an invitation or a re-enrolment.
// The token is in the fragment, which browsers never send to a server.
func invitationLink(cfg config.Config, token string) string {
	return publicBase(cfg) + "/en/account/accept/#token=" + token
}

// publicBase is the origin of the links the portal hands out.
func publicBase(cfg config.Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	return "http://" + cfg.Addr
}

// emailFlag parses the --email of the commands that act on one member.
func emailFlag(name string, args []string) (string, error) {
	fs := newFlags(name)
	email := fs.String("email", "", "the member's e-mail address")
	if err := parseArgs(fs, args); err != nil {
		return "", err
	}
	if *email == "" {
		return "", usagef(fs, "--email is required")
	}
	addr, err := account.NormalizeEmail(*email)
	if err != nil {
		return "", usagef(fs, "--email: %v", err)
	}
	return addr, nil
}

// member finds the member with e-mail address addr.
func member(ctx context.Context, a *app, actor *account.User, addr string) (account.User, error) {
	users, err := a.accounts.ListUsers(ctx, actor)
	if err != nil {
		return account.User{}, err
	}
	for _, u := range users {
		if u.Email == addr {
			return u, nil
		}
	}
	return account.User{}, fmt.Errorf("no member has the e-mail address %s", addr)
}

// actOnMember runs the command name on the member named by --email.
func actOnMember(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer,
	act func(a *app, cfg config.Config, actor *account.User, u account.User) error) error {
	addr, err := emailFlag(name, args)
	if err != nil {
		return err
	}
	a, cfg, _, err := openState(ctx, name, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	actor := operator()
	u, err := member(ctx, a, actor, addr)
	if err != nil {
		return err
	}
	return act(a, cfg, actor, u)
}

func unlockCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return actOnMember(ctx, "users unlock", args, getenv, stderr, func(a *app, _ config.Config, actor *account.User, u account.User) error {
		if _, err := a.accounts.UnlockUser(ctx, actor, u.ID, account.Client{}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: unlocked (was locked: %t)\n", u.Email, u.Locked)
		return nil
	})
}

// disableCmd runs `users disable` or, with disabled false, `users enable`.
func disableCmd(disabled bool) func(context.Context, []string, func(string) string, io.Writer, io.Writer) error {
	name, state, done := "users enable", "enabled", "enabled"
	if disabled {
		name, state, done = "users disable", "disabled", "disabled; their sessions are ended"
	}
	return func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		return actOnMember(ctx, name, args, getenv, stderr, func(a *app, _ config.Config, actor *account.User, u account.User) error {
			if u.Disabled == disabled {
				fmt.Fprintf(stdout, "%s: already %s\n", u.Email, state)
				return nil
			}
			if _, err := a.accounts.SetDisabled(ctx, actor, u.ID, disabled, account.Client{}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %s\n", u.Email, done)
			return nil
		})
	}
}

func resetMFACmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return actOnMember(ctx, "users reset-mfa", args, getenv, stderr, func(a *app, cfg config.Config, actor *account.User, u account.User) error {
		// The account service queues the link for the member's registered
		// address in the mail outbox (openApp checked the relay before any
		// change); the serving portal delivers it, with its retries.
		res, err := a.accounts.ResetMFA(ctx, actor, u.ID, account.Client{})
		if err != nil {
			return err
		}
		until := res.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		fmt.Fprintf(stdout, "%s: second factor removed, sessions ended.\n", u.Email)
		fmt.Fprintf(stdout, "A re-enrolment link, usable once until %s, is queued for %s; the running portal mails it.\n", until, u.Email)
		if cfg.SMTPURL == "" {
			// Development: without a relay the portal only logs its mail,
			// so the operator is the way the link reaches the member.
			fmt.Fprintf(stdout, "No mail relay is configured (PORTAL_SMTP_URL); pass the link on to the member:\n\n  %s\n\n",
				invitationLink(cfg, res.Token))
		}
		return nil
	})
}
