package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"portal/blob"
)

// BlobResult is the time one store took to take files.
type BlobResult struct {
	Files int
	Bytes int64
	Took  time.Duration
}

// MBps is the throughput in MB (10^6 bytes) per second.
func (r BlobResult) MBps() float64 { return float64(r.Bytes) / 1e6 / r.Took.Seconds() }

// BlobUploads stores files distinct files of size bytes into s as an
// upload does (Put under a temporary key, then Commit to the hash's
// name), streamed from a generator, and returns the time it took.
func BlobUploads(ctx context.Context, s blob.Store, files int, size int64, seed uint64) (BlobResult, error) {
	r := BlobResult{Files: files}
	start := time.Now()
	for i := range files {
		tmp, err := s.Put(ctx, &fill{n: size, salt: seed<<20 + uint64(i)}, size)
		if err != nil {
			return r, fmt.Errorf("blob upload %d: %w", i, err)
		}
		if err := s.Commit(ctx, tmp); err != nil {
			return r, fmt.Errorf("blob commit %d: %w", i, err)
		}
		r.Bytes += tmp.Size
	}
	r.Took = time.Since(start)
	return r, nil
}

// fill yields n bytes that differ with salt (so that every file is new
// content) and do not compress to nothing.
type fill struct {
	n, i int64
	salt uint64
}

func (f *fill) Read(p []byte) (int, error) {
	if f.i >= f.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.n-f.i)]
	x := f.salt*0x9e3779b97f4a7c15 + uint64(f.i)
	for k := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[k] = byte(x)
	}
	f.i += int64(len(p))
	return len(p), nil
}
