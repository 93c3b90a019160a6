package backup

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"portal/audit"
	"portal/store"
)

// ErrTampered reports a backup whose manifest or files are not what Create
// wrote (or a manifest signed with another secret key).
var ErrTampered = errors.New("backup does not verify")

// RestoreOptions configure Restore.
type RestoreOptions struct {
	SecretKey []byte
	Progress  Progress
}

// ReadManifest reads a backup's manifest and checks its MAC and format. It
// does not read the files.
func ReadManifest(dir string, secret []byte) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, fmt.Errorf("%s has no %s: not a backup, or an unfinished one", dir, ManifestName)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: manifest: %v", ErrTampered, err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("backup format %q; this portal reads %q", m.Format, Format)
	}
	want, err := m.sign(secret)
	if err != nil {
		return Manifest{}, err
	}
	if !hmacEqual(m.MAC, want) {
		return Manifest{}, fmt.Errorf("%w: the manifest's MAC does not match: it was edited, or PORTAL_SECRET_KEY is not the key of the portal that made it", ErrTampered)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !validPath(f.Path) || seen[f.Path] {
			return Manifest{}, fmt.Errorf("%w: manifest names %q", ErrTampered, f.Path)
		}
		seen[f.Path] = true
	}
	if !seen[dbName] {
		return Manifest{}, fmt.Errorf("%w: manifest names no database", ErrTampered)
	}
	return m, nil
}

// Restore checks the backup in src and writes it into dataDir, which must
// not exist or be empty: the database and blobs where a data directory
// keeps them, the members' build under dataDir/members-site. Every file is
// checked against the manifest as it is copied, and the restored audit log
// against the head the backup recorded. On any failure dataDir is left
// empty. The search indexes are not part of a backup: run `portal reindex`
// after.
func Restore(ctx context.Context, src, dataDir string, opts RestoreOptions) (Manifest, error) {
	m, err := ReadManifest(src, opts.SecretKey)
	if err != nil {
		return Manifest{}, err
	}
	if err := makeEmptyDir(dataDir); err != nil {
		return Manifest{}, err
	}
	if err := restore(ctx, src, dataDir, m, opts); err != nil {
		emptyDir(dataDir)
		return Manifest{}, err
	}
	return m, nil
}

func restore(ctx context.Context, src, dataDir string, m Manifest, opts RestoreOptions) error {
	srcRoot, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer srcRoot.Close()
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	p := &progress{fn: opts.Progress, total: total}
	for _, f := range m.Files {
		// Every path passed validPath, and os.Root keeps it inside src.
		in, err := srcRoot.Open(filepath.FromSlash(f.Path))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrTampered, f.Path, err)
		}
		got, err := writeNew(ctx, in, filepath.Join(dataDir, filepath.FromSlash(f.Path)), p)
		in.Close()
		if err != nil {
			return err
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return fmt.Errorf("%w: %s has %d bytes with SHA-256 %s; the manifest says %d bytes, %s",
				ErrTampered, f.Path, got.Size, got.SHA256, f.Size, f.SHA256)
		}
	}
	if err := syncDirs(dataDir); err != nil {
		return err
	}
	return checkAudit(ctx, filepath.Join(dataDir, dbName), m.Audit, opts.SecretKey)
}

// writeNew copies r into a new file name (mode 0600, synced).
func writeNew(ctx context.Context, r *os.File, name string, p *progress) (File, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return File{}, fmt.Errorf("restore: %w", err)
	}
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return File{}, fmt.Errorf("restore: %w", err)
	}
	f, err := digest(ctx, r, out, p)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("restore %s: %w", name, err)
	}
	return f, nil
}

// checkAudit verifies the restored audit chain and that it ends at the
// recorded head: an intact chain that stops early has lost its newest
// entries.
func checkAudit(ctx context.Context, dbPath string, head Head, secret []byte) error {
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("restore: open the restored database: %w", err)
	}
	res, err := audit.New(db, nil).WithKey(audit.ChainKey(secret)).Verify(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !res.OK() {
		return fmt.Errorf("%w: audit log: first bad entry %d: %s", ErrTampered, res.FirstBad, res.Reason)
	}
	if int64(res.Entries) != head.LastID || res.Head != head.MAC && head.LastID != 0 {
		return fmt.Errorf("%w: the audit log ends at entry %d (%.12s…), the backup recorded %d (%.12s…)",
			ErrTampered, res.Entries, res.Head, head.LastID, head.MAC)
	}
	return nil
}

// emptyDir removes what a failed restore wrote, leaving dir itself.
func emptyDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
