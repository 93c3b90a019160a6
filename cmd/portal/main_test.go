package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portal/blob"
	"portal/portaltest"
	"portal/portaltest/pgtest"
	"portal/search"
	"portal/search/meilitest"
	"portal/store"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String() + errOut.String(), err
}

// The one-off commands run on either engine: SQLite under PORTAL_DATA_DIR,
// or PostgreSQL when PORTAL_DATABASE_URL is set.
func TestCommandsAgainstARealDatabase(t *testing.T) {
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		t.Run(string(engine), func(t *testing.T) { commandsAgainstARealDatabase(t, engine) })
	}
}

func commandsAgainstARealDatabase(t *testing.T, engine store.Engine) {
	dir := t.TempDir()
	m := meilitest.Start(t)
	dev := map[string]string{"PORTAL_ENV": "development", "PORTAL_DATA_DIR": dir, "PORTAL_SITE_DIR": filepath.Join(dir, "no-site"),
		"MEILI_URL": m.URL, "MEILI_MASTER_KEY": m.MasterKey}
	var dbURL string
	if engine == store.Postgres {
		srv, err := pgtest.Shared()
		if err != nil {
			t.Fatal(err)
		}
		dbURL = srv.Database(t, "")
		dev["PORTAL_DATABASE_URL"] = dbURL
		// The engines of several instances together, as
		// `PORTAL_DATABASE_URL=… PORTAL_BLOB_URL=… make run` seeds them.
		weed, err := portaltest.Weed.Get()
		if err != nil {
			t.Fatalf("SeaweedFS: %v", err)
		}
		bucket, err := weed.MakeBucket(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		dev["PORTAL_BLOB_URL"], dev["AWS_ACCESS_KEY_ID"], dev["AWS_SECRET_ACCESS_KEY"] = weed.URL(bucket), weed.AccessKey, weed.SecretKey
	}

	out, err := runCmd(t, dev, "users", "create-admin", "--email", "First.Admin@Example.org")
	if err != nil || !strings.Contains(out, "/en/account/accept/#token=") || !strings.Contains(out, "first.admin@example.org") {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}

	prod := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": strings.Repeat("ab", 32), "PORTAL_DATABASE_URL": dbURL}
	if _, err := runCmd(t, prod, "seed", "demo"); err == nil || !strings.Contains(err.Error(), "development") {
		t.Errorf("seed demo in production: %v, want a refusal", err)
	}
	const records = 24
	out, err = runCmd(t, dev, "seed", "demo", "--research", fmt.Sprint(records))
	if err != nil {
		t.Fatalf("seed demo: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "demo-credentials.json")
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("demo credentials: %v %v", info, err)
	}
	var creds struct {
		Users []struct{ Email, Password, TOTPSecret, Role string }
	}
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &creds); err != nil || len(creds.Users) != 4 {
		t.Fatalf("credentials file: %v %s", err, b)
	}
	for _, u := range creds.Users {
		if u.Password == "" || u.TOTPSecret == "" {
			t.Errorf("demo user %s lacks a password or TOTP secret", u.Email)
		}
	}
	if engine == store.Postgres {
		// Every original the seeded records name is in the bucket.
		db, err := store.OpenPostgres(t.Context(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		named, err := db.ReferencedBlobs(t.Context())
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		b, err := blob.OpenURL(t.Context(), dev["PORTAL_BLOB_URL"], "", dev["AWS_ACCESS_KEY_ID"], dev["AWS_SECRET_ACCESS_KEY"])
		if err != nil {
			t.Fatal(err)
		}
		inBucket := map[string]int64{}
		if err := b.List(t.Context(), func(i blob.Info) error { inBucket[i.SHA256] = i.Size; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(named) == 0 || !maps.Equal(named, inBucket) {
			t.Errorf("the seeded records name %d originals, the bucket holds %d: %v, %v", len(named), len(inBucket), named, inBucket)
		}
		if entries, _ := os.ReadDir(filepath.Join(dir, "blobs")); len(entries) > 0 {
			t.Errorf("seed demo with a bucket wrote originals to the data directory too: %v", entries)
		}
	}
	if _, err := runCmd(t, dev, "seed", "demo", "--research", "1"); err == nil {
		t.Error("second seed demo succeeded; it must not overwrite existing accounts")
	}

	// The demo library is searchable; reindexing rebuilds an index equal to
	// the store, even after the index was lost.
	if _, err := search.NewClient(m.URL, m.MasterKey).DeleteIndex(t.Context(), search.IndexResearch); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, dev, "reindex")
	if err != nil || !strings.Contains(out, fmt.Sprintf("research: %d documents indexed; index equals the store", records)) {
		t.Errorf("reindex: %v\n%s", err, out)
	}

	out, err = runCmd(t, dev, "audit", "verify")
	if err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}

func TestServeValidatesConfiguration(t *testing.T) {
	_, err := runCmd(t, map[string]string{}, "serve")
	if err == nil || !strings.Contains(err.Error(), "MEILI_URL is required") || !strings.Contains(err.Error(), "PORTAL_SECRET_KEY") {
		t.Errorf("serve without configuration: %v", err)
	}
	out, err := runCmd(t, nil, "serve", "--help")
	if !strings.Contains(out, "MEILI_SEARCH_KEY") || !strings.Contains(out, "PORTAL_TRUSTED_PROXIES") {
		t.Errorf("serve --help does not list the environment (err %v):\n%s", err, out)
	}
}
