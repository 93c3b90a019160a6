package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A database from before migrations 0017 and 0018, with members, an
// invitation and records in groups of their own, keeps working: every
// group they name becomes a record (named by its ID until an admin names
// it), the portal's own groups get their names in four languages,
// "public" is no group, and every member gets an attestation that runs
// from joining, sponsored by whoever invited them while that is known.
func TestGroupsAndAttestationsMigrateExistingData(t *testing.T) {
	for _, engine := range []Engine{SQLite, Postgres} {
		t.Run(string(engine), func(t *testing.T) { groupsAndAttestationsMigrateExistingData(t, engine) })
	}
}

func groupsAndAttestationsMigrateExistingData(t *testing.T, engine Engine) {
	ctx := context.Background()
	ms, err := migrations(engine)
	if err != nil {
		t.Fatal(err)
	}
	var (
		raw    *sql.DB
		reopen func() (*DB, error)
	)
	if engine == SQLite {
		path := filepath.Join(t.TempDir(), "portal.db")
		if raw, err = sql.Open("sqlite", dsn(path, connWriter)); err != nil {
			t.Fatal(err)
		}
		reopen = func() (*DB, error) { return Open(ctx, path) }
	} else {
		url := emptyPostgresURL(t)
		raw = rawPostgres(t, url)
		reopen = func() (*DB, error) { return OpenPostgres(ctx, url) }
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if engine == SQLite {
		exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`)
	} else {
		exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	}
	// By name, not number: the numbers change when branches merge.
	before := slices.IndexFunc(ms, func(m migration) bool { return strings.HasSuffix(m.name, "_groups.sql") })
	for _, m := range ms[:before] {
		exec(m.sql)
		exec(`INSERT INTO schema_migrations VALUES (?, ?, ?)`, m.version, m.name, fmtTime(time.Now()))
	}
	joined := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	user := func(id, email string, groups string) {
		exec(`INSERT INTO users (id, email, display_name, role, access_groups, password_hash, created_at, updated_at)
			VALUES (?, ?, 'Synthetic', 'member', ?, '', ?, ?)`, id, email, groups, fmtTime(joined), fmtTime(joined))
	}
	user("admin", "admin@example.org", `["members"]`)
	user("old", "old@example.org", `["members","legacy-desk"]`)
	user("new", "new@example.org", `["members","victim-identification"]`)
	exec(`INSERT INTO invitations (token_hash, email, role, access_groups, created_by, created_at, expires_at, used_at)
		VALUES ('h', 'new@example.org', 'member', '["invited-only"]', 'admin', ?, ?, ?)`, fmtTime(joined), fmtTime(joined), fmtTime(joined))
	exec(`INSERT INTO research_documents (id, title, authors, organisation, abstract, year, language, type, topics, countries,
		regions, access_groups, tlp, uploader_id, created_at, updated_at, current_version, revision, index_state)
		VALUES (?, 'Synthetic', '[]', '', '', 2020, 'en', 'study', '[]', '[]', '[]', '["record-only","members"]', 'TLP:GREEN',
		'old', ?, ?, 1, 1, 'indexed')`, "0123456789abcdef0123456789abcdef", fmtTime(joined), fmtTime(joined))
	raw.Close()

	db, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gs, err := db.Groups().ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.ID)
		switch g.ID {
		case "legacy-desk", "invited-only", "record-only":
			if g.Names["ar"] != g.ID || g.Archived {
				t.Errorf("group found in data: %+v", g)
			}
		case "members":
			if g.Names["es"] != "Todos los miembros" {
				t.Errorf("members group: %+v", g)
			}
		}
	}
	want := []string{"access-blocking", "invited-only", "legacy-desk", "members", "record-only", "trainers", "victim-identification"}
	if !slices.Equal(ids, want) {
		t.Errorf("groups after migration: %v, want %v", ids, want)
	}
	for id, sponsor := range map[string]string{"admin": "", "old": "", "new": "admin"} {
		r, err := db.Attestations().AttestationRecord(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.SponsorID != sponsor || !r.Since.Equal(joined) || r.Reminded != 0 || !r.SuspendedAt.IsZero() {
			t.Errorf("attestation of %s: %+v, want sponsor %q since %v", id, r, sponsor, joined)
		}
	}
}
