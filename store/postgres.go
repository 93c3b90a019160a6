package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL is the store's second dialect, for several portals on one
// database. The store's SQL is written once, with ? placeholders and
// standard SQL; what differs between the engines lives here and in
// engine's methods: the placeholders (rebind), the migrations
// (migrations/postgres/), the transactions (update, view), the error codes
// (mapErr) and the backup (pg_dump's job, not VACUUM INTO).

// Engine names the database engine behind a DB.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Engine returns the engine behind db.
func (db *DB) Engine() Engine { return db.engine }

// writeLock is the key of the transaction-level advisory lock every write
// transaction on PostgreSQL takes first (rebindConn.BeginTx: every
// transaction that is not read-only, whichever store code begins it). SQLite's single writer makes each
// write transaction see the previous one's result before it reads; on
// PostgreSQL, several portals (and several connections of one portal)
// write at once, and the read-modify-write code of the account, research
// and training stores (counters, compare-and-set of index states, the
// last-admin check) means what it says only if writers still take turns.
// The lock gives them turns across every instance, and so also gives the
// audit chain its one order: AppendAudit reads the last entry and appends
// the next under it, so two instances can never both append "previous +
// 1". Reads do not take it.
const writeLock int64 = 0x706f7274616c01 // "portal" + 1

// migrateLock is the advisory lock migrations run under, so that two
// instances starting together apply them once.
const migrateLock int64 = 0x706f7274616c02

// update runs fn in a write transaction: on SQLite the single writer's
// BEGIN IMMEDIATE, on PostgreSQL a transaction that first takes writeLock.
func (db *DB) update(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, db.writer, nil, fn)
}

// view runs fn in a read-only transaction on the read pool: a snapshot,
// on PostgreSQL as in SQLite's WAL (rebindConn.BeginTx).
func (db *DB) view(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, db.reader, &sql.TxOptions{ReadOnly: true}, fn)
}

// ExecRaw runs one statement on the writer pool, outside the stores'
// transactions and the write lock: for tests that reach under the
// domain code (a trigger that refuses, a row changed behind its back).
func (db *DB) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := db.writer.ExecContext(ctx, query, args...)
	return err
}

// IsPostgresURL reports whether s names a PostgreSQL database
// (postgres:// or postgresql://).
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// OpenPostgres connects to the PostgreSQL database at url and applies any
// pending migrations (which needs a role that may create tables in the
// schema: the owner; see GrantRuntime for the role the portal runs as).
// The database must sort text by bytes (collation C), as SQLite does: the
// store's keyset pages and orderings depend on it.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL URL: %w", err)
	}
	open := func(conns int) *sql.DB {
		d := sql.OpenDB(&rebinder{Connector: stdlib.GetConnector(*cfg), cache: map[string]string{}})
		d.SetMaxOpenConns(conns)
		d.SetMaxIdleConns(conns)
		d.SetConnMaxIdleTime(5 * time.Minute)
		return d
	}
	// Two pools as on SQLite: writers queue for writeLock on their own
	// few connections and never hold up the readers'.
	writer, reader := open(4), open(max(4, 2*runtime.NumCPU()))
	db := &DB{writer: writer, reader: reader, engine: Postgres}
	fail := func(err error) (*DB, error) {
		writer.Close()
		reader.Close()
		return nil, err
	}
	if err := writer.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("store: connect to PostgreSQL %s/%s: %w", cfg.Host, cfg.Database, err))
	}
	// datlocprovider is PostgreSQL 15's: 'c' is libc, whose C locale
	// compares bytes; an ICU database sorts by its ICU locale.
	var collate, provider string
	if err := writer.QueryRowContext(ctx, `SELECT datcollate, CAST(datlocprovider AS TEXT) FROM pg_database WHERE datname = current_database()`).Scan(&collate, &provider); err != nil {
		return fail(fmt.Errorf("store: read collation (PostgreSQL 15 or newer): %w", err))
	}
	if provider != "c" {
		collate = "ICU"
	}
	if collate != "C" && collate != "POSIX" && collate != "C.UTF-8" && collate != "C.utf8" {
		return fail(fmt.Errorf("store: database %s sorts text by %s; create it with LC_COLLATE 'C' (CREATE DATABASE ... TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'), so that it orders as the portal expects", cfg.Database, collate))
	}
	if err := migratePostgres(ctx, writer); err != nil {
		return fail(err)
	}
	// No statements are prepared here: pgx prepares and caches every
	// statement per connection on first use, which is what prepared.go
	// does by hand for SQLite.
	return db, nil
}

