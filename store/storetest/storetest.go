// Package storetest opens a fresh portal database for a test on the
// engine the run selects: SQLite by default, PostgreSQL when
// PORTAL_TEST_STORE=postgres (make test runs the store-backed packages
// once per engine). The PostgreSQL server is pgtest's, one per test
// binary, and each database is a copy of a template migrated once.
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"portal/portaltest/pgtest"
	"portal/store"
)

// EnvVar selects the engine: "sqlite" (or empty) or "postgres".
const EnvVar = "PORTAL_TEST_STORE"

// Engine is the engine this run tests.
func Engine() store.Engine {
	if os.Getenv(EnvVar) == string(store.Postgres) {
		return store.Postgres
	}
	return store.SQLite
}

// Open opens a fresh, migrated database for t, closed when t ends.
func Open(t testing.TB) *store.DB {
	t.Helper()
	db, err := OpenIn(t.Context(), t.TempDir(), t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenIn opens a fresh database: on SQLite portal.db in dir; on
// PostgreSQL a new database, dropped when t ends (t may be nil for a
// portal shared by a test binary: the server's end drops it).
func OpenIn(ctx context.Context, dir string, t testing.TB) (*store.DB, error) {
	if Engine() == store.SQLite {
		return store.Open(ctx, filepath.Join(dir, "portal.db"))
	}
	url, err := NewPostgresURL(ctx, t)
	if err != nil {
		return nil, err
	}
	return store.OpenPostgres(ctx, url)
}

// NewPostgresURL creates a fresh, migrated PostgreSQL database and returns
// its URL.
func NewPostgresURL(ctx context.Context, t testing.TB) (string, error) {
	srv, err := pgtest.Shared()
	if err != nil {
		return "", err
	}
	err = srv.Template(ctx, "portal_template", func(url string) error {
		db, err := store.OpenPostgres(ctx, url)
		if err != nil {
			return err
		}
		return db.Close()
	})
	if err != nil {
		return "", fmt.Errorf("storetest: migrate template: %w", err)
	}
	if t != nil {
		return srv.Database(t, "portal_template"), nil
	}
	name, err := srv.NewDatabase(ctx, "portal_template")
	if err != nil {
		return "", err
	}
	return srv.URL(name), nil
}

// Main runs a package's tests and stops the PostgreSQL server they
// started, if any: call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	pgtest.StopShared()
	return code
}

// Location returns where a fresh database for t is: a SQLite file path in
// t's temporary directory, or the URL of a new PostgreSQL database. OpenAt
// opens it, again and again, as a restarted portal would.
func Location(t testing.TB) string {
	t.Helper()
	if Engine() == store.SQLite {
		return filepath.Join(t.TempDir(), "portal.db")
	}
	url, err := NewPostgresURL(t.Context(), t)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// OpenAt opens the database at loc, a path or a PostgreSQL URL.
func OpenAt(ctx context.Context, loc string) (*store.DB, error) {
	if store.IsPostgresURL(loc) {
		return store.OpenPostgres(ctx, loc)
	}
	return store.Open(ctx, loc)
}
