package main

import (
	"path/filepath"
	"testing"
)

// dev keeps one data directory per set of engines, so that a run on
// PostgreSQL after one on SQLite seeds its own demo and indexes its own
// records (and back).
func TestDevEnginesDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	pg := devEnginesDir("/repo", env("PORTAL_DATABASE_URL", "postgres://a@db/portal"))
	both := devEnginesDir("/repo", env("PORTAL_DATABASE_URL", "postgres://a@db/portal", "PORTAL_BLOB_URL", "s3://b/?endpoint=s3:9000"))
	other := devEnginesDir("/repo", env("PORTAL_DATABASE_URL", "postgres://a@db/other"))
	for _, d := range []string{pg, both, other} {
		if filepath.Dir(d) != "/repo/var" {
			t.Errorf("engines directory %q is not under /repo/var", d)
		}
	}
	if pg == both || pg == other || both == other {
		t.Errorf("different engines share a directory: %q %q %q", pg, both, other)
	}
	if again := devEnginesDir("/repo", env("PORTAL_DATABASE_URL", "postgres://a@db/portal")); again != pg {
		t.Errorf("the same engines got %q, then %q", pg, again)
	}
	if d := devEnginesDir("/repo", env()); d != "" {
		t.Errorf("SQLite and local blobs got %q, want var itself (\"\")", d)
	}
	if d := devEnginesDir("/repo", env("PORTAL_DATABASE_URL", "postgres://a@db/portal", "PORTAL_DATA_DIR", "/srv/dev")); d != "" {
		t.Errorf("with PORTAL_DATA_DIR set got %q, want it kept", d)
	}
}
