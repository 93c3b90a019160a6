package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// ErrNotEmpty reports a copy's target that already holds blobs.
var ErrNotEmpty = errors.New("the target blob store is not empty")

// CopyResult sums up a verified copy.
type CopyResult struct {
	Blobs int
	Bytes int64
	// Checksum is the SHA-256 of the sorted "hash size" lines of every
	// blob, the same for source and target once the copy is verified.
	Checksum string
}

// Copy copies every committed blob of src into dst, which must hold none
// (ErrNotEmpty otherwise), then checks the target: the same blobs with the
// same sizes, and each object read back from dst hashes to its name. Every
// blob is streamed through Put and Commit, as an upload is, so no file is
// ever held in memory whole; Put's own hash also proves that each source
// blob still matches its name. progress, if not nil, is told of each blob
// once copied. On failure Copy removes what it copied, so that the target
// is empty again for another attempt.
func Copy(ctx context.Context, dst, src Store, progress func(Info)) (CopyResult, error) {
	switch empty, err := Empty(ctx, dst); {
	case err != nil:
		return CopyResult{}, fmt.Errorf("copy blobs: %w", err)
	case !empty:
		return CopyResult{}, ErrNotEmpty
	}
	want := map[string]int64{}
	if err := src.List(ctx, func(i Info) error { want[i.SHA256] = i.Size; return nil }); err != nil {
		return CopyResult{}, fmt.Errorf("copy blobs: list the source: %w", err)
	}
	var copied []string
	res, err := copyAll(ctx, dst, src, want, progress, &copied)
	if err != nil {
		// The target was empty: what is in it now came from this copy.
		for _, h := range copied {
			_ = dst.Remove(context.WithoutCancel(ctx), h)
		}
		return CopyResult{}, err
	}
	return res, nil
}

// Empty reports whether s holds no committed blob.
func Empty(ctx context.Context, s Store) (bool, error) {
	empty := true
	err := s.List(ctx, func(Info) error { empty = false; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return false, err
	}
	return empty, nil
}

var errStop = errors.New("stop listing")

func copyAll(ctx context.Context, dst, src Store, want map[string]int64, progress func(Info), copied *[]string) (CopyResult, error) {
	hashes := slices.Sorted(maps.Keys(want))
	for _, h := range hashes {
		if err := copyOne(ctx, dst, src, h, want[h]); err != nil {
			return CopyResult{}, err
		}
		*copied = append(*copied, h)
		if progress != nil {
			progress(Info{SHA256: h, Size: want[h]})
		}
	}

	// The target as it lists itself, then as it reads.
	got := map[string]int64{}
	if err := dst.List(ctx, func(i Info) error { got[i.SHA256] = i.Size; return nil }); err != nil {
		return CopyResult{}, fmt.Errorf("copy blobs: list the target: %w", err)
	}
	if len(got) != len(want) {
		return CopyResult{}, fmt.Errorf("copy blobs: the target lists %d blobs, the source %d", len(got), len(want))
	}
	res := CopyResult{Blobs: len(want)}
	sum := sha256.New()
	for _, h := range hashes {
		size, ok := got[h]
		if !ok || size != want[h] {
			return CopyResult{}, fmt.Errorf("copy blobs: blob %s is missing from the target or has another size (%d, want %d)", h, size, want[h])
		}
		if err := verify(ctx, dst, h, size); err != nil {
			return CopyResult{}, err
		}
		res.Bytes += size
		fmt.Fprintf(sum, "%s %d\n", h, size)
	}
	res.Checksum = hex.EncodeToString(sum.Sum(nil))
	return res, nil
}

// copyOne streams one blob from src to dst. A source blob that no longer
// matches its name is an error, never copied under that name.
func copyOne(ctx context.Context, dst, src Store, hash string, size int64) error {
	f, err := src.Open(ctx, hash)
	if err != nil {
		return fmt.Errorf("copy blobs: %w", err)
	}
	defer f.Close()
	t, err := dst.Put(ctx, f, size)
	if err != nil {
		return fmt.Errorf("copy blob %s: %w", hash, err)
	}
	if t.SHA256 != hash || t.Size != size {
		_ = dst.Discard(context.WithoutCancel(ctx), t)
		return fmt.Errorf("copy blobs: the source's blob %s does not match its name (read %d bytes hashing to %s): repair or remove it first", hash, t.Size, t.SHA256)
	}
	if err := dst.Commit(ctx, t); err != nil {
		_ = dst.Discard(context.WithoutCancel(ctx), t)
		return fmt.Errorf("copy blob %s: %w", hash, err)
	}
	return nil
}

// verify reads a blob back from s and checks its size and hash.
func verify(ctx context.Context, s Store, hash string, size int64) error {
	f, err := s.Open(ctx, hash)
	if err != nil {
		return fmt.Errorf("copy blobs: read back: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx: ctx, r: f})
	if err != nil {
		return fmt.Errorf("copy blobs: read back %s: %w", hash, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hash || n != size {
		return fmt.Errorf("copy blobs: the target's blob %s reads as %d bytes hashing to %s", hash, n, got)
	}
	return nil
}
