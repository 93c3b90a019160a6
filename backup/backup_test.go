package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portal/audit"
	"portal/store"
)

// newPortalDB makes a database with a keyed audit log of n entries and a
// members' build of two files.
func newPortalDB(t *testing.T, secret []byte, n int) (*store.DB, string, string) {
	t.Helper()
	dataDir := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(dataDir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := audit.New(db, nil).WithKey(audit.ChainKey(secret))
	for i := range n {
		if err := log.Record(t.Context(), audit.Entry{Actor: audit.ActorSystem, Action: "test.entry", Target: string(rune('a' + i)), Outcome: audit.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	members := t.TempDir()
	os.MkdirAll(filepath.Join(members, "en"), 0o700)
	os.WriteFile(filepath.Join(members, "members-manifest.json"), []byte(`{"synthetic":true}`), 0o600)
	os.WriteFile(filepath.Join(members, "en", "index.html"), []byte("<p>Synthetic members page.</p>"), 0o600)
	return db, dataDir, members
}

func TestRoundTripAndTheAuditHead(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	db, dataDir, members := newPortalDB(t, secret, 3)
	dest := filepath.Join(t.TempDir(), "b")
	var last, total int64
	m, err := Create(t.Context(), db, dest, Options{DataDir: dataDir, MembersSiteDir: members, SecretKey: secret,
		Progress: func(done, tot int64) { last, total = done, tot }})
	if err != nil {
		t.Fatal(err)
	}
	if m.Audit.LastID != 3 || len(m.Files) != 3 || !m.MembersSite {
		t.Errorf("manifest: %+v", m)
	}
	if last != total || total == 0 {
		t.Errorf("progress ended at %d of %d", last, total)
	}
	if _, err := Create(t.Context(), db, dest, Options{DataDir: dataDir, SecretKey: secret}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second backup into the same directory: %v", err)
	}
	if _, err := Create(t.Context(), db, t.TempDir(), Options{DataDir: dataDir}); err == nil {
		t.Error("a backup without the secret key succeeded")
	}

	restored := filepath.Join(t.TempDir(), "r")
	if _, err := Restore(t.Context(), dest, restored, RestoreOptions{SecretKey: secret}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(restored, MembersDir, "en", "index.html")); string(b) != "<p>Synthetic members page.</p>" {
		t.Errorf("restored members page: %q", b)
	}
	dbPath := filepath.Join(restored, dbName)
	if err := checkAudit(t.Context(), dbPath, m.Audit, secret); err != nil {
		t.Errorf("the recorded head: %v", err)
	}
	// A log that verifies but stops short of the recorded head has lost
	// its newest entries; one that ends elsewhere is another log.
	for _, head := range []Head{{LastID: 5, MAC: m.Audit.MAC}, {LastID: 3, MAC: strings.Repeat("0", 64)}} {
		if err := checkAudit(t.Context(), dbPath, head, secret); err == nil || !strings.Contains(err.Error(), "the backup recorded") {
			t.Errorf("head %+v: %v, want a refusal", head, err)
		}
	}
	if err := checkAudit(context.Background(), dbPath, m.Audit, []byte(strings.Repeat("x", 32))); err == nil {
		t.Error("the audit chain verified with another key")
	}
}

func TestManifestPaths(t *testing.T) {
	for p, want := range map[string]bool{
		"portal.db":                  true,
		"blobs/ab/ab" + hex62:        true,
		"members-site/en/index.html": true,
		"members-site":               false,
		"../portal.db":               false,
		"blobs/cd/ab" + hex62:        false,
		"blobs/ab/ab" + hex62 + "/x": false,
		"/etc/passwd":                false,
		"members-site/../../x":       false,
		"secret.key":                 false,
		"members-site/en\\..\\..\\x": false,
	} {
		if got := validPath(p); got != want {
			t.Errorf("validPath(%q) = %v, want %v", p, got, want)
		}
	}
}

const hex62 = "00000000000000000000000000000000000000000000000000000000000000"

// TestFailedBackupLeavesNothing: a backup that cannot finish removes what
// it wrote, so that no half backup sits where a whole one is expected.
func TestFailedBackupLeavesNothing(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	db, dataDir, members := newPortalDB(t, secret, 1)
	// A site build holds no links; one here makes the copy refuse.
	if err := os.Symlink("/etc/hostname", filepath.Join(members, "en", "link.html")); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if _, err := Create(t.Context(), db, dest, Options{DataDir: dataDir, MembersSiteDir: members, SecretKey: secret}); err == nil ||
		!strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("backup of a members build with a link: %v", err)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("the failed backup left %d entries in %s", len(entries), dest)
	}
}
