package blob_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"portal/blob"
	"portal/blob/seaweedfs"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// files lists the regular files under dir, relative to it, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func openDir(t *testing.T) (*blob.Dir, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// weed is the SeaweedFS of this test binary, started on first use.
var weed seaweedfs.Once

// backend is one kind of store under test, empty at the start.
type backend struct {
	name  string
	store blob.Store
	// keys lists everything stored, temporary keys included.
	keys func(t *testing.T) []string
}

// backends returns a fresh local directory and a fresh bucket on the real
// SeaweedFS: the behaviour the research library relies on is the same.
func backends(t *testing.T) []backend {
	t.Helper()
	s, dir := openDir(t)
	local := backend{name: "dir", store: s, keys: func(t *testing.T) []string { return files(t, dir) }}
	p, err := weed.Get()
	if err != nil {
		t.Fatalf("SeaweedFS: %v", err)
	}
	bucket, err := p.MakeBucket(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := blob.OpenBucket(t.Context(), p.Config(bucket))
	if err != nil {
		t.Fatal(err)
	}
	client, err := p.Client()
	if err != nil {
		t.Fatal(err)
	}
	s3 := backend{name: "s3", store: b, keys: func(t *testing.T) []string {
		t.Helper()
		var out []string
		for o := range client.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out = append(out, o.Key)
		}
		for u := range client.ListIncompleteUploads(t.Context(), bucket, "", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			out = append(out, "unfinished upload of "+u.Key)
		}
		slices.Sort(out)
		return out
	}}
	return []backend{local, s3}
}

// each runs fn on every backend.
func each(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// put stores content and commits it.
func put(t *testing.T, s blob.Store, data []byte) blob.Temp {
	t.Helper()
	tmp, err := s.Put(t.Context(), bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Commit(t.Context(), tmp); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return tmp
}

func list(t *testing.T, s blob.Store) []blob.Info {
	t.Helper()
	var out []blob.Info
	if err := s.List(t.Context(), func(i blob.Info) error { out = append(out, i); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	return out
}

var content = []byte("Synthetic research document used by the blob store tests.\n")

func TestPutCommitOpen(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		tmp, err := b.store.Put(t.Context(), bytes.NewReader(content), int64(len(content)))
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if tmp.SHA256 != sum(content) || tmp.Size != int64(len(content)) || tmp.Key == "" {
			t.Fatalf("Put gave %+v, want the hash and size of the content", tmp)
		}
		// Before the commit only the temporary key exists.
		if got := b.keys(t); len(got) != 1 || strings.Contains(got[0], tmp.SHA256) {
			t.Fatalf("after Put the store holds %q, want one temporary key", got)
		}
		if _, err := b.store.Open(t.Context(), tmp.SHA256); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open before Commit: %v, want fs.ErrNotExist", err)
		}
		if err := b.store.Commit(t.Context(), tmp); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if got := b.keys(t); len(got) != 1 || !strings.HasSuffix(got[0], tmp.SHA256[:2]+"/"+tmp.SHA256) {
			t.Fatalf("after Commit the store holds %q, want the blob only", got)
		}
		f, err := b.store.Open(t.Context(), tmp.SHA256)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer f.Close()
		got, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
		// From an offset, as the PDF reader and ranged downloads read.
		part := make([]byte, 9)
		if _, err := f.ReadAt(part, 10); err != nil || !bytes.Equal(part, content[10:19]) {
			t.Fatalf("ReadAt(10) = %q, %v; want %q", part, err, content[10:19])
		}
		if n, err := f.Seek(0, io.SeekEnd); err != nil || n != int64(len(content)) {
			t.Fatalf("Seek to the end = %d, %v; want %d", n, err, len(content))
		}
		infos := list(t, b.store)
		if len(infos) != 1 || infos[0].SHA256 != tmp.SHA256 || infos[0].Size != tmp.Size || time.Since(infos[0].Modified) > time.Hour {
			t.Fatalf("List = %+v, want the one blob", infos)
		}
	})
}

func TestDirModes(t *testing.T) {
	s, dir := openDir(t)
	ref := put(t, s, content)
	for name, wantMode := range map[string]fs.FileMode{".": 0o700, ref.SHA256[:2]: 0o700, filepath.Join(ref.SHA256[:2], ref.SHA256): 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != wantMode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), wantMode)
		}
	}
}

func TestPutIdenticalStoredOnce(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		first := put(t, b.store, content)
		second := put(t, b.store, content)
		if first.SHA256 != second.SHA256 || first.Size != second.Size || first.Key == second.Key {
			t.Fatalf("got %+v then %+v; want the same blob under two temporary keys", first, second)
		}
		if got := b.keys(t); len(got) != 1 {
			t.Fatalf("store holds %q, want one blob", got)
		}
	})
}

func TestDiscard(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		tmp, err := b.store.Put(t.Context(), bytes.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.store.Discard(t.Context(), tmp); err != nil {
			t.Fatalf("Discard: %v", err)
		}
		if got := b.keys(t); len(got) != 0 {
			t.Fatalf("after Discard the store holds %q", got)
		}
		if err := b.store.Discard(t.Context(), blob.Temp{Key: "../" + sum(content)}); err == nil {
			t.Fatal("Discard took a key that is not a temporary one")
		}
	})
}

