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
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BucketConfig says which S3-compatible bucket holds the blobs.
type BucketConfig struct {
	Endpoint string // host:port
	Region   string // empty lets the client ask the server
	Bucket   string
	// Prefix is prepended to every key ("" or ending in "/"), so that one
	// bucket can serve several installations.
	Prefix string
	TLS    bool
	// AccessKey and SecretKey sign the requests; they come from the
	// environment, never from the URL.
	AccessKey, SecretKey string
}

// partSize is the size of the parts of a streamed upload, and so the
// memory one Put holds: an upload of unknown length is sent in parts of
// this size, each buffered once (S3's minimum part is 5 MiB). With parts
// of 8 MiB an object may reach 80 GB, far beyond any upload limit.
const partSize = 8 << 20

// ParseBucketURL reads s3://bucket/prefix?endpoint=host:port&region=…&tls=false.
// Without endpoint it is AWS S3 (s3.amazonaws.com); tls defaults to true.
// A URL with credentials in it is refused: they would end up in logs.
func ParseBucketURL(rawURL string) (BucketConfig, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" {
		return BucketConfig{}, fmt.Errorf("PORTAL_BLOB_URL: not an s3://bucket/prefix URL")
	}
	if u.User != nil {
		return BucketConfig{}, errors.New("PORTAL_BLOB_URL: credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	cfg := BucketConfig{Bucket: u.Host, Endpoint: "s3.amazonaws.com", TLS: true}
	if cfg.Bucket == "" {
		return BucketConfig{}, fmt.Errorf("PORTAL_BLOB_URL %q names no bucket", Redact(rawURL))
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "tls":
			if cfg.TLS, err = strconv.ParseBool(v); err != nil {
				return BucketConfig{}, fmt.Errorf("PORTAL_BLOB_URL: tls=%q is not true or false", v)
			}
		default:
			return BucketConfig{}, fmt.Errorf("PORTAL_BLOB_URL: unknown parameter %q (endpoint, region, tls)", k)
		}
	}
	return cfg, nil
}

// Bucket is a store in an S3-compatible bucket: blobs at
// prefix/ab/abcdef…, temporary objects at prefix/tmp/…. Put streams in
// parts of partSize (a multipart upload, which S3 shows only once
// complete), Commit copies on the server and removes the temporary object.
// The bucket stays private: downloads go through the portal's
// access-checked handler, which reads the object as a stream.
type Bucket struct {
	c      *minio.Client
	bucket string
	prefix string
}

var _ Store = (*Bucket)(nil)

// OpenBucket connects to the bucket and checks that it exists: the portal
// never creates it, so that its policy stays the operator's.
func OpenBucket(ctx context.Context, cfg BucketConfig) (*Bucket, error) {
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("blob bucket: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required")
	}
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob bucket %s at %s does not exist", cfg.Bucket, cfg.Endpoint)
	}
	return &Bucket{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

// NewClient returns an S3 client for cfg's endpoint.
func NewClient(cfg BucketConfig) (*minio.Client, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.TLS,
		Region: cfg.Region,
		// A transport of its own, so that idle connections to the bucket
		// do not count against other clients' limits.
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	})
	if err != nil {
		return nil, fmt.Errorf("blob bucket client: %w", err)
	}
	return c, nil
}

// Close has nothing to release: the client holds only idle connections.
func (b *Bucket) Close() error { return nil }

func (b *Bucket) key(hash string) string { return b.prefix + hash[:2] + "/" + hash }

func (b *Bucket) tempPrefix() string { return b.prefix + "tmp/" }

// Put streams r as a multipart upload of unknown length under a temporary
// key, hashing it on the way.
func (b *Bucket) Put(ctx context.Context, r io.Reader, maxBytes int64) (Temp, error) {
	if maxBytes < 0 {
		return Temp{}, fmt.Errorf("put blob: negative limit %d", maxBytes)
	}
	key := b.tempPrefix() + rand.Text()
	h := sha256.New()
	lr := &limitReader{r: io.TeeReader(&ctxReader{ctx: ctx, r: r}, h), left: maxBytes}
	// The client aborts the multipart upload when the reader fails, so a
	// refused or broken upload leaves nothing.
	info, err := b.c.PutObject(ctx, b.bucket, key, lr, -1, minio.PutObjectOptions{
		PartSize: partSize, ContentType: "application/octet-stream"})
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return Temp{}, fmt.Errorf("put blob: %w: more than %d bytes", ErrTooLarge, maxBytes)
		}
		if ctx.Err() != nil {
			return Temp{}, fmt.Errorf("put blob: %w", context.Cause(ctx))
		}
		return Temp{}, fmt.Errorf("put blob: %w", err)
	}
	t := Temp{Key: key, SHA256: hex.EncodeToString(h.Sum(nil)), Size: lr.n}
	if info.Size != t.Size {
		_ = b.Discard(context.WithoutCancel(ctx), t)
		return Temp{}, fmt.Errorf("put blob: the bucket stored %d bytes of %d", info.Size, t.Size)
	}
	return t, nil
}

