// Package blob stores uploaded originals by content: a file's name is the
// SHA-256 of its bytes, so identical uploads are stored once and a stored
// file can be checked against its name at any time.
//
// A Store is either a local directory (Dir, the default) or an
// S3-compatible bucket (Bucket); PORTAL_BLOB_URL chooses (OpenURL). Both
// write in two steps: Put streams the content under a temporary key and
// learns its hash, and Commit gives it its content-addressed name. Between
// the two the caller records in the database that it holds the hash, so
// that a garbage collection on another instance, which deletes only what
// no database row names, cannot take the blob from under it (research's
// upload and collection follow that order). Nothing is held in memory
// whole in either direction.
package blob

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

var (
	// ErrTooLarge reports content longer than Put's maxBytes.
	ErrTooLarge = errors.New("blob too large")
	// ErrInvalidHash reports a name that is not a lower-case hex SHA-256.
	ErrInvalidHash = errors.New("invalid blob hash")
)

// Store is where originals live. Implementations are safe for concurrent
// use, also by several processes (or portal instances) sharing them.
type Store interface {
	// Put streams what r yields, at most maxBytes bytes, under a new
	// temporary key and returns it with the content's hash and size.
	// Longer content fails with ErrTooLarge and leaves nothing behind, as
	// does any error from r or ctx.
	Put(ctx context.Context, r io.Reader, maxBytes int64) (Temp, error)
	// Commit gives t its content-addressed name and removes the temporary
	// key. Content already stored under that name stays as it is.
	Commit(ctx context.Context, t Temp) error
	// Discard removes a temporary key that will not be committed.
	Discard(ctx context.Context, t Temp) error
	// Open opens the blob with the given hash for streaming reads. A
	// missing blob gives an error that wraps fs.ErrNotExist.
	Open(ctx context.Context, hash string) (File, error)
	// Remove deletes a blob; a missing one is no error. Only a caller that
	// has made sure, in the database, that nothing names the hash or may
	// come to name it meanwhile may remove it (see research's collection).
	Remove(ctx context.Context, hash string) error
	// List calls fn with every committed blob, in no particular order.
	List(ctx context.Context, fn func(Info) error) error
	// CleanTemp removes the temporary keys, and with S3 the unfinished
	// uploads, last written (started) before before: leftovers of Puts
	// whose process died. The caller picks a cut-off beyond the longest a
	// Put may stream.
	CleanTemp(ctx context.Context, before time.Time) (int, error)
	Close() error
}

// Temp is content stored by Put under a temporary key.
type Temp struct {
	Key    string // the temporary key, meaningful to its Store only
	SHA256 string // lower-case hex
	Size   int64
}

// Info describes a committed blob.
type Info struct {
	SHA256   string
	Size     int64
	Modified time.Time
}

// File is an open blob: read in order, from any offset (the PDF reader
// and ranged downloads need both), and closed by the caller.
type File interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// checkHash reports whether hash is a lower-case hex SHA-256, which also
// keeps it a plain name in a path or key.
func checkHash(hash string) error {
	if len(hash) != 2*sha256.Size || strings.IndexFunc(hash, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f')
	}) >= 0 {
		return fmt.Errorf("%w: %.80q", ErrInvalidHash, hash)
	}
	return nil
}

// OpenURL opens the store rawURL names: empty for the directory
// defaultDir, a path or file:// URL for a directory, or
// s3://bucket/prefix?endpoint=host:port&region=…&tls=false for a bucket
// (see ParseBucketURL) signed with accessKey and secretKey, which never
// come from the URL: the URL is logged.
func OpenURL(ctx context.Context, rawURL, defaultDir, accessKey, secretKey string) (Store, error) {
	switch {
	case rawURL == "":
		return OpenDir(defaultDir)
	case strings.HasPrefix(rawURL, "s3://"):
		cfg, err := ParseBucketURL(rawURL)
		if err != nil {
			return nil, err
		}
		cfg.AccessKey, cfg.SecretKey = accessKey, secretKey
		return OpenBucket(ctx, cfg)
	case strings.HasPrefix(rawURL, "file://"):
		u, err := url.Parse(rawURL)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return nil, fmt.Errorf("PORTAL_BLOB_URL: %q is not a file:///absolute/path URL", rawURL)
		}
		return OpenDir(u.Path)
	case strings.Contains(rawURL, "://"):
		return nil, fmt.Errorf("PORTAL_BLOB_URL: unknown scheme in %q: use a directory, file:// or s3://", Redact(rawURL))
	}
	return OpenDir(rawURL)
}

// Redact returns rawURL without any user information, for logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
