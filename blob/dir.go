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

// tempPrefix starts the names of temporary files. Blobs live in two-letter
// shard directories, so nothing else in the directory's top level has a dot.
const tempPrefix = ".tmp-"

// Dir is a directory of blobs, dir/ab/abcdef… for the hash abcdef…, written
// atomically and durably: Put streams to a temporary file in the directory
// and syncs it, Commit links it under its name and syncs the directory. A
// crash leaves either no blob or a complete one, plus perhaps a temporary
// file that CleanTemp removes. Every path goes through an os.Root, so no
// name can reach outside the directory.
type Dir struct {
	root *os.Root
}

var _ Store = (*Dir)(nil)

// OpenDir opens the store in dir, creating it with mode 0700 if needed.
func OpenDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create blob store: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return &Dir{root: root}, nil
}

// Close releases the store's directory.
func (s *Dir) Close() error {
	if err := s.root.Close(); err != nil {
		return fmt.Errorf("close blob store: %w", err)
	}
	return nil
}

// Put streams r into a new temporary file, synced before it returns.
func (s *Dir) Put(ctx context.Context, r io.Reader, maxBytes int64) (t Temp, err error) {
	if maxBytes < 0 {
		return Temp{}, fmt.Errorf("put blob: negative limit %d", maxBytes)
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return Temp{}, err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			_ = s.root.Remove(tmp)
		}
	}()

	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), &ctxReader{ctx: ctx, r: io.LimitReader(r, maxBytes+1)})
	if err != nil {
		return Temp{}, fmt.Errorf("put blob: write: %w", err)
	}
	if n > maxBytes {
		return Temp{}, fmt.Errorf("put blob: %w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	if err := f.Sync(); err != nil {
		return Temp{}, fmt.Errorf("put blob: sync: %w", err)
	}
	closeErr := f.Close()
	f = nil
	if closeErr != nil {
		return Temp{}, fmt.Errorf("put blob: close: %w", closeErr)
	}
	return Temp{Key: tmp, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// Commit links the temporary file under its hash. The naming is one atomic
// step (a hard link, which fails if the name exists), so concurrent
// commits of the same content leave one complete file.
func (s *Dir) Commit(ctx context.Context, t Temp) error {
	if err := checkHash(t.SHA256); err != nil {
		return fmt.Errorf("commit blob: %w", err)
	}
	if !strings.HasPrefix(t.Key, tempPrefix) || strings.ContainsRune(t.Key, '/') {
		return fmt.Errorf("commit blob: %q is not a temporary file", t.Key)
	}
	// The temporary name goes in every case: on success the blob has its
	// own name (a second link to the same file). One that cannot be
	// removed is left for CleanTemp rather than failing a stored upload.
	defer func() { _ = s.root.Remove(t.Key) }()
	shard := t.SHA256[:2]
	newShard, err := s.mkdir(shard)
	if err != nil {
		return err
	}
	final := path.Join(shard, t.SHA256)
	created := false
	switch err := s.root.Link(t.Key, final); {
	case err == nil:
		created = true
	case errors.Is(err, fs.ErrExist):
		// Same name, same content: the existing blob serves.
	default:
		return fmt.Errorf("commit blob: name: %w", err)
	}
	// The name must survive a crash, and with a new shard so must the
	// shard's entry in the top directory. This is done even when the blob
	// existed: a concurrent Commit may have linked it without having synced
	// yet.
	err = s.syncDir(shard)
	if err == nil && newShard {
		err = s.syncDir(".")
	}
	if err != nil {
		// A blob this Commit created but could not make durable is
		// withdrawn, since the caller will not record it.
		if created {
			_ = s.root.Remove(final)
		}
		return err
	}
	return nil
}

// Discard removes a temporary file.
func (s *Dir) Discard(ctx context.Context, t Temp) error {
	if !strings.HasPrefix(t.Key, tempPrefix) || strings.ContainsRune(t.Key, '/') {
		return fmt.Errorf("discard blob: %q is not a temporary file", t.Key)
	}
	if err := s.root.Remove(t.Key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard blob: %w", err)
	}
	return nil
}

// createTemp creates a new, empty temporary file in the store's top
// directory, which is on the same file system as every blob.
func (s *Dir) createTemp() (string, *os.File, error) {
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
func (s *Dir) mkdir(shard string) (bool, error) {
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
func (s *Dir) syncDir(name string) error {
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
// the hash.
func blobPath(hash string) (string, error) {
	if err := checkHash(hash); err != nil {
		return "", err
	}
	return path.Join(hash[:2], hash), nil
}

// Open opens the blob with the given hash for reading.
func (s *Dir) Open(ctx context.Context, hash string) (File, error) {
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

// Remove deletes a blob; a missing one is no error.
func (s *Dir) Remove(ctx context.Context, hash string) error {
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

// List walks the shard directories.
func (s *Dir) List(ctx context.Context, fn func(Info) error) error {
	top, err := s.readDir(".")
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, shard := range top {
		if !shard.IsDir() || len(shard.Name()) != 2 {
			continue
		}
		entries, err := s.readDir(shard.Name())
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || checkHash(e.Name()) != nil || e.Name()[:2] != shard.Name() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("list blobs: %w", err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(Info{SHA256: e.Name(), Size: info.Size(), Modified: info.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Dir) readDir(name string) ([]fs.DirEntry, error) {
	d, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// CleanTemp deletes temporary files not written since before: leftovers of
// Puts in processes that crashed or were killed.
func (s *Dir) CleanTemp(ctx context.Context, before time.Time) (int, error) {
	entries, err := s.readDir(".")
	if err != nil {
		return 0, fmt.Errorf("clean blob temporary files: %w", err)
	}
	var (
		errs []error
		n    int
	)
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
		switch err := s.root.Remove(e.Name()); {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("clean blob temporary files: %w", err)
	}
	return n, nil
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
