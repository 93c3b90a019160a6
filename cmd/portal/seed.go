package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"portal/account"
	"portal/config"
)

// demoUser is one account of the demo data, as written for newcomers and
// tests to log in with. The data is synthetic.
type demoUser struct {
	Email       string       `json:"email"`
	DisplayName string       `json:"displayName"`
	Password    string       `json:"password"`
	Role        account.Role `json:"role"`
	Groups      []string     `json:"groups"`
	TOTPSecret  string       `json:"totpSecret"`
}

func demoUsers() []demoUser {
	return []demoUser{
		{Email: "admin@demo.invalid", DisplayName: "Demo Admin (synthetic)", Role: account.RoleAdmin, Groups: []string{"members"}},
		{Email: "trainer@demo.invalid", DisplayName: "Demo Trainer (synthetic)", Role: account.RoleTrainer, Groups: []string{"members", "trainers"}},
		{Email: "analyst@demo.invalid", DisplayName: "Demo Analyst (synthetic)", Role: account.RoleMember, Groups: []string{"members", "victim-identification"}},
		{Email: "officer@demo.invalid", DisplayName: "Demo Officer (synthetic)", Role: account.RoleMember, Groups: []string{"members", "access-blocking"}},
	}
}

const seedHelp = `Creates the demo accounts (development only) and writes their credentials,
TOTP secrets included, to PORTAL_DATA_DIR/demo-credentials.json (mode 0600)
and standard output; then loads a synthetic research library.`

func seedCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("seed demo")
	count := fs.Int("research", demoResearchCount, "how many synthetic research records to load")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *count < 0 {
		return usagef(fs, "--research must not be negative")
	}
	cfg, err := loadOneOff("seed demo", getenv, stderr)
	if err != nil {
		return err
	}
	if !cfg.Dev() {
		return errors.New("portal seed demo runs only with PORTAL_ENV=development")
	}
	if cfg, err = devSecret(cfg, true); err != nil {
		return err
	}
	log := cfg.NewLogger(stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := openMeiliForApp(ctx, cfg, a, log); err != nil {
		return err
	}
	return seedDemo(ctx, cfg, a, *count, stdout, stderr)
}

// seedDemo refuses outside development: demo accounts with published
// passwords must never exist in production.
func seedDemo(ctx context.Context, cfg config.Config, a *app, researchCount int, stdout, progress io.Writer) error {
	if !cfg.Dev() {
		return errors.New("portal seed demo runs only with PORTAL_ENV=development")
	}
	users := demoUsers()
	var admin account.User
	for i := range users {
		u := &users[i]
		u.Password = demoPassword()
		created, secret, err := a.accounts.SeedUser(ctx, u.Email, u.DisplayName, u.Role, u.Groups, u.Password)
		if errors.Is(err, account.ErrConflict) {
			return fmt.Errorf("demo user %s exists already; its credentials are in %s", u.Email, demoFile(cfg))
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", u.Email, err)
		}
		u.TOTPSecret = secret
		if u.Role == account.RoleAdmin {
			admin = created
		}
	}
	if a.research != nil {
		if err := seedResearch(ctx, a.research, &admin, researchCount, progress); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(map[string]any{
		"note":  "Synthetic demo accounts for development only. Log in at /en/account/login/ with the password and a TOTP code from the secret.",
		"users": users,
	}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.WriteFile(demoFile(cfg), b, 0o600); err != nil {
		return fmt.Errorf("write demo credentials: %w", err)
	}
	_, err = stdout.Write(b)
	return err
}

func demoFile(cfg config.Config) string { return filepath.Join(cfg.DataDir, "demo-credentials.json") }

// demoPassword is a random passphrase-like password: long, and far from any
// dictionary, so the password policy accepts it.
func demoPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	out := make([]byte, 0, 29)
	for i, x := range b {
		if i > 0 && i%6 == 0 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(x)%len(alphabet)])
	}
	return string(out)
}
