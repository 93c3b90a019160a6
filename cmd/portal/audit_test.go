package main

import (
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"portal/audit"
	"portal/store"
)

// Deleting the newest audit entries leaves a chain that still links up, so
// `audit verify` alone calls it intact; against the head `audit anchor`
// printed before, `audit verify --expect-head` fails with status 1. A log
// that merely grew past the head passes.
func TestAuditVerifyCatchesTruncationAgainstTheHead(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("cd", 32)
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": secret}
	if out, err := runCmd(t, env, "users", "create-admin", "--email", "admin@example.org"); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	record := func(n int) {
		t.Helper()
		db, err := store.Open(t.Context(), filepath.Join(dir, "portal.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		key, _ := hex.DecodeString(secret)
		log := audit.New(db, nil).WithKey(audit.ChainKey(key))
		for range n {
			if err := log.Record(t.Context(), audit.Entry{Actor: "u", Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}); err != nil {
				t.Fatal(err)
			}
		}
	}
	record(5)

	stdout, stderr, code, err := runSplit(t, t.Context(), env, "audit", "anchor")
	head, perr := audit.ParseHead(stdout)
	if err != nil || code != 0 || perr != nil || head.ID < 6 {
		t.Fatalf("audit anchor: exit %d, %v, %q %s; want a head of at least 6 entries", code, err, stdout, stderr)
	}
	stdout, _, code, err = runSplit(t, t.Context(), env, "audit", "verify")
	if err != nil || code != 0 || !strings.Contains(stdout, "intact") || !strings.Contains(stdout, "head "+head.String()+"\n") {
		t.Fatalf("audit verify: exit %d, %v\n%s; want intact and the head %s", code, err, stdout, head)
	}
	record(2)
	stdout, _, code, err = runSplit(t, t.Context(), env, "audit", "verify", "--expect-head", head.String())
	if err != nil || code != 0 || !strings.Contains(stdout, "intact") {
		t.Fatalf("audit verify --expect-head on a log grown past it: exit %d, %v\n%s", code, err, stdout)
	}

	// An attacker with the file deletes the newest entries, the head's
	// among them.
	db, err := sql.Open("sqlite", filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id >= ?`} {
		if _, err := db.ExecContext(t.Context(), q, head.ID-1); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	stdout, _, code, err = runSplit(t, t.Context(), env, "audit", "verify")
	if err != nil || code != 0 || !strings.Contains(stdout, "intact") {
		t.Fatalf("audit verify without a head after truncation: exit %d, %v\n%s; the chain alone cannot tell", code, err, stdout)
	}
	stdout, stderr, code, err = runSplit(t, t.Context(), env, "audit", "verify", "--expect-head", head.String())
	if err == nil || code != 1 || strings.Contains(stdout, "intact") || !strings.Contains(stderr, "before the expected head") {
		t.Errorf("audit verify --expect-head after truncation: exit %d, %v\n%s%s; want exit 1 naming the missing head", code, err, stdout, stderr)
	}

	// A head that is not a head is a mistake in the command line.
	if _, stderr, code, _ := runSplit(t, t.Context(), env, "audit", "verify", "--expect-head", "12"); code != 2 || !strings.Contains(stderr, "ID:MAC") {
		t.Errorf("audit verify --expect-head 12: exit %d\n%s; want 2 with the usage", code, stderr)
	}
}
