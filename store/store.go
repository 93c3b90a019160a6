// Package store is the portal's database, SQLite (embedded, the default)
// or PostgreSQL (several portals on one database, postgres.go): connection
// setup, schema migrations, backups, and the SQL behind the account,
// audit, research and progress packages' Store interfaces. The database is
// the source of truth for members, sessions, the audit log, the research
// records and training progress; nothing else in the portal writes SQL.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"portal/account"
	"portal/audit"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// timeFormat is how times are stored: fixed-width UTC text that sorts as a
// string and round-trips nanoseconds (the audit hash depends on that).
const timeFormat = audit.TimeFormat

// DB is the portal database. Writes go through a single connection in
// BEGIN IMMEDIATE transactions, so writers queue instead of failing with
// SQLITE_BUSY; reads use a pool of read-only connections that WAL lets run
// beside the writer.
type DB struct {
	writer *sql.DB
	reader *sql.DB
	path   string
	engine Engine
	// The hot paths' statements, prepared on each pool (prepared.go).
	writerStmts *prepared
	readerStmts *prepared
}

var (
	_ account.Store = (*DB)(nil)
	_ audit.Store   = (*DB)(nil)
)

// pragmas run on every new connection (SQLite forgets them per
// connection). busy_timeout comes first so that the others wait for locks
// instead of failing; the driver applies busy_timeout first whatever the
// order here. synchronous=FULL makes a commit durable across power loss in
// WAL mode (SECURITY.md RE-1).
var pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"foreign_keys(ON)",
	"synchronous(FULL)",
}

// connKind selects the DSN of a pool.
type connKind int

const (
	connWriter connKind = iota
	connReader
	connBackup // reads, but VACUUM INTO must be allowed
)

func dsn(path string, kind connKind) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	switch kind {
	case connWriter:
		q.Set("_txlock", "immediate")
	case connReader:
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

// ErrNoDatabase is returned by CheckExists when there is no database.
var ErrNoDatabase = errors.New("store: no database")

// CheckExists returns ErrNoDatabase, naming path, unless path is a
// non-empty file. Open creates a database where there is none; a command
// that reads the portal's state checks first, or, pointed at a mistyped
// directory, it would report on an empty database as if it were the real
// one. An empty file is what a first Open leaves when it stops before its
// migrations; it holds no state either.
func CheckExists(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && info.Mode().IsRegular() && info.Size() == 0) {
		return fmt.Errorf("%w at %s", ErrNoDatabase, path)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("store: %s is not a database file", path)
	}
	return nil
}

// Open opens (creating if needed) the database at path and applies any
// pending migrations. The file is created with mode 0600. It refuses a
// path on a network filesystem, where WAL does not work.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: invalid database path %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := checkLocalFS(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	// SQLite creates the file with the umask's mode and gives the -wal and
	// -shm files the same mode; create it private first.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database: %w", err)
	}
	f.Close()

	writer, err := sql.Open("sqlite", dsn(abs, connWriter))
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}

	reader, err := sql.Open("sqlite", dsn(abs, connReader))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open reader: %w", err)
	}
	n := max(4, runtime.NumCPU())
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	if err := reader.PingContext(ctx); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("store: open reader %s: %w", abs, err)
	}
	db := &DB{writer: writer, reader: reader, path: abs, engine: SQLite}
	if db.writerStmts, err = prepare(ctx, writer, writerQueries()); err == nil {
		db.readerStmts, err = prepare(ctx, reader, readerQueries())
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.readerStmts.close(), db.writerStmts.close(), db.reader.Close(), db.writer.Close())
}

// Path returns the database file's absolute path ("" on PostgreSQL).
func (db *DB) Path() string { return db.path }

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the engine's embedded migrations in order. The list
// is append-only: an applied migration is never edited or renumbered.
// PostgreSQL's are the twins of SQLite's, same numbers and names, in
// migrations/postgres/.
func migrations(e Engine) ([]migration, error) {
	dir := "migrations"
	if e == Postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %q: name must start with a number and _", e.Name())
		}
		b, err := migrationFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: read migration: %w", err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	// Numbers rise and never repeat. A gap is allowed: work done in
	// parallel reserves its numbers before it lands.
	for i, m := range out {
		if i > 0 && m.version == out[i-1].version {
			return nil, fmt.Errorf("store: migrations %s and %s share a number", out[i-1].name, m.name)
		}
	}
	return out, nil
}

// migrate applies pending migrations, each in its own transaction together
// with its row in schema_migrations, and refuses a database that a newer
// binary has migrated or whose history differs from ours.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations(SQLite)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	applied, err := readApplied(ctx, db)
	if err != nil {
		return err
	}
	if err := checkApplied(applied, ms); err != nil {
		return err
	}
	for _, m := range ms {
		if _, ok := applied[m.version]; ok {
			continue
		}
		err := inTx(ctx, db, nil, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, fmtTime(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readApplied reads schema_migrations: version to file name.
func readApplied(ctx context.Context, db querier) (map[int]string, error) {
	applied := map[int]string{}
	rows, err := db.QueryContext(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		applied[v] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	return applied, nil
}

// checkApplied refuses a database that a newer binary has migrated or
// whose history differs from ours.
func checkApplied(applied map[int]string, ms []migration) error {
	byVersion := make(map[int]string, len(ms))
	for _, m := range ms {
		byVersion[m.version] = m.name
	}
	for v, name := range applied {
		here, ok := byVersion[v]
		if !ok {
			return fmt.Errorf("store: database has migration %d (%s), unknown to this binary", v, name)
		}
		if here != name {
			return fmt.Errorf("store: migration %d is %s in the database but %s here", v, name, here)
		}
	}
	return nil
}

// inTx runs fn in a transaction on db and commits if fn returns nil.
func inTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ErrBackupPostgres is Backup's answer on PostgreSQL, whose own tools
// (pg_dump, base backups with WAL archiving) back it up consistently and
// online; the portal does not reimplement them.
var ErrBackupPostgres = errors.New("store: portal backup copies the SQLite database; back up PostgreSQL with pg_dump or the server's own backups")

// Backup writes a consistent copy of the database to dest with VACUUM
// INTO. dest must not exist; it is created with mode 0600 and synced.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if db.engine == Postgres {
		return ErrBackupPostgres
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	// VACUUM INTO fills the empty file we made, keeping its mode. It needs
	// only a read snapshot, so it runs on its own connection rather than the
	// writer's and does not hold up writes; the read pool is query_only,
	// which SQLite applies to VACUUM INTO too.
	conn, err := sql.Open("sqlite", dsn(db.path, connBackup))
	if err != nil {
		os.Remove(dest)
		return fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("store: backup: %w", err)
	}
	f, err = os.OpenFile(dest, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: backup: sync: %w", err)
	}
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	return t, nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// mapErr turns driver errors into the domain's sentinel errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return account.ErrNotFound
	}
	if isUnique(err) {
		return conflict(err)
	}
	return err
}

// isUnique reports whether err is a unique or primary-key violation, on
// either engine.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}

func conflict(err error) error { return fmt.Errorf("%w: %v", account.ErrConflict, err) }

// Ping reads the database through the read pool: the readiness probe's
// check that the file is there and readable.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Stats returns the statistics of the writer and reader pools, for the
// metrics.
func (db *DB) Stats() (writer, reader sql.DBStats) {
	return db.writer.Stats(), db.reader.Stats()
}
