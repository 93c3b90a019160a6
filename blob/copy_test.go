package blob_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"portal/blob"
)

// TestCopy moves a directory's blobs into a bucket on the real SeaweedFS,
// as migrate-store does, and back into a new directory: everything
// arrives, verified, without any file held in memory whole; a non-empty
// target is refused, and a source blob that no longer matches its name
// stops the copy and leaves the target empty.
func TestCopy(t *testing.T) {
	bs := backends(t)
	dir, bucket := bs[0], bs[1]
	want := map[string]int64{}
	for _, data := range [][]byte{content, []byte("second synthetic document\n"), {}, bytes.Repeat([]byte("x"), 1<<20)} {
		tmp := put(t, dir.store, data)
		want[tmp.SHA256] = int64(len(data))
	}
	var seen int
	res, err := blob.Copy(t.Context(), bucket.store, dir.store, func(blob.Info) { seen++ })
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	var total int64
	for _, n := range want {
		total += n
	}
	if res.Blobs != len(want) || res.Bytes != total || seen != len(want) || len(res.Checksum) != 64 {
		t.Fatalf("Copy = %+v after %d progress calls, want %d blobs of %d bytes", res, seen, len(want), total)
	}
	got := map[string]int64{}
	for _, i := range list(t, bucket.store) {
		got[i.SHA256] = i.Size
	}
	if len(got) != len(want) {
		t.Fatalf("the bucket lists %v, want %v", got, want)
	}
	for h, n := range want {
		if got[h] != n {
			t.Errorf("blob %s: %d bytes in the bucket, want %d", h, got[h], n)
		}
	}
	if keys := bucket.keys(t); len(keys) != len(want) {
		t.Errorf("the bucket holds %q, want the %d blobs and no temporary key", keys, len(want))
	}

	// A second copy into the same bucket is refused.
	if _, err := blob.Copy(t.Context(), bucket.store, dir.store, nil); !errors.Is(err, blob.ErrNotEmpty) {
		t.Errorf("Copy into a non-empty bucket: %v, want ErrNotEmpty", err)
	}

	// And back, from the bucket into a new directory: the same set.
	back, _ := openDir(t)
	res2, err := blob.Copy(t.Context(), back, bucket.store, nil)
	if err != nil || res2 != res {
		t.Errorf("Copy from the bucket = %+v, %v; want %+v", res2, err, res)
	}

	// A big blob streams: Copy reads it twice (copy, then check) and Put
	// buffers one part at a time, far less than the blob itself.
	const big = 40 << 20
	bigDir, _ := openDir(t)
	tmp, err := bigDir.Put(t.Context(), &pattern{n: big}, big)
	if err != nil {
		t.Fatal(err)
	}
	if err := bigDir.Commit(t.Context(), tmp); err != nil {
		t.Fatal(err)
	}
	bigBucket := backends(t)[1]
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err = blob.Copy(t.Context(), bigBucket.store, bigDir, nil)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d MiB blob copied and checked with %.1f MiB allocated", big>>20, float64(alloc)/(1<<20))
	if err != nil || res.Bytes != big {
		t.Fatalf("Copy of a big blob = %+v, %v", res, err)
	}
	if alloc > big/2 {
		t.Errorf("copying a %d MiB blob allocated %d MiB: a file is held in memory", big>>20, alloc>>20)
	}

	// A source blob altered on disk is not copied under its name, and the
	// target is left as it was.
	bad, badDir := openDir(t)
	good := put(t, bad, content)
	spoilt := put(t, bad, []byte("a synthetic blob that is altered on disk\n"))
	if err := os.WriteFile(filepath.Join(badDir, spoilt.SHA256[:2], spoilt.SHA256), []byte("altered\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := backends(t)[1]
	_, err = blob.Copy(t.Context(), target.store, bad, nil)
	if err == nil || !strings.Contains(err.Error(), spoilt.SHA256) {
		t.Errorf("Copy of an altered blob: %v, want an error naming %s", err, spoilt.SHA256)
	}
	if keys := target.keys(t); len(keys) != 0 {
		t.Errorf("after the failed copy the target holds %q (the good blob %s among them?), want nothing", keys, good.SHA256)
	}
}