// migratePostgres applies pending migrations in one transaction under
// migrateLock: a second instance starting at the same time waits, then
// finds them applied. DDL is transactional in PostgreSQL, so a failed
// migration leaves nothing behind.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	ms, err := migrations(Postgres)
	if err != nil {
		return err
	}
	err = inTx(ctx, db, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrateLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		// Checked before CREATE TABLE IF NOT EXISTS, which the runtime
		// role may not run even when the table exists.
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_migrations (
				version    BIGINT PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_at TEXT NOT NULL
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w (migrations are applied by the schema's owner: portal db migrate)", err)
			}
		}
		applied, err := readApplied(ctx, tx)
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
			// Without arguments, pgx sends the file as one simple query,
			// several statements at once.
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w (migrations are applied by the schema's owner: portal db migrate)", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, fmtTime(time.Now())); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// GrantRuntime gives role what the portal needs at run time and nothing
// more: it reads and writes the tables, but it only reads and appends to
// the audit log, and it may not change the schema. The owner (who ran the
// migrations) keeps DROP and ALTER, which PostgreSQL never grants to
// others; TRUNCATE, UPDATE and DELETE on audit_log are not granted, and the
// table's triggers refuse them even to the owner. Run by `portal db
// migrate --grant ROLE` as the owner, after every upgrade (new tables).
func (db *DB) GrantRuntime(ctx context.Context, role string) error {
	if db.engine != Postgres {
		return errors.New("store: roles are PostgreSQL's; SQLite has none")
	}
	r := pgx.Identifier{role}.Sanitize()
	var schema string
	if err := db.writer.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("store: grant: %w", err)
	}
	s := pgx.Identifier{schema}.Sanitize()
	return db.update(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`GRANT USAGE ON SCHEMA ` + s + ` TO ` + r,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + s + ` TO ` + r,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + s + ` TO ` + r,
			`REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM ` + r,
			`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM ` + r,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("store: grant: %s: %w", q, err)
			}
		}
		return nil
	})
}

// PostgreSQL error codes the store maps to domain errors (isUnique;
// https://www.postgresql.org/docs/15/errcodes-appendix.html).
const (
	pgUniqueViolation = "23505"
)

// rebind rewrites the ? placeholders of query as PostgreSQL's $1, $2, …,
// leaving alone question marks in string literals, quoted identifiers,
// dollar-quoted bodies and comments.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
			continue
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
			continue
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+4])
			i += j + 3
			continue
		case c == '$':
			// $tag$ … $tag$ (tag may be empty); $1 is not a quote.
			if k := strings.IndexByte(query[i+1:], '$'); k >= 0 && isTag(query[i+1:i+1+k]) {
				tag := query[i : i+k+2]
				if j := strings.Index(query[i+len(tag):], tag); j >= 0 {
					end := i + len(tag) + j + len(tag)
					b.WriteString(query[i:end])
					i = end - 1
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isTag(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// rebinder is pgx's connector with the store's dialect applied on the
// way in: every query's placeholders are rebound, and booleans become the
// 0/1 integers the schema stores them as (as the SQLite driver does).
// Every query text reaches the driver (the store prepares only its hot
// paths by hand, pgx the rest by its statement cache), so the rebinding is
// done here, once per text: the pool's texts are few (the store's
// constants, a few built filters), and the cache stops growing at
// maxRebound, after which texts are rebound at each use.
type rebinder struct {
	driver.Connector
	mu    sync.Mutex
	cache map[string]string
}

const maxRebound = 2000

func (r *rebinder) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := r.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return rebindConn{c.(*stdlib.Conn), r}, nil
}

func (r *rebinder) rebind(query string) string {
	r.mu.Lock()
	q, ok := r.cache[query]
	r.mu.Unlock()
	if ok {
		return q
	}
	q = rebind(query)
	r.mu.Lock()
	if len(r.cache) < maxRebound {
		r.cache[query] = q
	}
	r.mu.Unlock()
	return q
}

// rebindConn is a pgx connection; the methods below are the ways a query
// reaches it, and everything else (transactions, pings, resets) is pgx's.
type rebindConn struct {
	*stdlib.Conn
	r *rebinder
}

func (c rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(c.r.rebind(query))
}

func (c rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.r.rebind(query))
}

// BeginTx is where the two engines' transactions are made to mean the
// same. A transaction that may write takes writeLock before anything else,
// as SQLite's writer takes its lock at BEGIN IMMEDIATE. A read-only one is
// REPEATABLE READ unless asked otherwise, so that its statements see one
// snapshot as in SQLite's WAL (a count and the page it counts agree).
func (c rebindConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly && sql.IsolationLevel(opts.Isolation) == sql.LevelDefault {
		opts.Isolation = driver.IsolationLevel(sql.LevelRepeatableRead)
	}
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil || opts.ReadOnly {
		return tx, err
	}
	if _, err := c.Conn.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, []driver.NamedValue{{Ordinal: 1, Value: writeLock}}); err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("store: write lock: %w", err)
	}
	return tx, nil
}

// ExecContext and QueryContext leave a query without arguments as it is:
// it has no placeholders, and pgx sends it as a simple query, several
// statements at once (the migrations).
func (c rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 {
		return c.Conn.ExecContext(ctx, query, args)
	}
	return c.Conn.ExecContext(ctx, c.r.rebind(query), args)
}

func (c rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.Conn.QueryContext(ctx, query, args)
	}
	return c.Conn.QueryContext(ctx, c.r.rebind(query), args)
}

// CheckNamedValue turns booleans into 0/1; database/sql passes every
// argument through it, prepared or not.
func (c rebindConn) CheckNamedValue(v *driver.NamedValue) error {
	if b, ok := v.Value.(bool); ok {
		v.Value = boolInt(b)
	}
	return nil
}