func TestPutLimit(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		max := int64(len(content))
		if _, err := b.store.Put(t.Context(), bytes.NewReader(append(content, 'x')), max); !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("Put of %d bytes with limit %d: got %v, want ErrTooLarge", max+1, max, err)
		}
		if got := b.keys(t); len(got) != 0 {
			t.Fatalf("refused Put left %q", got)
		}
		if _, err := b.store.Put(t.Context(), bytes.NewReader(content), max); err != nil {
			t.Fatalf("Put of exactly the limit: %v", err)
		}
		empty, err := b.store.Put(t.Context(), strings.NewReader(""), 0)
		if err != nil {
			t.Fatalf("Put of nothing: %v", err)
		}
		if err := b.store.Commit(t.Context(), empty); err != nil {
			t.Fatalf("Commit of nothing: %v", err)
		}
	})
}

// pattern yields n bytes that do not compress to nothing, without holding
// them.
type pattern struct{ n, i int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.i >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.i)]
	for k := range b {
		x := p.i + int64(k)
		b[k] = byte(x ^ x>>8 ^ x>>16)
	}
	p.i += int64(len(b))
	return len(b), nil
}

// TestStreaming checks that a large file passes through in both
// directions without being held in memory: what the process allocates for
// a 48 MiB round trip stays far below 48 MiB.
func TestStreaming(t *testing.T) {
	const size = 48 << 20
	each(t, func(t *testing.T, b backend) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tmp, err := b.store.Put(t.Context(), &pattern{n: size}, size)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := b.store.Commit(t.Context(), tmp); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		f, err := b.store.Open(t.Context(), tmp.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != tmp.SHA256 {
			t.Fatalf("read back %d bytes, %v; want %d with the stored hash", n, err, size)
		}
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d MiB through, %.1f MiB allocated", b.name, size>>20, float64(alloc)/(1<<20))
		if alloc > size/2 {
			t.Fatalf("a %d MiB round trip allocated %d MiB: the file is held in memory", size>>20, alloc>>20)
		}
	})
}

func TestPutConcurrent(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tmp, err := b.store.Put(context.Background(), bytes.NewReader(content), 1<<20)
				if err == nil {
					err = b.store.Commit(context.Background(), tmp)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Put %d: %v", i, errs[i])
			}
		}
		if got := b.keys(t); len(got) != 1 {
			t.Fatalf("store holds %q, want one blob", got)
		}
	})
}

// failingReader yields data, then fails.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestPutReaderFails(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		broken := errors.New("connection reset (synthetic)")
		_, err := b.store.Put(t.Context(), &failingReader{data: content[:len(content)/2], err: broken}, 1<<20)
		if !errors.Is(err, broken) {
			t.Fatalf("got %v, want the reader's error", err)
		}
		if got := b.keys(t); len(got) != 0 {
			t.Fatalf("failed Put left %q", got)
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := b.store.Put(ctx, bytes.NewReader(content), 1<<20); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with a canceled context: got %v, want context.Canceled", err)
		}
		if got := b.keys(t); len(got) != 0 {
			t.Fatalf("canceled Put left %q", got)
		}
	})
}

// TestCleanTemp: a temporary key written before the cut-off goes, a newer
// one stays, and a committed blob is never touched.
func TestCleanTemp(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		kept := put(t, b.store, content)
		if _, err := b.store.Put(t.Context(), strings.NewReader("left behind"), 1<<20); err != nil {
			t.Fatal(err)
		}
		if n, err := b.store.CleanTemp(t.Context(), time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("CleanTemp of older keys = %d, %v; want 0 removed", n, err)
		}
		if got := b.keys(t); len(got) != 2 {
			t.Fatalf("store holds %q, want the blob and the recent temporary key", got)
		}
		if n, err := b.store.CleanTemp(t.Context(), time.Now().Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("CleanTemp = %d, %v; want 1 removed", n, err)
		}
		if got := b.keys(t); len(got) != 1 || !strings.HasSuffix(got[0], kept.SHA256) {
			t.Fatalf("after CleanTemp the store holds %q, want the blob only", got)
		}
	})
}

// childEnv makes the test binary act as a process that is killed in the
// middle of a Put into the store named by the variable's value.
const childEnv = "BLOB_TEST_KILLED_PUT_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		killedPut(dir)
		return
	}
	code := m.Run()
	weed.Stop()
	os.Exit(code)
}

