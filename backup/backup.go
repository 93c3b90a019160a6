// Package backup copies the portal's durable state out of a running portal
// and back into a new data directory: the database (a consistent snapshot
// taken while the portal serves), every stored original the snapshot
// names, and the members' build of the site, with a manifest of sizes,
// SHA-256 hashes and the audit chain's head.
//
// The secret key is never copied. The manifest carries an HMAC keyed from
// it, so a restore with the right key detects an edited manifest as well as
// an edited file, and the restored audit log is checked against the head
// recorded at backup time, which reveals a log cut short.
package backup

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"portal/audit"
	"portal/store"
)

// Format names the layout of a backup directory; Restore refuses others.
const Format = "portal-backup-v1"

// ManifestName is the manifest's file name inside a backup directory.
const ManifestName = "manifest.json"

// The parts of a backup and of a data directory, by relative path.
const (
	dbName     = "portal.db"
	blobsDir   = "blobs"
	MembersDir = "members-site" // where Restore puts the members' build
)

const (
	tempSuffix  = ".tmp"
	bufferBytes = 1 << 20 // copy buffer
)

// File is one file of a backup.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the backup directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Head is the audit chain's newest entry at the time of the snapshot.
type Head struct {
	LastID int64  `json:"lastId"`
	MAC    string `json:"mac"` // the entry's chain hash (HMAC-SHA256)
}

// Manifest describes a backup.
type Manifest struct {
	Format      string    `json:"format"`
	Created     time.Time `json:"created"`
	Portal      string    `json:"portal"` // version of the portal that made it
	Audit       Head      `json:"audit"`
	MembersSite bool      `json:"membersSite"`
	Files       []File    `json:"files"`
	// MAC is the HMAC-SHA256 of the manifest's JSON with MAC empty, keyed
	// from the secret key (manifestKey).
	MAC string `json:"mac"`
}

// Progress is told how many bytes of how many are done.
type Progress func(done, total int64)

// Options configure Create.
type Options struct {
	// DataDir holds the live database (portal.db) and the blob store (blobs/).
	DataDir string
	// MembersSiteDir is the members' build of the site; "" when there is none.
	MembersSiteDir string
	SecretKey      []byte
	Version        string
	Progress       Progress
}

// manifestKey derives the manifest's MAC key from the secret key, so that
// this use never shares a key with the others (compare audit.ChainKey).
func manifestKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("portal backup manifest v1"))
	return mac.Sum(nil)
}

func (m Manifest) sign(secret []byte) (string, error) {
	m.MAC = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, manifestKey(secret))
	mac.Write(b)
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// Create writes a backup of the portal whose live database is db into dest,
// which must not exist or be empty. It runs beside a serving portal: the
// database copy is one snapshot (store.DB.Backup), and the originals are
// those that snapshot names, which the portal never changes or removes
// once a record names them. Blobs are hard-linked where dest is on the same
// file system, copied otherwise; either way each is read and checked
// against its hash.
func Create(ctx context.Context, db *store.DB, dest string, opts Options) (Manifest, error) {
	if len(opts.SecretKey) == 0 {
		return Manifest{}, errors.New("backup: the secret key is needed to sign the manifest")
	}
	if err := makeEmptyDir(dest); err != nil {
		return Manifest{}, err
	}
	m, err := create(ctx, db, dest, opts)
	if err != nil {
		// Half a backup is no backup; leave the directory as it was given.
		emptyDir(dest)
		return Manifest{}, err
	}
	return m, nil
}

func create(ctx context.Context, db *store.DB, dest string, opts Options) (Manifest, error) {
	m := Manifest{Format: Format, Created: time.Now().UTC().Round(time.Second), Portal: opts.Version}
	dbPath := filepath.Join(dest, dbName)
	if err := db.Backup(ctx, dbPath); err != nil {
		return Manifest{}, err
	}
	blobs, head, err := readSnapshot(ctx, dbPath)
	if err != nil {
		return Manifest{}, err
	}
	m.Audit = Head{LastID: head.ID, MAC: head.Hash}

	dbInfo, err := os.Stat(dbPath)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	var members []string
	if opts.MembersSiteDir != "" {
		if members, err = listTree(opts.MembersSiteDir); err != nil {
			return Manifest{}, err
		}
		m.MembersSite = true
	}
	total := dbInfo.Size()
	for _, size := range blobs {
		total += size
	}
	for _, rel := range members {
		if info, err := os.Stat(filepath.Join(opts.MembersSiteDir, rel)); err == nil {
			total += info.Size()
		}
	}
	p := &progress{fn: opts.Progress, total: total}

	f, err := hashFile(ctx, dbPath, p)
	if err != nil {
		return Manifest{}, err
	}
	f.Path = dbName
	m.Files = append(m.Files, f)

	for _, h := range slices.Sorted(maps.Keys(blobs)) {
		rel := path.Join(blobsDir, h[:2], h)
		f, err := linkOrCopy(ctx, filepath.Join(opts.DataDir, filepath.FromSlash(rel)), filepath.Join(dest, filepath.FromSlash(rel)), p)
		if err != nil {
			return Manifest{}, err
		}
		if f.SHA256 != h || f.Size != blobs[h] {
			return Manifest{}, fmt.Errorf("backup: stored original %s does not match its record (size %d, hash %s)", h, f.Size, f.SHA256)
		}
		f.Path = rel
		m.Files = append(m.Files, f)
	}
	for _, rel := range members {
		f, err := copyFile(ctx, filepath.Join(opts.MembersSiteDir, filepath.FromSlash(rel)), filepath.Join(dest, MembersDir, filepath.FromSlash(rel)), p)
		if err != nil {
			return Manifest{}, err
		}
		f.Path = path.Join(MembersDir, rel)
		m.Files = append(m.Files, f)
	}
	if err := syncDirs(dest); err != nil {
		return Manifest{}, err
	}
	if m.MAC, err = m.sign(opts.SecretKey); err != nil {
		return Manifest{}, err
	}
	return m, writeManifest(dest, m)
}

