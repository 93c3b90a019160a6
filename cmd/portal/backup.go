package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"

	"portal/backup"
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
afterwards.`

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
	if cfg.DatabaseURL != "" {
		return fmt.Errorf("%w (PORTAL_DATABASE_URL is set); back up the originals in PORTAL_DATA_DIR apart", store.ErrBackupPostgres)
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
