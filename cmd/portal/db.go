package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"portal/audit"
	"portal/store"
)

const (
	dbMigrateHelp = `Applies the pending PostgreSQL migrations to the database PORTAL_DATABASE_URL
names, in one transaction under an advisory lock, and with --grant gives the
portal's runtime role what it needs and nothing more: it reads and writes the
records, but only reads and appends to the audit log, and may neither drop
nor alter a table. Run it with the URL of the role that owns the schema, on
every upgrade (before the new binaries serve); run serve with the runtime
role's URL. (portal serve applies pending migrations itself only when its
role may: with one role for both, as in development.)`
	migrateStoreHelp = `Moves an installation's records from its SQLite file to an empty PostgreSQL
database: verifies the source's audit chain, copies every table in one
transaction, compares the row count and a checksum of each table on both
sides, and verifies the audit chain on the target (same head as the source).
Refuses a target that holds data. Stop the portal first. The target's
password is best kept out of the command line (~/.pgpass or PGPASSWORD).
Copy the originals (PORTAL_DATA_DIR/blobs) apart.`
)

func dbMigrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("db migrate")
	grant := fs.String("grant", "", "the portal's runtime `ROLE`, granted what it needs after the migrations")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	cfg, err := loadOneOff("db migrate", getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("PORTAL_DATABASE_URL is not set: SQLite applies its migrations when the portal opens it")
	}
	db, err := store.OpenPostgres(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	if *grant != "" {
		if err := db.GrantRuntime(ctx, *grant); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "granted %s the portal's run-time rights\n", *grant)
	}
	return nil
}

func migrateStoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-store")
	from := fs.String("from", "", "the source, `sqlite:PATH` to the portal.db file")
	to := fs.String("to", "", "the target, an empty PostgreSQL database: `postgres://…`")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || path == "" {
		return usagef(fs, "--from must be sqlite:PATH")
	}
	if !store.IsPostgresURL(*to) {
		return usagef(fs, "--to must be a postgres:// URL")
	}
	cfg, err := loadOneOff("migrate-store", getenv, stderr)
	if err != nil {
		return err
	}
	if cfg, err = devSecret(cfg, false); err != nil {
		return err
	}
	if len(cfg.SecretKey) == 0 {
		return errors.New("PORTAL_SECRET_KEY is required: the audit chain is verified with a key derived from it")
	}
	if err := store.CheckExists(path); err != nil {
		return err
	}
	src, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer src.Close()
	key := audit.ChainKey(cfg.SecretKey)
	before, err := audit.New(src, nil).WithKey(key).Verify(ctx)
	if err != nil {
		return err
	}
	if !before.OK() {
		return fmt.Errorf("the source's audit chain does not verify (first bad entry %d: %s); nothing copied", before.FirstBad, before.Reason)
	}
	dst, err := store.OpenPostgres(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	tables, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	for _, t := range tables {
		fmt.Fprintf(stdout, "%-24s %8d rows  sha256 %s\n", t.Name, t.Rows, t.Checksum)
	}
	after, err := audit.New(dst, nil).WithKey(key).Verify(ctx)
	if err != nil {
		return err
	}
	if !after.OK() || after.Last() != before.Last() {
		return fmt.Errorf("the target's audit chain does not verify as the source's: %+v, want head %s", after, before.Last())
	}
	fmt.Fprintf(stdout, "copied %d tables; counts and checksums match; audit chain verified on the target, head %s\n", len(tables), after.Last())
	return nil
}
