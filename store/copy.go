package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Moving an installation from SQLite to PostgreSQL (portal migrate-store):
// every table is copied in one PostgreSQL transaction, then counted and
// checksummed on both sides. The audit chain is verified by the caller,
// which holds the chain key.

// Table is one copied table's report.
type Table struct {
	Name     string
	Rows     int64
	Checksum string // hex SHA-256 over the rows in primary-key order
}

// ErrTargetNotEmpty is Copy's refusal of a target that holds data.
var ErrTargetNotEmpty = errors.New("store: the target database is not empty")

// CountRows returns the number of rows in table.
func (db *DB) CountRows(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", table, err)
	}
	return n, nil
}

// tableInfo is a table's columns and primary key, read from SQLite's
// schema (the source of a copy; PostgreSQL's twin has the same columns).
type tableInfo struct {
	name    string
	columns []string
	key     []string
	parents []string // tables its foreign keys reference
}

// copyTables lists the SQLite database's tables, except schema_migrations
// (each side has its own), parents before children.
func (db *DB) copyTables(ctx context.Context) ([]tableInfo, error) {
	if db.engine != SQLite {
		return nil, errors.New("store: the source of a copy is a SQLite database")
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	byName := map[string]*tableInfo{}
	for _, n := range names {
		ti := &tableInfo{name: n}
		cols, err := db.reader.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return nil, fmt.Errorf("store: columns of %s: %w", n, err)
		}
		keys := map[int]string{}
		for cols.Next() {
			var c string
			var pk int
			if err := cols.Scan(&c, &pk); err != nil {
				cols.Close()
				return nil, err
			}
			ti.columns = append(ti.columns, c)
			if pk > 0 {
				keys[pk] = c
			}
		}
		cols.Close()
		for i := 1; i <= len(keys); i++ {
			ti.key = append(ti.key, keys[i])
		}
		if len(ti.key) == 0 {
			ti.key = ti.columns
		}
		fks, err := db.reader.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, fmt.Errorf("store: foreign keys of %s: %w", n, err)
		}
		for fks.Next() {
			var p string
			if err := fks.Scan(&p); err != nil {
				fks.Close()
				return nil, err
			}
			if p != n {
				ti.parents = append(ti.parents, p)
			}
		}
		fks.Close()
		byName[n] = ti
	}
	// Parents first, so that foreign keys hold at every insert.
	var out []tableInfo
	done := map[string]bool{}
	var visit func(n string, depth int) error
	visit = func(n string, depth int) error {
		if done[n] {
			return nil
		}
		if depth > len(names) {
			return fmt.Errorf("store: foreign keys loop through %s", n)
		}
		ti := byName[n]
		if ti == nil {
			return fmt.Errorf("store: a foreign key names the missing table %s", n)
		}
		for _, p := range ti.parents {
			if err := visit(p, depth+1); err != nil {
				return err
			}
		}
		done[n] = true
		out = append(out, *ti)
		return nil
	}
	for _, n := range names {
		if err := visit(n, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CopyTo copies every table of db (SQLite) into target (PostgreSQL, at the
// same migration), in one transaction on target, which must hold nothing
// but what its migrations seeded; it
// then counts and checksums each table on both sides and returns the
// report, or an error naming the first table that differs.
func (db *DB) CopyTo(ctx context.Context, target *DB) ([]Table, error) {
	if target.engine != Postgres {
		return nil, errors.New("store: the target of a copy is a PostgreSQL database")
	}
	tables, err := db.copyTables(ctx)
	if err != nil {
		return nil, err
	}
	src, err := readApplied(ctx, db.reader)
	if err != nil {
		return nil, err
	}
	dst, err := readApplied(ctx, target.reader)
	if err != nil {
		return nil, err
	}
	if len(src) != len(dst) {
		return nil, fmt.Errorf("store: the source has %d migrations and the target %d; open both with this binary first", len(src), len(dst))
	}
	// Empty is what the migrations alone leave: no rows, or the rows they
	// seed (the portal's own groups), which the source's then replace.
	fresh, err := freshChecksums(ctx, tables)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		got, err := target.checksum(ctx, t)
		if err != nil {
			return nil, err
		}
		if got != fresh[t.name] {
			return nil, fmt.Errorf("%w: %s has %d rows, a new database %d", ErrTargetNotEmpty, t.name, got.Rows, fresh[t.name].Rows)
		}
	}
	err = target.update(ctx, func(tx *sql.Tx) error {
		for i := len(tables) - 1; i >= 0; i-- { // children first
			if t := tables[i]; fresh[t.name].Rows > 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+pgx.Identifier{t.name}.Sanitize()); err != nil {
					return fmt.Errorf("clear the seeded rows of %s: %w", t.name, err)
				}
			}
		}
		for _, t := range tables {
			if err := copyTable(ctx, db, tx, t); err != nil {
				return err
			}
		}
		// Identity columns were given their values: move their sequences
		// past them, or the next insert would reuse an id.
		rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND is_identity = 'YES'`)
		if err != nil {
			return err
		}
		var idents [][2]string
		for rows.Next() {
			var tn, cn string
			if err := rows.Scan(&tn, &cn); err != nil {
				rows.Close()
				return err
			}
			idents = append(idents, [2]string{tn, cn})
		}
		rows.Close()
		for _, ic := range idents {
			t, c := pgx.Identifier{ic[0]}.Sanitize(), pgx.Identifier{ic[1]}.Sanitize()
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), max(`+c+`)) FROM `+t+` HAVING max(`+c+`) IS NOT NULL`,
				t, ic[1]); err != nil {
				return fmt.Errorf("sequence of %s.%s: %w", ic[0], ic[1], err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	var out []Table
	for _, t := range tables {
		a, err := db.checksum(ctx, t)
		if err != nil {
			return nil, err
		}
		b, err := target.checksum(ctx, t)
		if err != nil {
			return nil, err
		}
		if a != b {
			return out, fmt.Errorf("store: %s differs after the copy: %d rows (%s) in the source, %d (%s) in the target",
				t.name, a.Rows, a.Checksum, b.Rows, b.Checksum)
		}
		out = append(out, a)
	}
	return out, nil
}

// freshChecksums returns what a freshly migrated database holds in each
// table, from a new SQLite database in a temporary directory (the twin
// migrations seed the same rows).
func freshChecksums(ctx context.Context, tables []tableInfo) (map[string]Table, error) {
	dir, err := os.MkdirTemp("", "portal-fresh-")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := Open(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := make(map[string]Table, len(tables))
	for _, t := range tables {
		if out[t.name], err = db.checksum(ctx, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// copyTable inserts t's rows from src into tx, several rows a statement.
func copyTable(ctx context.Context, src *DB, tx *sql.Tx, t tableInfo) error {
	cols := quoteList(t.columns)
	rows, err := src.reader.QueryContext(ctx, `SELECT `+cols+` FROM `+pgx.Identifier{t.name}.Sanitize())
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	// PostgreSQL takes at most 65535 parameters a statement.
	perStmt := max(1, min(500, 60000/len(t.columns)))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.columns)), ", ") + ")"
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n := len(batch) / len(t.columns)
		q := `INSERT INTO ` + pgx.Identifier{t.name}.Sanitize() + ` (` + cols + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
		if _, err := tx.ExecContext(ctx, q, batch...); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
		batch = batch[:0]
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(t.columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", t.name, err)
		}
		batch = append(batch, vals...)
		if len(batch) >= perStmt*len(t.columns) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	return flush()
}

// checksum counts t's rows and hashes them in primary-key order, each
// value tagged with its kind (integer, text, bytes, null), so that the
// same rows give the same sum on either engine (both sort text by bytes).
func (db *DB) checksum(ctx context.Context, t tableInfo) (Table, error) {
	out := Table{Name: t.name}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+quoteList(t.columns)+` FROM `+pgx.Identifier{t.name}.Sanitize()+
		` ORDER BY `+quoteList(t.key))
	if err != nil {
		return out, fmt.Errorf("store: checksum %s: %w", t.name, err)
	}
	defer rows.Close()
	h := sha256.New()
	vals := make([]any, len(t.columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return out, fmt.Errorf("store: checksum %s: %w", t.name, err)
		}
		for _, v := range vals {
			if err := hashValue(h, v); err != nil {
				return out, fmt.Errorf("store: checksum %s: %w", t.name, err)
			}
		}
		out.Rows++
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: checksum %s: %w", t.name, err)
	}
	out.Checksum = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

func hashValue(h io.Writer, v any) error {
	var tag byte
	var b []byte
	switch v := v.(type) {
	case nil:
		tag = 'n'
	case int64:
		tag, b = 'i', strconv.AppendInt(nil, v, 10)
	case string:
		tag, b = 's', []byte(v)
	case []byte:
		tag, b = 'b', v
	default:
		return fmt.Errorf("unexpected value of type %T", v)
	}
	h.Write([]byte{tag})
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	h.Write(b)
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// Tables returns the names of the portal's tables (not schema_migrations),
// for reports and tests.
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`
	if db.engine == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
			AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`
	}
	rows, err := db.reader.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: list tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, rows.Err()
}
