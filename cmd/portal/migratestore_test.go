package main

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/portaltest/pgtest"
	"portal/store"
	"portal/training"
)

// TestMigrateStore moves an installation from SQLite to PostgreSQL: every
// table's rows arrive (counts and checksums), audit verify prints the same
// head on both engines, the target keeps working (its identity sequences
// moved past the copied ids), and a second copy into it is refused.
func TestMigrateStore(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("ab", 32)
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": secret}
	if out, err := runCmd(t, env, "users", "create-admin", "--email", "admin@example.org"); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "portal.db")
	key, _ := hex.DecodeString(secret)
	fill := func(db *store.DB, n int) {
		t.Helper()
		ctx := t.Context()
		log := audit.New(db, nil).WithKey(audit.ChainKey(key))
		now := time.Now()
		for i := range n {
			id := fmt.Sprintf("user%d-%d", n, i)
			err := db.Update(ctx, func(tx account.Tx) error {
				if err := tx.InsertUser(ctx, &account.UserRecord{User: account.User{ID: id, Email: id + "@example.org",
					DisplayName: "Synthetic " + id, Role: account.RoleMember, Groups: []string{"members"}, CreatedAt: now, UpdatedAt: now},
					PasswordHash: "x", TOTPSecret: []byte{0, 1, 2, byte(i)}}); err != nil {
					return err
				}
				return tx.InsertSession(ctx, &account.Session{ID: "s" + id, UserID: id, Stage: account.StageFull,
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.1", UserAgent: "test ?"})
			})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Progress().Update(ctx, func(tx training.Tx) error {
				return tx.InsertAttempt(ctx, &training.Attempt{UserID: id, Module: "m", Lang: "en", Score: 80, Passed: true, At: now,
					Results: []training.QuestionResult{{ID: "q1", Correct: true}, {ID: "q2", Correct: false}}})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := log.Record(ctx, audit.Entry{Actor: id, Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess, Detail: "é ✓"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	src, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	fill(src, 30)
	src.Close()

	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	url := srv.Database(t, "")
	out, err := runCmd(t, env, "migrate-store", "--from", "sqlite:"+path, "--to", url)
	if err != nil || !strings.Contains(out, "counts and checksums match") || !strings.Contains(out, "audit chain verified") {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	for _, table := range []string{"users", "sessions", "audit_log", "training_quiz_attempts", "training_quiz_answers"} {
		if !strings.Contains(out, table) {
			t.Errorf("the report names no %s:\n%s", table, out)
		}
	}

	// audit verify says the same on both engines.
	lite, err := runCmd(t, env, "audit", "verify")
	if err != nil {
		t.Fatalf("audit verify on SQLite: %v\n%s", err, lite)
	}
	pgEnv := map[string]string{"PORTAL_DATA_DIR": t.TempDir(), "PORTAL_SECRET_KEY": secret, "PORTAL_DATABASE_URL": url}
	pg, err := runCmd(t, pgEnv, "audit", "verify")
	if err != nil || pg != lite || !strings.Contains(pg, "intact") {
		t.Errorf("audit verify on PostgreSQL: %v\n%s\nwant what SQLite says:\n%s", err, pg, lite)
	}

	// The target goes on: new rows get new ids, the chain grows.
	dst, err := store.OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	fill(dst, 3)
	res, err := audit.New(dst, nil).WithKey(audit.ChainKey(key)).Verify(t.Context())
	if err != nil || !res.OK() {
		t.Errorf("Verify on the target after new entries = %+v, %v", res, err)
	}
	dst.Close()

	out, err = runCmd(t, env, "migrate-store", "--from", "sqlite:"+path, "--to", url)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("migrate-store into a non-empty target: %v\n%s; want a refusal", err, out)
	}
}