// Commit copies the temporary object to its content-addressed key on the
// server, then removes it. The copy replaces an existing blob with the
// same bytes, which renews it.
func (b *Bucket) Commit(ctx context.Context, t Temp) error {
	if err := checkHash(t.SHA256); err != nil {
		return fmt.Errorf("commit blob: %w", err)
	}
	if !strings.HasPrefix(t.Key, b.tempPrefix()) {
		return fmt.Errorf("commit blob: %q is not a temporary key", t.Key)
	}
	_, err := b.c.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: b.bucket, Object: b.key(t.SHA256)},
		minio.CopySrcOptions{Bucket: b.bucket, Object: t.Key})
	if err != nil {
		return fmt.Errorf("commit blob: copy: %w", err)
	}
	// A temporary object that cannot be removed is left for CleanTemp
	// rather than failing a stored upload.
	_ = b.c.RemoveObject(ctx, b.bucket, t.Key, minio.RemoveObjectOptions{})
	return nil
}

// Discard removes a temporary object.
func (b *Bucket) Discard(ctx context.Context, t Temp) error {
	if !strings.HasPrefix(t.Key, b.tempPrefix()) {
		return fmt.Errorf("discard blob: %q is not a temporary key", t.Key)
	}
	if err := b.c.RemoveObject(ctx, b.bucket, t.Key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("discard blob: %w", err)
	}
	return nil
}

// Open returns the object as a stream that reads ranges on demand; the
// stat up front turns a missing object into fs.ErrNotExist.
func (b *Bucket) Open(ctx context.Context, hash string) (File, error) {
	if err := checkHash(hash); err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	obj, err := b.c.GetObject(ctx, b.bucket, b.key(hash), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("open blob %s: %w", hash, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return obj, nil
}

// Remove deletes a blob's object; S3 reports no error for a missing one.
func (b *Bucket) Remove(ctx context.Context, hash string) error {
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("remove blob: %w", err)
	}
	if err := b.c.RemoveObject(ctx, b.bucket, b.key(hash), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("remove blob: %w", err)
	}
	return nil
}

// List lists the prefix, skipping the temporary objects and anything
// else that is not a blob's key.
func (b *Bucket) List(ctx context.Context, fn func(Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing's goroutine when fn stops early
	for o := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("list blobs: %w", o.Err)
		}
		shard, hash, ok := strings.Cut(strings.TrimPrefix(o.Key, b.prefix), "/")
		if !ok || checkHash(hash) != nil || hash[:2] != shard {
			continue
		}
		if err := fn(Info{SHA256: hash, Size: o.Size, Modified: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

// CleanTemp removes temporary objects last written before before, and the
// unfinished multipart uploads under the temporary prefix started before
// it: the caller picks a cut-off beyond the longest an upload may stream.
func (b *Bucket) CleanTemp(ctx context.Context, before time.Time) (int, error) {
	var (
		n    int
		errs []error
	)
	for o := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.tempPrefix(), Recursive: true}) {
		if o.Err != nil {
			return n, fmt.Errorf("clean blob temporary objects: %w", o.Err)
		}
		if !o.LastModified.Before(before) {
			continue
		}
		if err := b.c.RemoveObject(ctx, b.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	for u := range b.c.ListIncompleteUploads(ctx, b.bucket, b.tempPrefix(), true) {
		if u.Err != nil {
			errs = append(errs, u.Err)
			break
		}
		if !u.Initiated.Before(before) {
			continue
		}
		if err := b.c.RemoveIncompleteUpload(ctx, b.bucket, u.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("clean blob temporary objects: %w", err)
	}
	return n, nil
}

// limitReader fails with ErrTooLarge on the byte after its limit, so that
// the upload in progress is aborted rather than completed and removed.
type limitReader struct {
	r    io.Reader
	left int64
	n    int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < int64(len(p)) {
		// Read one byte past the limit to tell "exactly the limit" from
		// "longer".
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		return 0, ErrTooLarge
	}
	l.left -= int64(n)
	l.n += int64(n)
	return n, err
}
