package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"portal/config"
)

// `portal attestation run` is the same pass as serve's: against a real
// SQLite file, a member whose period lapsed after both reminders is
// suspended once, and mailed; a second run does nothing.
func TestAttestationRunCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": strings.Repeat("cd", 32),
		"PORTAL_PUBLIC_URL": "https://portal.example", "PORTAL_ATTESTATION_PERIOD": "720h"}
	ctx := context.Background()
	cfg, err := config.LoadFor("attestation run", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AttestationPeriod != 720*time.Hour || cfg.MailFrom == "" {
		t.Fatalf("config: period %v, mail from %q", cfg.AttestationPeriod, cfg.MailFrom)
	}
	a, err := openApp(ctx, cfg, cfg.NewLogger(t.Output()))
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := a.accounts.SeedUser(ctx, "member@example.org", "Synthetic Test Account", "member", nil, "quiet-harbour-lantern-9127")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := a.db.Attestations().AttestationRecord(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Joined 40 days ago, reminded 8 days ago: lapsed.
	rec.Since, rec.Reminded, rec.RemindedAt = time.Now().Add(-40*24*time.Hour), 2, time.Now().Add(-8*24*time.Hour)
	if err := a.db.Attestations().SaveAttestation(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	a.Close()

	for i, want := range []string{"reminded 0, suspended 1", "reminded 0, suspended 0"} {
		out, err := runCmd(t, env, "attestation", "run")
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("run %d: %v %q, want %q", i+1, err, out, want)
		}
	}
	if _, err := config.LoadFor("attestation run", func(k string) string {
		if k == "PORTAL_ATTESTATION_PERIOD" {
			return "24h"
		}
		return env[k]
	}); err == nil {
		t.Error("a period shorter than 30 days was accepted")
	}
	a, err = openApp(ctx, cfg, cfg.NewLogger(t.Output()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec, err = a.db.Attestations().AttestationRecord(ctx, u.ID)
	if err != nil || rec.SuspendedAt.IsZero() {
		t.Errorf("after the run: %+v %v, want suspended", rec, err)
	}
}
