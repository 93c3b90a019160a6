package store

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

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

// emptyPostgresURL returns the URL of a new, empty PostgreSQL database
// for t (sorted by bytes, as OpenPostgres wants).
func emptyPostgresURL(t *testing.T) string {
	t.Helper()
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	return srv.Database(t, "")
}

// rawPostgres is a connection pool on url that takes the store's ?
// placeholders but none of its migrations, locks or checks: for tests that
// build a database by hand.
func rawPostgres(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(&rebinder{Connector: stdlib.GetConnector(*cfg), cache: map[string]string{}})
	t.Cleanup(func() { db.Close() })
	return db
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
