// Package blob stores uploaded originals by content: a file's name is the
// SHA-256 of its bytes, so identical uploads are stored once and a stored
// file can be checked against its name at any time.
//
// Writes are atomic and durable: a blob is streamed to a temporary file in
// the store, synced, and only then given its name, and the directory is
// synced after. A crash leaves either no blob or a complete one, plus
// perhaps a temporary file that CleanTemp removes at the next start. Every
// path goes through an os.Root, so no name can reach outside the store.
package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

var (
	// ErrTooLarge reports content longer than Put's maxBytes.
	ErrTooLarge = errors.New("blob too large")
	// ErrInvalidHash reports a name that is not a lower-case hex SHA-256.
	ErrInvalidHash = errors.New("invalid blob hash")
)

// tempPrefix starts the names of temporary files. Blobs live in two-letter
// shard directories, so nothing else in the store's top level has a dot.
const tempPrefix = ".tmp-"

// tempMaxAge is how long a temporary file may go unwritten before CleanTemp
// takes it for a leftover: Put writes its file continuously, so one that has
// not changed for a minute belongs to a process that died.
const tempMaxAge = time.Minute

// Ref names a stored blob.
type Ref struct {
	SHA256 string // lower-case hex
	Size   int64
	// Created is true when this Put stored the content, false when it was
	// already there. Only the Put that created a blob may remove it again.
	Created bool
}

// Store is a directory of blobs, dir/ab/abcdef… for the hash abcdef…. It is
// safe for concurrent use, also by several processes on one machine.
type Store struct {
	root *os.Root
}

// Open opens the store in dir, creating it with mode 0700 if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create blob store: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return &Store{root: root}, nil
}

// Close releases the store's directory.
func (s *Store) Close() error {
	if err := s.root.Close(); err != nil {
		return fmt.Errorf("close blob store: %w", err)
	}
	return nil
}

// Put stores what r yields, at most maxBytes bytes, and returns its
// reference. Longer content fails with ErrTooLarge and leaves nothing
// behind, as does any error from r or ctx.
//
// If the content is already stored, Put returns the existing blob with
// Created false. The check and the naming are one atomic step (a hard link,
// which fails if the name exists), so of concurrent Puts of the same
// content exactly one reports Created.
func (s *Store) Put(ctx context.Context, r io.Reader, maxBytes int64) (ref Ref, err error) {
	if maxBytes < 0 {
		return Ref{}, fmt.Errorf("put blob: negative limit %d", maxBytes)
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return Ref{}, err
	}
	// The temporary name goes in every case: on success the blob has its
	// own name (a second link to the same file). A temporary file that cannot
	// be removed is left for CleanTemp rather than failing a stored upload.
	defer func() {
		if f != nil {
			f.Close()
		}
		_ = s.root.Remove(tmp)
	}()

	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), &ctxReader{ctx: ctx, r: io.LimitReader(r, maxBytes+1)})
	if err != nil {
		return Ref{}, fmt.Errorf("put blob: write: %w", err)
	}
	if n > maxBytes {
		return Ref{}, fmt.Errorf("put blob: %w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	if err := f.Sync(); err != nil {
		return Ref{}, fmt.Errorf("put blob: sync: %w", err)
	}
	closeErr := f.Close()
	f = nil
	if closeErr != nil {
		return Ref{}, fmt.Errorf("put blob: close: %w", closeErr)
	}

	sum := hex.EncodeToString(h.Sum(nil))
	ref = Ref{SHA256: sum, Size: n}
	shard := sum[:2]
	newShard, err := s.mkdir(shard)
	if err != nil {
		return Ref{}, err
	}
	final := path.Join(shard, sum)
	switch err := s.root.Link(tmp, final); {
	case err == nil:
		ref.Created = true
	case errors.Is(err, fs.ErrExist):
		// Same name, same content: the existing blob serves.
	default:
		return Ref{}, fmt.Errorf("put blob: name: %w", err)
	}
	// The name must survive a crash, and with a new shard so must the
	// shard's entry in the top directory. This is done even when the blob
	// existed: a concurrent Put may have linked it without having synced yet.
	err = s.syncDir(shard)
	if err == nil && newShard {
		err = s.syncDir(".")
	}
	if err != nil {
		// A blob this Put created but could not make durable is withdrawn,
		// since the caller will not record it.
		if ref.Created {
			_ = s.root.Remove(final)
		}
		return Ref{}, err
	}
	return ref, nil
}

// createTemp creates a new, empty temporary file in the store's top
// directory, which is on the same file system as every blob.
func (s *Store) createTemp() (string, *os.File, error) {
	for range 10 {
		name := tempPrefix + rand.Text()
		f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("put blob: create temporary file: %w", err)
		}
		return name, f, nil
	}
	return "", nil, errors.New("put blob: create temporary file: no free name")
}

// mkdir creates a shard directory and reports whether it was new.
func (s *Store) mkdir(shard string) (bool, error) {
	err := s.root.Mkdir(shard, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put blob: create shard: %w", err)
	}
	return true, nil
}

// syncDir makes the entries of a directory durable.
func (s *Store) syncDir(name string) error {
	d, err := s.root.Open(name)
	if err != nil {
		return fmt.Errorf("sync blob directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync blob directory: %w", err)
	}
	return nil
}

// blobPath returns the path of the blob with the given hash, after checking
// that it is a lower-case hex SHA-256, which also keeps it a plain name.
func blobPath(hash string) (string, error) {
	if len(hash) != 2*sha256.Size || strings.IndexFunc(hash, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f')
	}) >= 0 {
		return "", fmt.Errorf("%w: %.80q", ErrInvalidHash, hash)
	}
	return path.Join(hash[:2], hash), nil
}

// Open opens the blob with the given hash for reading. A missing blob gives
// an error that wraps fs.ErrNotExist.
func (s *Store) Open(hash string) (*os.File, error) {
	p, err := blobPath(hash)
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	f, err := s.root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return f, nil
}

// Has reports whether the blob with the given hash is stored.
func (s *Store) Has(hash string) (bool, error) {
	p, err := blobPath(hash)
	if err != nil {
		return false, fmt.Errorf("check blob: %w", err)
	}
	_, err = s.root.Stat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("check blob: %w", err)
}

// Remove deletes a blob; a missing one is no error. It exists to roll back
// an upload whose Put reported Created and whose later steps failed. Because
// identical content is stored once, another upload may have referenced the
// blob in the meantime: the caller must check, in the same transaction that
// drops its own record, that no other record names the hash.
func (s *Store) Remove(hash string) error {
	p, err := blobPath(hash)
	if err != nil {
		return fmt.Errorf("remove blob: %w", err)
	}
	if err := s.root.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove blob: %w", err)
	}
	return s.syncDir(hash[:2])
}

// CleanTemp deletes temporary files that have not been written for a
// minute: leftovers of Puts in processes that crashed or were killed. Call
// it at start-up.
func (s *Store) CleanTemp() error {
	return s.cleanTemp(time.Now().Add(-tempMaxAge))
}

func (s *Store) cleanTemp(before time.Time) error {
	d, err := s.root.Open(".")
	if err != nil {
		return fmt.Errorf("clean blob temporary files: %w", err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("clean blob temporary files: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished or removed meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if info.ModTime().After(before) {
			continue
		}
		if err := s.root.Remove(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean blob temporary files: %w", err)
	}
	return nil
}

// ctxReader stops a copy when its context ends, so that an abandoned upload
// does not keep writing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
