package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"portal/account"
	"portal/config"
)

const usersHelp = `Manages members from the command line.

  portal users create-admin --email ADDRESS [--force]
      bootstraps the first admin: prints a single-use invitation link
      (valid 72 hours) to set a password and a second factor. Refuses when
      an enabled admin exists, unless --force.`

func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create-admin" {
		fmt.Fprintln(stderr, usersHelp)
		return errors.New("usage: portal users create-admin --email ADDRESS [--force]")
	}
	fs, err := parseFlags("users create-admin", usersHelp, nil, stderr, config.Usage())
	if err != nil {
		return err
	}
	email := fs.String("email", "", "the admin's email address")
	force := fs.Bool("force", false, "create another admin even if one exists")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	cfg, err := loadWithDevSecret(getenv)
	if err != nil {
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
	base := cfg.PublicURL
	if base == "" {
		base = "http://" + cfg.Addr
	}
	fmt.Fprintf(stdout, "Invitation for %s (admin), valid 72 hours, usable once:\n\n  %s/en/account/accept/#token=%s\n\n",
		strings.ToLower(*email), base, token)
	return nil
}
