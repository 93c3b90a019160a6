package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/store"
	"portal/training"
)

// TestTrainingRemindCommand: a member's completion of a module valid for
// 12 months; `portal training remind --now` queues nothing before the last
// 30 days, one mail in them, and nothing the second time.
func TestTrainingRemindCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	siteDir := filepath.Join(dir, "site")
	if err := os.MkdirAll(filepath.Join(siteDir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	cat, _ := json.Marshal(map[string]any{"lang": "en", "modules": []any{map[string]any{
		"id": "renewable", "lang": "en", "title": "Renewable", "url": "/en/training/renewable/", "restricted": false,
		"access": []string{}, "tlp": "", "passMark": 50, "validityMonths": 12, "version": "1",
		"lessons": []any{map[string]any{"id": "01-a", "url": "/en/training/renewable/01-a/", "weight": 1, "title": "A"}},
		"quiz":    []any{map[string]any{"id": "q1", "type": "single", "prompt": "P", "options": []string{"a", "b"}, "answers": []string{"a"}}},
	}}})
	if err := os.WriteFile(filepath.Join(siteDir, "en", training.CatalogueFile), cat, 0o644); err != nil {
		t.Fatal(err)
	}
	secretHex := strings.Repeat("ab", 32)
	secret, _ := hex.DecodeString(secretHex)
	issued := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return issued }

	db, err := store.Open(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(db, clock).WithKey(audit.ChainKey(secret))
	accounts, err := account.New(db, log, account.Options{SecretKey: secret, Now: clock,
		Argon2: account.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := accounts.SeedUser(ctx, "learner@test.invalid", "Learner", account.RoleMember, []string{"members"}, "velvet quarry lantern harbour")
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := training.OpenCatalogue(siteDir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := training.New(db.Progress(), catalogue, log, training.Options{SecretKey: secret, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.MarkLesson(ctx, &u, "renewable", "01-a", "en", true, training.Client{}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.SubmitQuiz(ctx, &u, "renewable", map[string][]string{"q1": {"a"}}, "en", training.Client{})
	if err != nil || res.Progress.Completion == nil {
		t.Fatalf("completion: %+v %v", res, err)
	}
	accounts.Wait()
	db.Close()

	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": secretHex, "PORTAL_SITE_DIR": siteDir,
		"PORTAL_CONTENT_DIR": filepath.Join(dir, "content")}
	remind := func(day string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"training", "remind", "--now", day}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
			t.Fatalf("training remind --now %s: %v\n%s", day, err, errOut.String())
		}
		return out.String()
	}
	if out := remind("2026-12-01"); !strings.HasPrefix(out, "0 renewal") {
		t.Errorf("40 days before the end: %q", out)
	}
	if out := remind("2026-12-15"); !strings.HasPrefix(out, "1 renewal") {
		t.Errorf("26 days before the end: %q", out)
	}
	if out := remind("2026-12-16"); !strings.HasPrefix(out, "0 renewal") {
		t.Errorf("the day after: %q", out)
	}
}
