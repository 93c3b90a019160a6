package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"portal/audit"
	"portal/blob"
	"portal/config"
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
	migrateStoreHelp = `Moves an installation to the engines of several portals: its records from
the SQLite file to an empty PostgreSQL database (--from, --to), its
originals from the blob directory to an empty bucket (--from-blobs,
--to-blobs), or both at once. Stop the portal first.

Records: verifies the source's audit chain, copies every table in one
transaction, compares the row count and a checksum of each table on both
sides, and verifies the audit chain on the target (same head as the
source). The target's password is best kept out of the command line
(~/.pgpass or PGPASSWORD).

Originals: --from-blobs and --to-blobs take what PORTAL_BLOB_URL takes (a
directory, file:///path, or s3://bucket/prefix?endpoint=host:port&…,
signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Every blob is
streamed across and checked against its name (its SHA-256) on the way and
again read back from the target; the counts must match. With both moves,
every original a record names must be among them. A failed copy removes
what it copied.

Either target must be empty: the command refuses one that holds data.`
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
	from := fs.String("from", "", "the records' source, `sqlite:PATH` to the portal.db file")
	to := fs.String("to", "", "the records' target, an empty PostgreSQL database: `postgres://…`")
	fromBlobs := fs.String("from-blobs", "", "the originals' source, as PORTAL_BLOB_URL names it: a `directory` (by default PORTAL_DATA_DIR/blobs), file:///path or s3://…")
	toBlobs := fs.String("to-blobs", "", "the originals' target, an empty bucket as PORTAL_BLOB_URL names it: `s3://bucket/prefix?endpoint=…` (or a directory)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	records, blobs := *from != "" || *to != "", *fromBlobs != "" || *toBlobs != ""
	if !records && !blobs {
		return usagef(fs, "name what to move: --from and --to, --from-blobs and --to-blobs, or all four")
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if records && (!ok || path == "") {
		return usagef(fs, "--from must be sqlite:PATH")
	}
	if records && !store.IsPostgresURL(*to) {
		return usagef(fs, "--to must be a postgres:// URL")
	}
	if blobs && (*fromBlobs == "" || *toBlobs == "") {
		return usagef(fs, "--from-blobs and --to-blobs go together")
	}
	cfg, err := loadOneOff("migrate-store", getenv, stderr)
	if err != nil {
		return err
	}

	// The bucket is checked before anything is copied (CopyTo refuses a
	// non-empty database before it copies), so that a refusal leaves both
	// targets as they were.
	var src, dst blob.Store
	if blobs {
		if src, err = openBlobSource(ctx, *fromBlobs, cfg); err != nil {
			return err
		}
		defer src.Close()
		if dst, err = blob.OpenURL(ctx, *toBlobs, "", cfg.BlobAccessKey, cfg.BlobSecretKey); err != nil {
			return fmt.Errorf("--to-blobs: %w", err)
		}
		defer dst.Close()
		if err := checkBlobsEmpty(ctx, dst); err != nil {
			return err
		}
	}
	if records && blobs {
		if err := checkNamedBlobs(ctx, path, src); err != nil {
			return err
		}
	}
	if records {
		if err := migrateRecords(ctx, cfg, path, *to, stdout); err != nil {
			return err
		}
	}
	if !blobs {
		fmt.Fprintln(stdout, "the originals were not moved: name them with --from-blobs and --to-blobs")
		return nil
	}
	res, err := blob.Copy(ctx, dst, src, nil)
	if err != nil {
		if records {
			return fmt.Errorf("%w (the records are moved: run again with --from-blobs and --to-blobs only)", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "copied %d originals, %d bytes; each read back from the target matches its SHA-256; set sha256 %s\n", res.Blobs, res.Bytes, res.Checksum)
	return nil
}

// checkNamedBlobs makes sure, before anything is copied, that every
// original the records at path name is in the blob source: Copy then
// brings each to the target.
func checkNamedBlobs(ctx context.Context, path string, src blob.Store) error {
	if err := store.CheckExists(path); err != nil {
		return err
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	named, err := db.ReferencedBlobs(ctx)
	db.Close()
	if err != nil {
		return err
	}
	if err := src.List(ctx, func(i blob.Info) error { delete(named, i.SHA256); return nil }); err != nil {
		return fmt.Errorf("--from-blobs: %w", err)
	}
	if len(named) > 0 {
		missing := slices.Sorted(maps.Keys(named))
		return fmt.Errorf("the records name %d originals that --from-blobs lacks, the first %s; nothing copied", len(missing), missing[0])
	}
	return nil
}

// openBlobSource opens the store to move from; a directory must exist,
// since opening a missing one would create it and move nothing.
func openBlobSource(ctx context.Context, rawURL string, cfg config.Config) (blob.Store, error) {
	dir, err := blobDir(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--from-blobs: %w", err)
	}
	if dir != "" {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("--from-blobs: %s is not a directory", dir)
		}
	}
	s, err := blob.OpenURL(ctx, rawURL, "", cfg.BlobAccessKey, cfg.BlobSecretKey)
	if err != nil {
		return nil, fmt.Errorf("--from-blobs: %w", err)
	}
	return s, nil
}

// checkBlobsEmpty refuses a target store that holds blobs.
func checkBlobsEmpty(ctx context.Context, s blob.Store) error {
	empty, err := blob.Empty(ctx, s)
	if err != nil {
		return fmt.Errorf("--to-blobs: %w", err)
	}
	if !empty {
		return fmt.Errorf("--to-blobs: %w; nothing copied", blob.ErrNotEmpty)
	}
	return nil
}

// migrateRecords copies the SQLite file at path into the PostgreSQL
// database at to.
func migrateRecords(ctx context.Context, cfg config.Config, path, to string, stdout io.Writer) error {
	cfg, err := devSecret(cfg, false)
	if err != nil {
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
	dst, err := store.OpenPostgres(ctx, to)
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
