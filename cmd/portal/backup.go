package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"

	"portal/backup"
	"portal/blob"
	"portal/config"
	"portal/store"
)

const backupHelp = `Takes a consistent backup while the portal serves: a snapshot of the
database, every stored original it names (hard-linked when DIR is on the
same file system as PORTAL_DATA_DIR, copied otherwise), the members' build
of the site (PORTAL_MEMBERS_SITE_DIR), and manifest.json with each file's
size and SHA-256 and the audit chain's head, signed with a key derived from
PORTAL_SECRET_KEY. The secret key itself is never written to DIR: keep it
apart, a restore needs it. DIR must be new or empty and on a local file
system (the database copy is opened there); copy it off the machine
afterwards.

It backs up SQLite and the local directory of originals only, and refuses
the engines of several instances rather than leave anything out: with
PORTAL_DATABASE_URL set, back PostgreSQL up with pg_dump or the server's
base backups and WAL archiving; with PORTAL_BLOB_URL naming a bucket, keep
its originals with the bucket's versioning and replication (or copy them
with portal migrate-store --from-blobs s3://… --to-blobs DIR).`

const restoreHelp = `Restores a backup into a new data directory. Checks the manifest's
signature (with PORTAL_SECRET_KEY, which must be the key of the portal that
made the backup) and every file's size and SHA-256, refuses a non-empty
target, restores, and verifies the restored audit log against the head the
backup recorded. On any failure the target is left empty. Meilisearch is not
part of a backup: run "portal reindex" against the restored directory before
serving searches.`

func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("backup")
	to := fs.String("to", "", "the new or empty directory to write the backup into")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usagef(fs, "--to is required")
	}
	cfg, err := loadOneOff("backup", getenv, stderr)
	if err != nil {
		return err
	}
	if err := backupCovers(cfg); err != nil {
		return err
	}
	// A mistyped data directory must not yield an empty backup.
	if err := store.CheckExists(dbPath(cfg)); err != nil {
		return fmt.Errorf("%w: is PORTAL_DATA_DIR right?", err)
	}
	if cfg, err = devSecret(cfg, false); err != nil {
		return err
	}
	if len(cfg.SecretKey) == 0 {
		return errors.New("PORTAL_SECRET_KEY is required: the manifest is signed with a key derived from it")
	}
	db, err := store.Open(ctx, dbPath(cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := backup.Create(ctx, db, *to, backup.Options{
		DataDir:        cfg.DataDir,
		MembersSiteDir: cfg.MembersSiteDir,
		SecretKey:      cfg.SecretKey,
		Version:        portalVersion(),
		Progress:       byteProgress(stdout, "backup"),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d files, audit head at entry %d\n", *to, len(m.Files), m.Audit.LastID)
	fmt.Fprintln(stdout, "PORTAL_SECRET_KEY is not in it: a restore needs that key, kept apart from the backup.")
	return nil
}

// backupCovers refuses the engines a backup would only partly cover: it
// copies the SQLite file and the originals it names from
// PORTAL_DATA_DIR/blobs, and half an installation is no backup.
func backupCovers(cfg config.Config) error {
	var problems []string
	if cfg.DatabaseURL != "" {
		problems = append(problems, "the records are in PostgreSQL (PORTAL_DATABASE_URL): back them up with pg_dump, or the server's base backups and WAL archiving")
	}
	switch dir, err := blobDir(cfg.BlobURL); {
	case strings.HasPrefix(cfg.BlobURL, "s3://"):
		problems = append(problems, "the originals are in a bucket (PORTAL_BLOB_URL): keep them with the bucket's versioning and replication, or copy them with `portal migrate-store --from-blobs "+blob.Redact(cfg.BlobURL)+" --to-blobs DIR`")
	case err != nil:
		return err
	case dir != "" && !sameDir(dir, filepath.Join(cfg.DataDir, "blobs")):
		problems = append(problems, "the originals are in "+dir+" (PORTAL_BLOB_URL), not in PORTAL_DATA_DIR/blobs where portal backup reads them: back that directory up apart, or leave PORTAL_BLOB_URL empty")
	}
	if len(problems) > 0 {
		return fmt.Errorf("portal backup copies SQLite and PORTAL_DATA_DIR/blobs only, and refuses to write a partial backup:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func sameDir(a, b string) bool {
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && a == b
}

// blobDir returns the directory a PORTAL_BLOB_URL names ("" for the
// default or a bucket).
func blobDir(rawURL string) (string, error) {
	if rawURL == "" || strings.HasPrefix(rawURL, "s3://") {
		return "", nil
	}
	if !strings.HasPrefix(rawURL, "file://") {
		return rawURL, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("PORTAL_BLOB_URL: %w", err)
	}
	return u.Path, nil
}

func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("restore")
	from := fs.String("from", "", "the backup directory (with manifest.json)")
	dataDir := fs.String("data-dir", "", "the new or empty data directory to restore into")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *from == "" || *dataDir == "" {
		return usagef(fs, "--from and --data-dir are required")
	}
	cfg, err := loadOneOff("restore", getenv, stderr)
	if err != nil {
		return err
	}
	if len(cfg.SecretKey) == 0 {
		return errors.New("PORTAL_SECRET_KEY is required: it checks the manifest and the audit log; use the key of the portal that made the backup")
	}
	m, err := backup.Restore(ctx, *from, *dataDir, backup.RestoreOptions{
		SecretKey: cfg.SecretKey,
		Progress:  byteProgress(stdout, "restore"),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d files into %s; audit log verified up to entry %d, as the backup recorded\n",
		len(m.Files), *dataDir, m.Audit.LastID)
	fmt.Fprintf(stdout, "next: serve with PORTAL_DATA_DIR=%s", *dataDir)
	if m.MembersSite {
		fmt.Fprintf(stdout, " and PORTAL_MEMBERS_SITE_DIR=%s", filepath.Join(*dataDir, backup.MembersDir))
	}
	fmt.Fprintln(stdout, ", the same PORTAL_SECRET_KEY, and run \"portal reindex\" first: search indexes are not part of a backup.")
	return nil
}

// byteProgress draws a bar that redraws itself on a terminal, and writes a
// plain line at each tenth otherwise (logs, pipes).
func byteProgress(w io.Writer, what string) backup.Progress {
	if !isTerminal(w) {
		last := -1
		return func(done, total int64) {
			if total == 0 {
				return
			}
			if tenth := int(done * 10 / total); tenth != last {
				last = tenth
				fmt.Fprintf(w, "%s: %d%% (%s of %s)\n", what, tenth*10, mib(done), mib(total))
			}
		}
	}
	return func(done, total int64) {
		if total == 0 {
			return
		}
		const width = 30
		n := int(done * width / total)
		fmt.Fprintf(w, "\r%s [%s%s] %s of %s", what, strings.Repeat("#", n), strings.Repeat(".", width-n), mib(done), mib(total))
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// portalVersion names the build for the manifest: the module version and,
// when built from a checkout, the VCS revision.
func portalVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}
