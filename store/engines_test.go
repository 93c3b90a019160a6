package store

import (
	"context"
	"os"
	"testing"

	"portal/portaltest/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// forEachStore runs fn as two subtests, on a fresh SQLite database and on
// a fresh PostgreSQL database: the store's SQL is one text for both
// engines, and each test shows it means the same on each.
func forEachStore(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		db, _ := openTest(t)
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openPostgresTest(t))
	})
}

// postgresTestURL returns the URL of a fresh, migrated PostgreSQL database
// for t, copied from a template migrated once per test binary.
func postgresTestURL(t *testing.T) string {
	t.Helper()
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Template(t.Context(), "store_template", func(url string) error {
		db, err := OpenPostgres(context.Background(), url)
		if err != nil {
			return err
		}
		return db.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Database(t, "store_template")
}

func openPostgresTest(t *testing.T) *DB {
	t.Helper()
	db, err := OpenPostgres(t.Context(), postgresTestURL(t))
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
