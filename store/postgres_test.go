package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"portal/audit"
	"portal/portaltest/pgtest"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM t WHERE a = ? AND b IN (?, ?)`, `SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)`},
		{`SELECT '?', "a?b", ? -- why?
			/* not ? */ FROM t WHERE x = ?`, `SELECT '?', "a?b", $1 -- why?
			/* not ? */ FROM t WHERE x = $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`DO $$ BEGIN PERFORM '?'; END $$; SELECT ?`, `DO $$ BEGIN PERFORM '?'; END $$; SELECT $1`},
		{`SELECT $tag$ ? $tag$, ?`, `SELECT $tag$ ? $tag$, $1`},
		{`SELECT ?, 'unterminated ?`, `SELECT $1, 'unterminated ?`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestMigrationTwins: every SQLite migration has its PostgreSQL twin, same
// number and name, so that a database at version N has the same tables on
// either engine.
func TestMigrationTwins(t *testing.T) {
	lite, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) (out []string) {
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	if !reflect.DeepEqual(names(lite), names(pg)) {
		t.Errorf("migrations/ has %v\nmigrations/postgres/ has %v; want the same files", names(lite), names(pg))
	}
}

// TestPostgresMigrationsRace: instances starting together on an empty
// database apply the migrations once (migrateLock) and all open; a
// database migrated by a newer binary is refused.
func TestPostgresMigrationsRace(t *testing.T) {
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	url := srv.Database(t, "")
	ms, err := migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := OpenPostgres(t.Context(), url)
			if err == nil {
				err = db.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent OpenPostgres: %v", err)
		}
	}
	db, err := OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, last int
	if err := db.reader.QueryRowContext(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &last); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || last != ms[len(ms)-1].version {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, last, len(ms), ms[len(ms)-1].version)
	}
	if _, err := db.writer.ExecContext(t.Context(), `INSERT INTO schema_migrations VALUES (999, '0999_future.sql', '')`); err != nil {
		t.Fatal(err)
	}
	if db2, err := OpenPostgres(t.Context(), url); err == nil {
		db2.Close()
		t.Error("OpenPostgres accepted a database migrated by a newer binary")
	}
}

func TestPostgresRefusesCollation(t *testing.T) {
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("collate_%d", time.Now().UnixNano())
	// ICU's locales are built in, whatever libc locales the machine has.
	if err := srv.Exec(t.Context(), "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	if db, err := OpenPostgres(t.Context(), srv.URL(name)); err == nil || !strings.Contains(err.Error(), "LC_COLLATE") {
		if db != nil {
			db.Close()
		}
		t.Errorf("OpenPostgres on an ICU en-US collation: %v, want a refusal naming LC_COLLATE", err)
	}
}