// readSnapshot reads what the backup needs from the database copy: the
// originals it names and the audit head. Reading the copy rather than the
// live database keeps the three consistent with each other.
func readSnapshot(ctx context.Context, dbPath string) (map[string]int64, audit.Entry, error) {
	snap, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, audit.Entry{}, fmt.Errorf("backup: open the database copy: %w", err)
	}
	blobs, err := snap.ReferencedBlobs(ctx)
	var head audit.Entry
	if err == nil {
		head, err = audit.New(snap, nil).Head(ctx)
	}
	if cerr := snap.Close(); err == nil {
		err = cerr
	}
	return blobs, head, err
}

// makeEmptyDir creates dir (mode 0700), or accepts an existing empty one.
func makeEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty; give a new or empty directory", dir)
	}
	return nil
}

// listTree returns the slash-separated paths of the regular files under
// dir. Anything else (a link, a device) is refused: a site build holds none.
func listTree(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: members site: %w", err)
	}
	return out, nil
}

// progress adds up bytes done and reports them.
type progress struct {
	fn          Progress
	done, total int64
}

func (p *progress) add(n int64) {
	p.done += n
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
}

// countingWriter reports what passes through it, in steps of the buffer.
type countingWriter struct{ p *progress }

func (w countingWriter) Write(b []byte) (int, error) {
	w.p.add(int64(len(b)))
	return len(b), nil
}

// hashFile reads a file and returns its size and hash.
func hashFile(ctx context.Context, name string, p *progress) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return File{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	return digest(ctx, f, io.Discard, p)
}

// digest copies r to w, hashing and counting it.
func digest(ctx context.Context, r io.Reader, w io.Writer, p *progress) (File, error) {
	h := sha256.New()
	buf := make([]byte, bufferBytes)
	n, err := io.CopyBuffer(io.MultiWriter(w, h, countingWriter{p}), ctxReader{ctx, r}, buf)
	if err != nil {
		return File{}, err
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// linkOrCopy hard-links src to dst, or copies it when the file system
// cannot (another device, or links not allowed), and returns the size and
// hash of what dst holds.
func linkOrCopy(ctx context.Context, src, dst string, p *progress) (File, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return File{}, fmt.Errorf("backup: %w", err)
	}
	if err := os.Link(src, dst); err == nil {
		return hashFile(ctx, dst, p)
	} else if errors.Is(err, fs.ErrNotExist) {
		return File{}, fmt.Errorf("backup: a stored original the database names is missing: %w", err)
	}
	return copyFile(ctx, src, dst, p)
}

// copyFile copies src to a new file dst (mode 0600), synced, and returns
// the size and hash of what was written.
func copyFile(ctx context.Context, src, dst string, p *progress) (File, error) {
	in, err := os.Open(src)
	if err != nil {
		return File{}, fmt.Errorf("copy: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return File{}, fmt.Errorf("copy: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return File{}, fmt.Errorf("copy: %w", err)
	}
	f, err := digest(ctx, in, out, p)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("copy %s: %w", src, err)
	}
	return f, nil
}

// syncDirs syncs every directory under root, root included, so that the
// names of the files just written survive a crash.
func syncDirs(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", p, err)
		}
		return nil
	})
}

// writeManifest writes the manifest last and atomically: a backup without
// one is unfinished, and Restore refuses it.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestName+tempSuffix)
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("backup: sync manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// validPath reports whether a manifest path names a file Restore may write:
// relative, clean, and under one of the backup's parts.
func validPath(p string) bool {
	if !fs.ValidPath(p) || p == "." || strings.Contains(p, "\\") {
		return false
	}
	if p == dbName {
		return true
	}
	first, rest, ok := strings.Cut(p, "/")
	if !ok || rest == "" {
		return false
	}
	if first == blobsDir {
		dir, name, ok := strings.Cut(rest, "/")
		return ok && len(name) == 64 && dir == name[:2] && !strings.Contains(name, "/")
	}
	return first == MembersDir
}
