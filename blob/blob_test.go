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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/blob"
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

func openStore(t *testing.T) (*blob.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := blob.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

var content = []byte("Synthetic research document used by the blob store tests.\n")

func TestPutOpen(t *testing.T) {
	s, dir := openStore(t)
	ref, err := s.Put(t.Context(), bytes.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	want := blob.Ref{SHA256: sum(content), Size: int64(len(content)), Created: true}
	if ref != want {
		t.Fatalf("got %+v, want %+v", ref, want)
	}
	if got, want := files(t, dir), []string{filepath.Join(ref.SHA256[:2], ref.SHA256)}; !slices.Equal(got, want) {
		t.Fatalf("store holds %q, want %q", got, want)
	}
	for name, wantMode := range map[string]fs.FileMode{".": 0o700, ref.SHA256[:2]: 0o700, filepath.Join(ref.SHA256[:2], ref.SHA256): 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != wantMode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), wantMode)
		}
	}

	f, err := s.Open(ref.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %q, %v; want %q", got, err, content)
	}
	if ok, err := s.Has(ref.SHA256); !ok || err != nil {
		t.Errorf("Has = %v, %v; want true", ok, err)
	}
}

func TestPutIdenticalStoredOnce(t *testing.T) {
	s, dir := openStore(t)
	first, err := s.Put(t.Context(), bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Put(t.Context(), bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || second.Created || first.SHA256 != second.SHA256 || first.Size != second.Size {
		t.Fatalf("got %+v then %+v; want the same blob, created once", first, second)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("store holds %q, want one file", got)
	}
}

func TestPutLimit(t *testing.T) {
	s, dir := openStore(t)
	max := int64(len(content))
	if _, err := s.Put(t.Context(), bytes.NewReader(append(content, 'x')), max); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("Put of %d bytes with limit %d: got %v, want ErrTooLarge", max+1, max, err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("refused Put left %q", got)
	}
	if _, err := s.Put(t.Context(), bytes.NewReader(content), max); err != nil {
		t.Fatalf("Put of exactly the limit: %v", err)
	}
	if _, err := s.Put(t.Context(), strings.NewReader(""), 0); err != nil {
		t.Fatalf("Put of nothing: %v", err)
	}
}

func TestPutConcurrent(t *testing.T) {
	s, dir := openStore(t)
	const n = 16
	refs := make([]blob.Ref, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			refs[i], errs[i] = s.Put(context.Background(), bytes.NewReader(content), 1<<20)
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if refs[i].SHA256 != sum(content) {
			t.Fatalf("Put %d: hash %s", i, refs[i].SHA256)
		}
		if refs[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d Puts report Created, want exactly 1", created)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("store holds %q, want one file", got)
	}
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
	s, dir := openStore(t)
	broken := errors.New("connection reset (synthetic)")
	_, err := s.Put(t.Context(), &failingReader{data: content[:len(content)/2], err: broken}, 1<<20)
	if !errors.Is(err, broken) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("failed Put left %q", got)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, bytes.NewReader(content), 1<<20); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a canceled context: got %v, want context.Canceled", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("canceled Put left %q", got)
	}
}

// childEnv makes the test binary act as a process that is killed in the
// middle of a Put into the store named by the variable's value.
const childEnv = "BLOB_TEST_KILLED_PUT_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		killedPut(dir)
		return
	}
	os.Exit(m.Run())
}

// killedPut puts half of content, says so on stdout and waits to be killed.
func killedPut(dir string) {
	s, err := blob.Open(dir)
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
	s, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, _ := s.Has(sum(content)); ok {
		t.Fatal("the killed Put stored a blob")
	}

	// A recent temporary file may belong to a Put in progress: kept.
	if err := s.CleanTemp(); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	if got := files(t, dir); !slices.Equal(got, left) {
		t.Fatalf("CleanTemp removed a recent temporary file: store holds %q", got)
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(filepath.Join(dir, left[0]), old, old); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanTemp(); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("after CleanTemp the store holds %q", got)
	}
}

func TestInvalidHash(t *testing.T) {
	s, _ := openStore(t)
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
		if _, err := s.Open(h); !errors.Is(err, blob.ErrInvalidHash) {
			t.Errorf("Open(%q): got %v, want ErrInvalidHash", h, err)
		}
		if _, err := s.Has(h); !errors.Is(err, blob.ErrInvalidHash) {
			t.Errorf("Has(%q): got %v, want ErrInvalidHash", h, err)
		}
		if err := s.Remove(h); !errors.Is(err, blob.ErrInvalidHash) {
			t.Errorf("Remove(%q): got %v, want ErrInvalidHash", h, err)
		}
	}
	if _, err := s.Open(valid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing blob: got %v, want fs.ErrNotExist", err)
	}
}

func TestSymlinkOutOfStore(t *testing.T) {
	s, dir := openStore(t)
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
	if f, err := s.Open(h); err == nil {
		f.Close()
		t.Fatal("Open followed a symbolic link out of the store")
	}
}

func TestRemove(t *testing.T) {
	s, dir := openStore(t)
	ref, err := s.Put(t.Context(), bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ref.SHA256); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if ok, err := s.Has(ref.SHA256); ok || err != nil {
		t.Errorf("Has after Remove = %v, %v; want false", ok, err)
	}
	if err := s.Remove(ref.SHA256); err != nil {
		t.Errorf("Remove of a missing blob: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("store holds %q", got)
	}
	// Stored again after removal: created anew.
	again, err := s.Put(t.Context(), bytes.NewReader(content), 1<<20)
	if err != nil || !again.Created {
		t.Errorf("Put after Remove = %+v, %v; want created", again, err)
	}
}