// TestPostgresRuntimeRole: the owner migrates and grants; the runtime role
// runs the portal (reads, writes, appends to the audit log) but cannot
// rewrite or remove the audit log, nor change the schema, and the triggers
// refuse the owner's UPDATE, DELETE and TRUNCATE too.
func TestPostgresRuntimeRole(t *testing.T) {
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	suffix := fmt.Sprint(time.Now().UnixNano())
	owner, runtime := "owner_"+suffix, "runtime_"+suffix
	for _, q := range []string{"CREATE ROLE " + owner + " LOGIN", "CREATE ROLE " + runtime + " LOGIN"} {
		if err := srv.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { // after the database's drop
		_ = srv.Exec(context.Background(), "DROP ROLE "+runtime)
		_ = srv.Exec(context.Background(), "DROP ROLE "+owner)
	})
	name := srv.DatabaseName(t, "")
	if err := srv.Exec(ctx, "ALTER DATABASE "+name+" OWNER TO "+owner); err != nil {
		t.Fatal(err)
	}

	// Before the owner migrates, the runtime role cannot.
	if db, err := OpenPostgres(ctx, srv.RoleURL(name, runtime)); err == nil || !strings.Contains(err.Error(), "portal db migrate") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("runtime role on an unmigrated database: %v, want a refusal that says to run portal db migrate", err)
	}
	ownerDB, err := OpenPostgres(ctx, srv.RoleURL(name, owner))
	if err != nil {
		t.Fatal(err)
	}
	defer ownerDB.Close()
	if err := ownerDB.GrantRuntime(ctx, runtime); err != nil {
		t.Fatal(err)
	}
	db, err := OpenPostgres(ctx, srv.RoleURL(name, runtime))
	if err != nil {
		t.Fatalf("runtime role after migrate and grant: %v", err)
	}
	defer db.Close()
	if err := insertUser(ctx, db, "rt"); err != nil {
		t.Fatalf("runtime role inserts a user: %v", err)
	}
	log := audit.New(db, nil)
	for range 3 {
		if err := log.Record(ctx, audit.Entry{Action: "test.role", Outcome: audit.OutcomeSuccess}); err != nil {
			t.Fatalf("runtime role appends to the audit log: %v", err)
		}
	}
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM sessions`); err != nil {
		t.Errorf("runtime role deletes sessions: %v", err)
	}
	for _, q := range []string{
		`UPDATE audit_log SET detail = 'x'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`DROP TABLE audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete`,
		`DROP TRIGGER audit_log_no_delete ON audit_log`,
		`CREATE TABLE x (y BIGINT)`,
		`INSERT INTO schema_migrations VALUES (999, 'x', '')`,
	} {
		_, err := db.writer.ExecContext(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("runtime role: %s: %v, want insufficient_privilege (42501)", q, err)
		}
	}
	for _, q := range []string{`UPDATE audit_log SET detail = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		_, err := ownerDB.writer.ExecContext(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23001" {
			t.Errorf("owner: %s: %v, want the trigger's restrict_violation (23001)", q, err)
		}
	}
	if res, err := log.Verify(ctx); err != nil || !res.OK() || res.LastID != 3 {
		t.Errorf("Verify = %+v, %v; want 3 intact entries", res, err)
	}
}

// TestPostgresOneChainAcrossInstances: two DBs on one database (two
// portals) append at once; the write lock gives the audit log one chain.
func TestPostgresOneChainAcrossInstances(t *testing.T) {
	url := postgresTestURL(t)
	var logs []*audit.Log
	for range 2 {
		db, err := OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		logs = append(logs, audit.New(db, nil))
	}
	const each = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*4*each)
	for i := range 8 {
		wg.Go(func() {
			for range each / 4 {
				if err := logs[i%2].Record(t.Context(), audit.Entry{Action: "test.chain", Outcome: audit.OutcomeSuccess}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Record: %v", err)
	}
	res, err := logs[0].Verify(t.Context())
	if err != nil || !res.OK() || res.LastID != 2*each {
		t.Errorf("Verify = %+v, %v; want %d entries in one intact chain", res, err, 2*each)
	}
}

// TestAuditSameHashesOnBothEngines: the same entries at the same times
// make the same chain on SQLite and PostgreSQL, so audit verify and a head
// anchored on one engine hold on the other.
func TestAuditSameHashesOnBothEngines(t *testing.T) {
	var chains [][]audit.Entry
	forEachStore(t, func(t *testing.T, db *DB) {
		at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
		log := audit.New(db, func() time.Time { at = at.Add(time.Second + 7); return at }).WithKey([]byte("test key"))
		for i := range 5 {
			if err := log.Record(t.Context(), audit.Entry{Action: "test.same", Outcome: audit.OutcomeSuccess,
				Actor: "u", Target: fmt.Sprint(i), Detail: "détail ✓"}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := log.Verify(t.Context())
		if err != nil || !res.OK() {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
		entries, _, err := log.List(t.Context(), audit.Filter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, entries)
	})
	if len(chains) == 2 && !reflect.DeepEqual(chains[0], chains[1]) {
		t.Errorf("SQLite's chain\n%+v\ndiffers from PostgreSQL's\n%+v", chains[0], chains[1])
	}
}
