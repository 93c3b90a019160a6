package main

import (
	"context"
	"fmt"
	"path/filepath"

	"portal/bench"
	"portal/blob"
	"portal/blob/seaweedfs"
)

// blobFigure times research originals going into the local blob directory
// and into a bucket on a local SeaweedFS (weed mini, the tests' S3 server),
// as uploads store them (Put under a temporary key, Commit to the hash's
// name), in alternating rounds so that drift on the machine falls on both
// sides. It is the storage step of an upload only: the HTTP request, the
// extraction and the transaction are the same on both sides.
func blobFigure(ctx context.Context, st *state) error {
	bin, err := seaweedfs.FindBinary()
	if err != nil {
		return err
	}
	st.logf("starting seaweedfs for the blob figure")
	weed, err := seaweedfs.Start(ctx, seaweedfs.Options{Binary: bin, DataDir: filepath.Join(st.work, "seaweedfs")})
	if err != nil {
		return err
	}
	defer weed.Stop()
	name, err := weed.MakeBucket(ctx)
	if err != nil {
		return err
	}
	bucket, err := blob.OpenBucket(ctx, weed.Config(name))
	if err != nil {
		return err
	}
	defer bucket.Close()
	dir, err := blob.OpenDir(filepath.Join(st.work, "blobs"))
	if err != nil {
		return err
	}
	defer dir.Close()

	files, size, rounds := 8, int64(16<<20), 3
	if st.cfg.smoke {
		files, size, rounds = 2, 4<<20, 1
	}
	var local, s3 bench.BlobResult
	add := func(sum *bench.BlobResult, r bench.BlobResult) {
		sum.Files += r.Files
		sum.Bytes += r.Bytes
		sum.Took += r.Took
	}
	for i := range rounds {
		r, err := bench.BlobUploads(ctx, dir, files, size, st.cfg.seed*100+uint64(2*i))
		if err != nil {
			return err
		}
		add(&local, r)
		if r, err = bench.BlobUploads(ctx, bucket, files, size, st.cfg.seed*100+uint64(2*i+1)); err != nil {
			return err
		}
		add(&s3, r)
	}
	st.logf("blob uploads: directory %.0f MB/s, SeaweedFS %.0f MB/s", local.MBps(), s3.MBps())
	st.add(bench.NewFigure("blob_upload_ratio_s3", "upload storage throughput, S3 bucket (SeaweedFS on the same machine) ÷ local directory",
		s3.MBps()/local.MBps(), "ratio", "",
		fmt.Sprintf("%d files of %d MiB per side in %d alternating rounds: directory %.0f MB/s (%.2f s), S3 %.0f MB/s (%.2f s); Put streams in 8 MiB parts, Commit copies on the server",
			local.Files, size>>20, rounds, local.MBps(), local.Took.Seconds(), s3.MBps(), s3.Took.Seconds())))
	return nil
}