// killedPut puts half of content, says so on stdout and waits to be killed.
func killedPut(dir string) {
	s, err := blob.OpenDir(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	s.Put(context.Background(), io.MultiReader(bytes.NewReader(content[:len(content)/2]), haltingReader{}), 1<<20)
	fmt.Println("error: Put returned")
	os.Exit(1)
}

// haltingReader reports on stdout and blocks for ever. Put's copy writes
// what it read before it reads again, so by then the first half is in the
// temporary file.
type haltingReader struct{}

func (haltingReader) Read([]byte) (int, error) {
	fmt.Println("half written")
	// A sleep rather than select{}, which the runtime would end as a
	// deadlock instead of waiting for the kill.
	time.Sleep(time.Hour)
	return 0, io.ErrUnexpectedEOF
}

func TestPutKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := filepath.Join(t.TempDir(), "blobs")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "half written\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// The kill left a temporary file and no blob.
	left := files(t, dir)
	if len(left) != 1 || !strings.HasPrefix(left[0], ".tmp-") {
		t.Fatalf("after the kill the store holds %q, want one temporary file", left)
	}
	s, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Open(t.Context(), sum(content)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the killed Put stored a blob: %v", err)
	}

	// A recent temporary file may belong to a Put in progress: kept.
	if _, err := s.CleanTemp(t.Context(), time.Now().Add(-time.Minute)); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	if got := files(t, dir); !slices.Equal(got, left) {
		t.Fatalf("CleanTemp removed a recent temporary file: store holds %q", got)
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(filepath.Join(dir, left[0]), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CleanTemp(t.Context(), time.Now().Add(-time.Minute)); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("after CleanTemp the store holds %q", got)
	}
}

func TestInvalidHash(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		valid := sum(content)
		for _, h := range []string{
			"../etc/passwd",
			"",
			strings.ToUpper(valid),
			valid[:63],
			valid + "0",
			"ab/../../../../etc/passwd" + valid[25:],
			valid[:62] + "/x",
			valid[:63] + "\x00",
		} {
			if _, err := b.store.Open(t.Context(), h); !errors.Is(err, blob.ErrInvalidHash) {
				t.Errorf("Open(%q): got %v, want ErrInvalidHash", h, err)
			}
			if err := b.store.Remove(t.Context(), h); !errors.Is(err, blob.ErrInvalidHash) {
				t.Errorf("Remove(%q): got %v, want ErrInvalidHash", h, err)
			}
			if err := b.store.Commit(t.Context(), blob.Temp{Key: "x", SHA256: h}); !errors.Is(err, blob.ErrInvalidHash) {
				t.Errorf("Commit(%q): got %v, want ErrInvalidHash", h, err)
			}
		}
		if _, err := b.store.Open(t.Context(), valid); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open of a missing blob: got %v, want fs.ErrNotExist", err)
		}
	})
}

func TestSymlinkOutOfStore(t *testing.T) {
	s, dir := openDir(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("outside the store"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := sum([]byte("anything"))
	if err := os.MkdirAll(filepath.Join(dir, h[:2]), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, h[:2], h)); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Open(t.Context(), h); err == nil {
		f.Close()
		t.Fatal("Open followed a symbolic link out of the store")
	}
}

func TestRemove(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		ref := put(t, b.store, content)
		if err := b.store.Remove(t.Context(), ref.SHA256); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if _, err := b.store.Open(t.Context(), ref.SHA256); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open after Remove: %v, want fs.ErrNotExist", err)
		}
		if err := b.store.Remove(t.Context(), ref.SHA256); err != nil {
			t.Errorf("Remove of a missing blob: %v", err)
		}
		if got := b.keys(t); len(got) != 0 {
			t.Errorf("store holds %q", got)
		}
		if infos := list(t, b.store); len(infos) != 0 {
			t.Errorf("List after Remove = %+v", infos)
		}
		// Stored again after removal.
		put(t, b.store, content)
		if infos := list(t, b.store); len(infos) != 1 {
			t.Errorf("List after a new Put = %+v", infos)
		}
	})
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		url   string
		isDir bool
		bad   string
	}{
		{url: "", isDir: true},
		{url: filepath.Join(dir, "a"), isDir: true},
		{url: "file://" + filepath.Join(dir, "b"), isDir: true},
		{url: "s3://key:secret@bucket/p?endpoint=127.0.0.1:1", bad: "credentials"},
		{url: "s3:///p", bad: "no bucket"},
		{url: "s3://bucket/p?endpoint=127.0.0.1:1&acl=public-read", bad: "unknown parameter"},
		{url: "s3://bucket/p?tls=maybe", bad: "tls"},
		{url: "gs://bucket", bad: "unknown scheme"},
	} {
		s, err := blob.OpenURL(t.Context(), tc.url, filepath.Join(dir, "default"), "key", "secret")
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) || strings.Contains(err.Error(), "secret") {
				t.Errorf("OpenURL(%q) = %v; want an error about %s that does not repeat the secret", tc.url, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("OpenURL(%q): %v", tc.url, err)
			continue
		}
		if _, ok := s.(*blob.Dir); !ok {
			t.Errorf("OpenURL(%q) gave %T, want a directory", tc.url, s)
		}
		s.Close()
	}
	cfg, err := blob.ParseBucketURL("s3://originals/portal/a?endpoint=127.0.0.1:9000&region=eu-west-1&tls=false")
	want := blob.BucketConfig{Endpoint: "127.0.0.1:9000", Region: "eu-west-1", Bucket: "originals", Prefix: "portal/a/"}
	if err != nil || cfg != want {
		t.Errorf("ParseBucketURL = %+v, %v; want %+v", cfg, err, want)
	}
}
