package research_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/blob"
	"portal/blob/seaweedfs"
	"portal/extract"
	"portal/extract/extracttest"
	"portal/research"
	"portal/store"
	"portal/store/storetest"
)

// The PDFium pool takes seconds to start, so the tests share one.
var extractor *extract.Extractor

func TestMain(m *testing.M) {
	var err error
	extractor, err = extract.New(context.Background(), extract.Options{CacheDir: extracttest.CacheDir()})
	if err != nil {
		log.Fatalf("start extractor: %v", err)
	}
	code := storetest.Main(m)
	extractor.Close()
	weed.Stop()
	os.Exit(code)
}

// call is one call the recording indexer received.
type call struct {
	Op       string // "index" or "delete"
	ID       string
	Groups   []string
	TLP      access.TLP
	Version  int
	Passages []string
}

func (c call) String() string {
	return fmt.Sprintf("%s %s v%d %v %s", c.Op, c.ID, c.Version, c.Groups, c.TLP)
}

// recIndexer records calls and keeps what a real index would hold. It is a
// stand-in for Meilisearch in these tests of ordering and state; the
// integration tests run the real one.
type recIndexer struct {
	mu    sync.Mutex
	calls []call
	docs  map[string]int // id → indexed version
	fail  error
	// block, when set, holds each call until it is closed; blocked counts
	// the calls it holds.
	block   chan struct{}
	blocked int
}

func newRecIndexer() *recIndexer { return &recIndexer{docs: map[string]int{}} }

func (r *recIndexer) IndexDocument(ctx context.Context, d research.Document, ps []research.Passage) error {
	r.wait(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	c := call{Op: "index", ID: d.ID, Groups: slices.Clone(d.AccessGroups), TLP: d.TLP, Version: d.CurrentVersion}
	for _, p := range ps {
		c.Passages = append(c.Passages, p.Text)
	}
	r.calls = append(r.calls, c)
	if r.fail != nil {
		return r.fail
	}
	r.docs[d.ID] = d.CurrentVersion
	return nil
}

func (r *recIndexer) DeleteDocument(ctx context.Context, id string) error {
	r.wait(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{Op: "delete", ID: id})
	if r.fail != nil {
		return r.fail
	}
	delete(r.docs, id)
	return nil
}

// Rebuild loads a new set of documents that replaces the live one on Swap,
// confirming each record as it is added.
func (r *recIndexer) Rebuild(ctx context.Context, confirmed func(records int)) (research.IndexBuild, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	return &recBuild{r: r, docs: map[string]int{}, confirmed: confirmed}, nil
}

type recBuild struct {
	r         *recIndexer
	docs      map[string]int
	confirmed func(int)
}

func (b *recBuild) Add(ctx context.Context, d research.Document, ps []research.Passage) error {
	b.r.mu.Lock()
	b.r.calls = append(b.r.calls, call{Op: "build", ID: d.ID, Groups: slices.Clone(d.AccessGroups), TLP: d.TLP, Version: d.CurrentVersion})
	fail := b.r.fail
	b.r.mu.Unlock()
	if fail != nil {
		return fail
	}
	b.docs[d.ID] = d.CurrentVersion
	if b.confirmed != nil {
		b.confirmed(len(b.docs))
	}
	return nil
}

func (b *recBuild) Remove(ctx context.Context, ids []string) error {
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	for _, id := range ids {
		b.r.calls = append(b.r.calls, call{Op: "remove", ID: id})
		delete(b.docs, id)
	}
	return b.r.fail
}

func (b *recBuild) Wait(ctx context.Context) error {
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	return b.r.fail
}

func (b *recBuild) Swap(ctx context.Context) error {
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	if b.r.fail != nil {
		return b.r.fail
	}
	b.r.calls = append(b.r.calls, call{Op: "swap"})
	b.r.docs = b.docs
	return nil
}

func (b *recBuild) Close(ctx context.Context) error { return nil }

func (r *recIndexer) wait(ctx context.Context) {
	r.mu.Lock()
	b := r.block
	r.mu.Unlock()
	if b != nil {
		r.mu.Lock()
		r.blocked++
		r.mu.Unlock()
		select {
		case <-b:
		case <-ctx.Done():
		}
	}
}

func (r *recIndexer) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// take returns the calls so far and forgets them.
func (r *recIndexer) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recIndexer) checksum() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return research.IndexChecksum(r.docs)
}

type env struct {
	t       *testing.T
	db      *store.DB
	svc     *research.Service
	idx     *recIndexer
	audit   *audit.Log
	blobs   blob.Store
	blobDir string // "" on S3
	// s3 and bucket, on S3, list the bucket beside the store.
	s3     *minio.Client
	bucket string
	c      account.Client
}

var testNow = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, tweak ...func(*research.Options)) *env {
	t.Helper()
	idx := newRecIndexer()
	e := newEnvWith(t, idx, tweak...)
	e.idx = idx
	return e
}

// newEnvWith is newEnv with another indexer; e.idx is then nil.
func newEnvWith(t *testing.T, idx research.Indexer, tweak ...func(*research.Options)) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	blobs, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, blobs, idx, tweak...)
	e.blobDir = dir
	return e
}

// weed is the SeaweedFS of this test binary, started on first use.
var weed seaweedfs.Once

// newEnvS3 is newEnv with the originals in a new bucket on SeaweedFS.
func newEnvS3(t *testing.T, tweak ...func(*research.Options)) *env {
	t.Helper()
	p, err := weed.Get()
	if err != nil {
		t.Fatalf("SeaweedFS: %v", err)
	}
	bucket, err := p.MakeBucket(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.OpenBucket(t.Context(), p.Config(bucket))
	if err != nil {
		t.Fatal(err)
	}
	idx := newRecIndexer()
	e := newEnvOn(t, blobs, idx, tweak...)
	e.idx = idx
	e.bucket = bucket
	if e.s3, err = p.Client(); err != nil {
		t.Fatal(err)
	}
	return e
}

// tempsOnS3 counts the temporary objects and unfinished uploads in the
// bucket: everything but the committed blobs.
func (e *env) tempsOnS3() int {
	e.t.Helper()
	n := 0
	for o := range e.s3.ListObjects(e.ctx(), e.bucket, minio.ListObjectsOptions{Prefix: "tmp/", Recursive: true}) {
		if o.Err != nil {
			e.t.Fatal(o.Err)
		}
		n++
	}
	for u := range e.s3.ListIncompleteUploads(e.ctx(), e.bucket, "", true) {
		if u.Err != nil {
			e.t.Fatal(u.Err)
		}
		n++
	}
	return n
}

// eachStore runs fn with the originals in a local directory and in a
// bucket: newEnv makes the environment on each.
func eachStore(t *testing.T, fn func(t *testing.T, newEnv func(t *testing.T, tweak ...func(*research.Options)) *env)) {
	t.Run("dir", func(t *testing.T) { fn(t, newEnv) })
	t.Run("s3", func(t *testing.T) { fn(t, newEnvS3) })
}

// newEnvOn makes an environment over blobs.
func newEnvOn(t *testing.T, blobs blob.Store, idx research.Indexer, tweak ...func(*research.Options)) *env {
	t.Helper()
	db := storetest.Open(t)
	e := &env{t: t, db: db, blobs: blobs, c: account.Client{IP: "192.0.2.9", UserAgent: "test"}}
	t.Cleanup(func() { blobs.Close() })
	e.audit = audit.New(db, func() time.Time { return testNow })
	opts := research.Options{
		Now:    func() time.Time { return testNow },
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, f := range tweak {
		f(&opts)
	}
	var err error
	if e.svc, err = research.New(db.Research(), blobs, extractor, idx, e.audit, opts); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) ctx() context.Context { return context.Background() }

// user creates a member with the given role and groups ("members" is
// always added).
func (e *env) user(name string, role account.Role, groups ...string) *account.User {
	e.t.Helper()
	u := account.User{ID: "user-" + name, Email: name + "@example.org", DisplayName: name, Role: role,
		Groups: append([]string{account.GroupMembers}, groups...), MFAEnrolled: true, CreatedAt: testNow, UpdatedAt: testNow}
	slices.Sort(u.Groups)
	err := e.db.Update(e.ctx(), func(tx account.Tx) error {
		return tx.InsertUser(e.ctx(), &account.UserRecord{User: u, PasswordHash: "x"})
	})
	if err != nil {
		e.t.Fatalf("insert user %s: %v", name, err)
	}
	return &u
}

func meta(groups []string, tlp access.TLP) research.Metadata {
	return research.Metadata{
		Title:        "Synthetic study of reporting channels",
		Authors:      []string{"A. Tester", "B. Example"},
		Organisation: "Test organisation",
		Abstract:     "Synthetic abstract for tests.",
		Year:         2024,
		Language:     "en",
		Type:         research.TypeStudy,
		Topics:       []string{"victim-identification", "hotlines-and-reporting"},
		Countries:    []string{"FR", "BR"},
		Regions:      []string{"europe"},
		AccessGroups: groups,
		TLP:          tlp,
	}
}

var synthPages = []string{
	"Synthetic page one about cooperation between hotlines.",
	"Synthetic page two about victim identification workflows.",
	"Synthetic page three with the canary word zebrafinch.",
}

func (e *env) upload(u *account.User, m research.Metadata, name string, body []byte) research.Document {
	e.t.Helper()
	d, err := e.svc.Upload(e.ctx(), u, m, name, bytes.NewReader(body), e.c)
	if err != nil {
		e.t.Fatalf("Upload: %v", err)
	}
	return d
}

// blobFiles counts the files in the blob store, temporary ones included.
func (e *env) blobFiles() int {
	e.t.Helper()
	if e.blobDir == "" {
		// In a bucket: the committed blobs, and the temporary objects
		// CleanTemp would remove now.
		n := 0
		if err := e.blobs.List(e.ctx(), func(blob.Info) error { n++; return nil }); err != nil {
			e.t.Fatal(err)
		}
		return n + e.tempsOnS3()
	}
	n := 0
	err := filepath.WalkDir(e.blobDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) count() int {
	e.t.Helper()
	n, err := e.svc.Count(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// audits returns the audit entries with this action, oldest first.
func (e *env) audits(action string) []audit.Entry {
	e.t.Helper()
	es, _, err := e.audit.List(e.ctx(), audit.Filter{Action: action, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(es)
	return es
}

func TestUploadPDFRecordsPassagesPerPage(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember, "vid")
	pdf := extracttest.PDF(t, synthPages)
	d := e.upload(alice, meta([]string{"vid"}, access.Amber), "report.pdf", pdf)

	if d.IndexState != research.IndexIndexed || d.CurrentVersion != 1 || d.UploaderID != alice.ID || len(d.ID) != 32 {
		t.Fatalf("uploaded document = %+v", d)
	}
	got, vs, err := e.svc.Get(e.ctx(), alice, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != d.Title || got.IndexState != research.IndexIndexed || !slices.Equal(got.Countries, []string{"BR", "FR"}) {
		t.Fatalf("Get = %+v", got)
	}
	if len(vs) != 1 || vs[0].Kind != extract.KindPDF || vs[0].Pages != 3 || vs[0].Size != int64(len(pdf)) ||
		vs[0].Filename != "report.pdf" || vs[0].UploadedBy != alice.ID || len(vs[0].SHA256) != 64 {
		t.Fatalf("versions = %+v", vs)
	}
	ps, err := e.svc.Passages(e.ctx(), d.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("got %d passages, want 3", len(ps))
	}
	for i, p := range ps {
		if p.Number != i+1 || !strings.Contains(p.Text, strings.Fields(synthPages[i])[2]) {
			t.Errorf("passage %d = %+v, want page %d's text", i, p, i+1)
		}
	}
	calls := e.idx.take()
	if len(calls) != 1 || calls[0].Op != "index" || calls[0].ID != d.ID || len(calls[0].Passages) != 3 ||
		!strings.Contains(calls[0].Passages[2], "zebrafinch") {
		t.Fatalf("index calls = %v", calls)
	}
	ups := e.audits(research.ActionUpload)
	if len(ups) != 1 || ups[0].Outcome != audit.OutcomeSuccess || ups[0].Target != d.ID ||
		!strings.Contains(ups[0].Detail, vs[0].SHA256[:12]) || !strings.Contains(ups[0].Detail, "pdf") ||
		!strings.Contains(ups[0].Detail, fmt.Sprint(len(pdf))) || ups[0].IP != e.c.IP {
		t.Fatalf("upload audit = %+v", ups)
	}
}

func TestUploadFilenameSanitisedAndKindFromContent(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember)
	// A PDF named like an HTML page is a PDF, and keeps a .pdf name.
	d := e.upload(alice, meta([]string{"members"}, access.Green), `../../etc/"evil".html`, extracttest.PDF(t, synthPages[:1]))
	_, vs, err := e.svc.Get(e.ctx(), alice, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if vs[0].Kind != extract.KindPDF || vs[0].Filename != "evil.html.pdf" {
		t.Fatalf("version = %+v, want a PDF named evil.html.pdf", vs[0])
	}
	// Markdown and DOCX are accepted too.
	md := e.upload(alice, meta([]string{"members"}, access.Green), "notes.md", []byte("# Synthetic notes\n\nSome synthetic text.\n"))
	docx := e.upload(alice, meta([]string{"members"}, access.Green), "brief", extracttest.DOCX(t, "Synthetic brief", []string{"Synthetic paragraph."}))
	for _, tc := range []struct {
		id   string
		kind extract.Kind
		name string
	}{{md.ID, extract.KindMarkdown, "notes.md"}, {docx.ID, extract.KindDOCX, "brief.docx"}} {
		_, vs, err := e.svc.Get(e.ctx(), alice, tc.id)
		if err != nil || vs[0].Kind != tc.kind || vs[0].Filename != tc.name {
			t.Errorf("Get(%s) = %+v, %v; want kind %s named %s", tc.name, vs, err, tc.kind, tc.name)
		}
	}
}

func TestUploadGrantingForeignGroupIsForbidden(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember, "vid")
	_, err := e.svc.Upload(e.ctx(), alice, meta([]string{"vid", "blocking"}, access.Amber), "a.pdf",
		bytes.NewReader(extracttest.PDF(t, synthPages)), e.c)
	var fe *research.ForbiddenError
	if !errors.Is(err, research.ErrForbidden) || !errors.As(err, &fe) || !strings.Contains(fe.Reason, "blocking") {
		t.Fatalf("got %v, want a ForbiddenError naming the group", err)
	}
	if n := e.count(); n != 0 {
		t.Errorf("%d documents stored, want 0", n)
	}
	if n := e.blobFiles(); n != 0 {
		t.Errorf("%d blob files stored, want 0", n)
	}
	if calls := e.idx.take(); len(calls) != 0 {
		t.Errorf("index calls %v, want none", calls)
	}
	if d := e.audits(audit.ActionAccessDenied); len(d) != 1 || d[0].Actor != alice.ID {
		t.Errorf("access.denied audit = %+v", d)
	}

	// Admins may grant any group.
	admin := e.user("admin", account.RoleAdmin)
	e.upload(admin, meta([]string{"vid", "blocking"}, access.Amber), "a.pdf", extracttest.PDF(t, synthPages))
}

func TestRejectedFilesStoreNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(t *testing.T, tweak ...func(*research.Options)) *env) {
		e := newEnv(t, func(o *research.Options) { o.MaxUploadBytes = 64 << 10 })
		alice := e.user("alice", account.RoleMember)
		good := extracttest.PDF(t, synthPages)
		tests := []struct {
			name string
			body []byte
			want error
		}{
			{"truncated pdf", good[:len(good)/2], research.ErrUnparsable},
			{"pdf header only", []byte("%PDF-1.7\n"), research.ErrUnparsable},
			{"html named pdf", []byte("<!doctype html><script>alert(1)</script>"), research.ErrUnsupportedType},
			{"binary", []byte{0x7f, 'E', 'L', 'F', 0, 0, 1, 2}, research.ErrUnsupportedType},
			{"empty", nil, research.ErrUnsupportedType},
			{"zip not docx", zipOf(t), research.ErrUnsupportedType},
			{"truncated docx", docxHalf(t), research.ErrUnparsable},
			{"too large", bytes.Repeat([]byte("synthetic text "), 10<<10), research.ErrTooLarge},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.Upload(e.ctx(), alice, meta([]string{"members"}, access.Green), "file.pdf",
					bytes.NewReader(tt.body), e.c)
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				if tt.want == research.ErrUnsupportedType && !errors.Is(err, extract.ErrUnsupported) {
					t.Errorf("%v does not wrap extract.ErrUnsupported", err)
				}
				if n := e.count(); n != 0 {
					t.Errorf("%d documents stored, want 0", n)
				}
				if n := e.blobFiles(); n != 0 {
					t.Errorf("%d blob files left, want 0", n)
				}
				if calls := e.idx.take(); len(calls) != 0 {
					t.Errorf("index calls %v, want none", calls)
				}
			})
		}
		if fails := e.audits(research.ActionUpload); len(fails) != len(tests) || fails[0].Outcome != audit.OutcomeFailure {
			t.Errorf("upload audits = %+v, want %d failures", fails, len(tests))
		}
	})
}

// docxHalf returns the first half of a DOCX file.
func docxHalf(t *testing.T) []byte {
	docx := extracttest.DOCX(t, "Synthetic", []string{"Synthetic."})
	return docx[:len(docx)/2]
}

// zipOf returns a ZIP archive that is not a Word document.
func zipOf(t *testing.T) []byte {
	t.Helper()
	// A DOCX without its main part is an ordinary ZIP archive.
	docx := extracttest.DOCX(t, "Synthetic", []string{"Synthetic."})
	return bytes.Replace(docx, []byte("word/document.xml"), []byte("word/documenX.xml"), -1)
}

// TestFailureAfterStoringFile fails uploads after their file is stored (the
// uploader is unknown to the database, so the insert fails): a new file is
// removed, a file that another record uses is kept.
func TestFailureAfterStoringFile(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(t *testing.T, tweak ...func(*research.Options)) *env) {
		e := newEnv(t)
		alice := e.user("alice", account.RoleMember)
		ghost := &account.User{ID: "user-ghost", Email: "ghost@example.org", Role: account.RoleMember, Groups: []string{"members"}}
		pdf := extracttest.PDF(t, synthPages)
		first := e.upload(alice, meta([]string{"members"}, access.Green), "a.pdf", pdf)
		e.idx.take()

		if _, err := e.svc.Upload(e.ctx(), ghost, meta([]string{"members"}, access.Green), "a.pdf", bytes.NewReader(pdf), e.c); err == nil {
			t.Fatal("upload by an unknown user succeeded")
		}
		_, _, f, err := e.svc.OpenVersion(e.ctx(), alice, first.ID, 0, e.c)
		if err != nil {
			t.Fatalf("the first upload's file is gone: %v", err)
		}
		f.Close()

		if _, err := e.svc.Upload(e.ctx(), ghost, meta([]string{"members"}, access.Green), "b.md", strings.NewReader("# Synthetic B\n"), e.c); err == nil {
			t.Fatal("upload by an unknown user succeeded")
		}
		if n := e.blobFiles(); n != 1 {
			t.Errorf("%d blob files, want only the first upload's", n)
		}
		if n := e.count(); n != 1 {
			t.Errorf("Count = %d, want 1", n)
		}
		if calls := e.idx.take(); len(calls) != 0 {
			t.Errorf("index calls %v, want none", calls)
		}
	})
}

// TestConcurrentIdenticalUploads runs succeeding and failing uploads of the
// same bytes at once: every stored record must keep its file.
func TestConcurrentIdenticalUploads(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(t *testing.T, tweak ...func(*research.Options)) *env) {
		e := newEnv(t, func(o *research.Options) { o.MaxConcurrentUploads = 8; o.UploadWait = time.Minute })
		alice := e.user("alice", account.RoleMember)
		ghost := &account.User{ID: "user-ghost", Email: "ghost@example.org", Role: account.RoleMember, Groups: []string{"members"}}
		body := []byte("# Synthetic shared file\n\nSame bytes for everyone.\n")
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids []string
		)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := alice
				if i%2 == 1 {
					u = ghost
				}
				d, err := e.svc.Upload(e.ctx(), u, meta([]string{"members"}, access.Green), "s.md", bytes.NewReader(body), e.c)
				if err == nil {
					mu.Lock()
					ids = append(ids, d.ID)
					mu.Unlock()
				} else if u == alice && !errors.Is(err, research.ErrBusy) {
					t.Errorf("upload: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(ids) == 0 {
			t.Fatal("no upload succeeded")
		}
		for _, id := range ids {
			_, _, f, err := e.svc.OpenVersion(e.ctx(), alice, id, 0, e.c)
			if err != nil {
				t.Fatalf("record %s lost its file: %v", id, err)
			}
			f.Close()
		}
		if n := e.blobFiles(); n != 1 {
			t.Errorf("%d blob files, want 1", n)
		}
	})
}

func TestIdenticalUploadsShareBlob(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(t *testing.T, tweak ...func(*research.Options)) *env) {
		e := newEnv(t)
		alice := e.user("alice", account.RoleMember)
		bob := e.user("bob", account.RoleMember)
		pdf := extracttest.PDF(t, synthPages)
		a := e.upload(alice, meta([]string{"members"}, access.Green), "a.pdf", pdf)
		b := e.upload(bob, meta([]string{"members"}, access.Green), "b.pdf", pdf)
		if a.ID == b.ID {
			t.Fatal("two uploads got the same record")
		}
		_, va, _ := e.svc.Get(e.ctx(), alice, a.ID)
		_, vb, _ := e.svc.Get(e.ctx(), bob, b.ID)
		if va[0].SHA256 != vb[0].SHA256 {
			t.Fatalf("hashes differ: %s, %s", va[0].SHA256, vb[0].SHA256)
		}
		if n := e.blobFiles(); n != 1 {
			t.Fatalf("%d blob files, want 1", n)
		}
	})
}

func TestVisibility(t *testing.T) {
	e := newEnv(t)
	uploader := e.user("uploader", account.RoleMember, "x")
	inX := e.user("inx", account.RoleMember, "x")
	inY := e.user("iny", account.RoleMember, "y")
	membersOnly := e.user("plain", account.RoleMember)
	// Admins are inside the rule: one outside x sees neither record, one
	// in x sees both, exactly like members.
	admin := e.user("admin", account.RoleAdmin)
	adminX := e.user("adminx", account.RoleAdmin, "x")
	disabledX := e.user("gone", account.RoleMember, "x")
	disabledX.Disabled = true

	amber := e.upload(uploader, meta([]string{"x"}, access.Amber), "a.pdf", extracttest.PDF(t, synthPages[:1]))
	red := e.upload(uploader, meta([]string{"members", "x"}, access.Red), "r.pdf", extracttest.PDF(t, synthPages[1:2]))

	tests := []struct {
		who  *account.User
		doc  research.Document
		sees bool
	}{
		{inX, amber, true},
		{inY, amber, false},
		{membersOnly, amber, false},
		{admin, amber, false},
		{adminX, amber, true},
		{disabledX, amber, false},
		{inX, red, true},
		{membersOnly, red, false},
		{inY, red, false},
		{admin, red, false},
		{adminX, red, true},
	}
	for _, tt := range tests {
		t.Run(tt.who.DisplayName+" "+string(tt.doc.TLP), func(t *testing.T) {
			_, vs, err := e.svc.Get(e.ctx(), tt.who, tt.doc.ID)
			_, _, f, ferr := e.svc.OpenVersion(e.ctx(), tt.who, tt.doc.ID, 1, e.c)
			if f != nil {
				f.Close()
			}
			if tt.sees {
				if err != nil || len(vs) != 1 || ferr != nil {
					t.Fatalf("Get: %v, OpenVersion: %v; want both to succeed", err, ferr)
				}
				return
			}
			// The same error as for a record that does not exist.
			if err != research.ErrNotFound || ferr != research.ErrNotFound || vs != nil {
				t.Fatalf("Get: %v, OpenVersion: %v; want ErrNotFound", err, ferr)
			}
			seen, err := e.svc.Searchable(e.ctx(), tt.who, []string{tt.doc.ID})
			if err != nil || seen[tt.doc.ID] {
				t.Fatalf("Searchable = %v, %v; want hidden", seen, err)
			}
		})
	}
	if _, _, err := e.svc.Get(e.ctx(), inX, "0123456789abcdef0123456789abcdef"); err != research.ErrNotFound {
		t.Errorf("missing record: %v, want ErrNotFound", err)
	}
	if _, _, err := e.svc.Get(e.ctx(), inX, "../../etc/passwd"); err != research.ErrNotFound {
		t.Errorf("junk id: %v, want ErrNotFound", err)
	}
	denied := e.audits(audit.ActionAccessDenied)
	if len(denied) < 6 {
		t.Errorf("got %d access.denied audits, want one per refused read", len(denied))
	}
	downloads := e.audits(research.ActionDownload)
	if len(downloads) != 4 || downloads[0].Outcome != audit.OutcomeSuccess || !strings.Contains(downloads[0].Detail, "version 1") {
		t.Errorf("download audits = %+v, want 4 successes", downloads)
	}
}

func TestUpdatePermissions(t *testing.T) {
	e := newEnv(t)
	uploader := e.user("uploader", account.RoleMember, "x")
	colleague := e.user("colleague", account.RoleMember, "x")
	outsider := e.user("outsider", account.RoleMember, "y")
	admin := e.user("admin", account.RoleAdmin, "x")
	adminOutside := e.user("admin-outside", account.RoleAdmin, "y")
	d := e.upload(uploader, meta([]string{"x"}, access.Amber), "a.pdf", extracttest.PDF(t, synthPages))
	title := "Synthetic new title"

	if _, err := e.svc.Update(e.ctx(), colleague, d.ID, research.Patch{Title: &title}, e.c); !errors.Is(err, research.ErrForbidden) {
		t.Errorf("colleague: %v, want ErrForbidden", err)
	}
	if _, err := e.svc.Update(e.ctx(), outsider, d.ID, research.Patch{Title: &title}, e.c); err != research.ErrNotFound {
		t.Errorf("outsider: %v, want ErrNotFound", err)
	}
	for _, op := range []func(*account.User) error{
		func(u *account.User) error { _, err := e.svc.Withdraw(e.ctx(), u, d.ID, e.c); return err },
		func(u *account.User) error {
			_, err := e.svc.Replace(e.ctx(), u, d.ID, "b.md", strings.NewReader("# Synthetic"), e.c)
			return err
		},
	} {
		if err := op(colleague); !errors.Is(err, research.ErrForbidden) {
			t.Errorf("colleague: %v, want ErrForbidden", err)
		}
		if err := op(outsider); err != research.ErrNotFound {
			t.Errorf("outsider: %v, want ErrNotFound", err)
		}
		// An admin whose groups do not reach the record cannot change it
		// either: changing it would show what reading it may not.
		if err := op(adminOutside); err != research.ErrNotFound {
			t.Errorf("admin outside the record's groups: %v, want ErrNotFound", err)
		}
	}
	if _, err := e.svc.Update(e.ctx(), adminOutside, d.ID, research.Patch{Title: &title}, e.c); err != research.ErrNotFound {
		t.Errorf("admin outside the record's groups, update: %v, want ErrNotFound", err)
	}
	if got, _, _ := e.svc.Get(e.ctx(), uploader, d.ID); got.Title != d.Title || got.Revision != 1 || got.Withdrawn {
		t.Fatalf("refused changes changed the record: %+v", got)
	}

	got, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{Title: &title}, e.c)
	if err != nil || got.Title != title || got.Revision != 2 || got.IndexState != research.IndexIndexed {
		t.Fatalf("uploader: %+v, %v", got, err)
	}
	year := 2023
	if got, err = e.svc.Update(e.ctx(), admin, d.ID, research.Patch{Year: &year}, e.c); err != nil || got.Year != 2023 {
		t.Fatalf("admin: %+v, %v", got, err)
	}
	ups := e.audits(research.ActionUpdate)
	if len(ups) != 2 || !strings.Contains(ups[0].Detail, "title") || !strings.Contains(ups[1].Detail, "year 2024→2023") ||
		!strings.Contains(ups[1].Detail, "administrator") || ups[1].Actor != admin.ID {
		t.Errorf("update audits = %+v", ups)
	}

	bad := ""
	var ve *research.ValidationError
	if _, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{Title: &bad}, e.c); !errors.As(err, &ve) || ve.Field != "title" {
		t.Errorf("empty title: %v, want a ValidationError for title", err)
	}
	// An unchanged patch writes nothing.
	before, _, _ := e.svc.Get(e.ctx(), uploader, d.ID)
	if got, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{Title: &title}, e.c); err != nil || got.Revision != before.Revision {
		t.Errorf("no-op update: %+v, %v", got, err)
	}
}

func TestUpdateAccessReachesIndex(t *testing.T) {
	e := newEnv(t)
	uploader := e.user("uploader", account.RoleMember, "x", "y")
	d := e.upload(uploader, meta([]string{"x"}, access.Amber), "a.pdf", extracttest.PDF(t, synthPages))
	e.idx.take()

	groups := []string{"y"}
	red := access.Red
	got, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{AccessGroups: &groups, TLP: &red}, e.c)
	if err != nil {
		t.Fatal(err)
	}
	calls := e.idx.take()
	if len(calls) != 1 || calls[0].Op != "index" || !slices.Equal(calls[0].Groups, []string{"y"}) || calls[0].TLP != access.Red ||
		got.IndexState != research.IndexIndexed {
		t.Fatalf("index calls %v, state %s; want one index with groups [y] and TLP:RED", calls, got.IndexState)
	}
	if a := e.audits(research.ActionUpdate); len(a) != 1 || !strings.Contains(a[0].Detail, "access_groups [x]→[y]") ||
		!strings.Contains(a[0].Detail, "tlp TLP:AMBER→TLP:RED") {
		t.Errorf("update audit = %+v", a)
	}

	// Groups the uploader is not in cannot be added …
	foreign := []string{"y", "z"}
	if _, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{AccessGroups: &foreign}, e.c); !errors.Is(err, research.ErrForbidden) {
		t.Errorf("adding a foreign group: %v, want ErrForbidden", err)
	}
	// … but groups an admin (who sees the record through y) added may be
	// kept.
	admin := e.user("admin", account.RoleAdmin, "y")
	if _, err := e.svc.Update(e.ctx(), admin, d.ID, research.Patch{AccessGroups: &foreign}, e.c); err != nil {
		t.Fatal(err)
	}
	title := "Synthetic retitled"
	if _, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{Title: &title}, e.c); err != nil {
		t.Errorf("uploader editing a record with an admin-granted group: %v", err)
	}
	// TLP:RED needs a named group.
	membersOnly := []string{"members"}
	var ve *research.ValidationError
	if _, err := e.svc.Update(e.ctx(), uploader, d.ID, research.Patch{AccessGroups: &membersOnly}, e.c); !errors.As(err, &ve) ||
		ve.Reason != "TLP:RED material must name the groups that may see it" {
		t.Errorf("TLP:RED for members: %v", err)
	}
}

func TestReplaceKeepsOldVersions(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember)
	pdf := extracttest.PDF(t, synthPages)
	d := e.upload(alice, meta([]string{"members"}, access.Green), "a.pdf", pdf)
	e.idx.take()

	docx := extracttest.DOCX(t, "Synthetic v2", []string{"Synthetic second version mentioning kingfisher."})
	got, err := e.svc.Replace(e.ctx(), alice, d.ID, "v2.docx", bytes.NewReader(docx), e.c)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentVersion != 2 || got.IndexState != research.IndexIndexed {
		t.Fatalf("after Replace: %+v", got)
	}
	calls := e.idx.take()
	if len(calls) != 1 || calls[0].Version != 2 || !strings.Contains(strings.Join(calls[0].Passages, " "), "kingfisher") {
		t.Fatalf("index calls %v, want the new text", calls)
	}
	_, vs, _ := e.svc.Get(e.ctx(), alice, d.ID)
	if len(vs) != 2 || vs[0].Kind != extract.KindPDF || vs[1].Kind != extract.KindDOCX || vs[1].Filename != "v2.docx" {
		t.Fatalf("versions = %+v", vs)
	}
	for _, tc := range []struct {
		version int
		want    []byte
	}{{1, pdf}, {2, docx}, {0, docx}} {
		_, v, f, err := e.svc.OpenVersion(e.ctx(), alice, d.ID, tc.version, e.c)
		if err != nil {
			t.Fatalf("OpenVersion(%d): %v", tc.version, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(b, tc.want) || (tc.version != 0 && v.Number != tc.version) {
			t.Errorf("OpenVersion(%d) gave version %d with other bytes", tc.version, v.Number)
		}
	}
	if old, err := e.svc.Passages(e.ctx(), d.ID, 1); err != nil || len(old) != 3 {
		t.Errorf("passages of version 1: %d, %v", len(old), err)
	}
	if _, _, _, err := e.svc.OpenVersion(e.ctx(), alice, d.ID, 3, e.c); err != research.ErrNotFound {
		t.Errorf("missing version: %v", err)
	}
	// A refused replacement adds no version.
	if _, err := e.svc.Replace(e.ctx(), alice, d.ID, "x.pdf", strings.NewReader("%PDF-1.7\n"), e.c); !errors.Is(err, research.ErrUnparsable) {
		t.Errorf("bad replacement: %v", err)
	}
	if _, vs, _ := e.svc.Get(e.ctx(), alice, d.ID); len(vs) != 2 {
		t.Errorf("%d versions after a refused replacement, want 2", len(vs))
	}
}

func TestWithdrawAndRestore(t *testing.T) {
	e := newEnv(t)
	uploader := e.user("uploader", account.RoleMember, "x")
	colleague := e.user("colleague", account.RoleMember, "x")
	admin := e.user("admin", account.RoleAdmin, "x")
	d := e.upload(uploader, meta([]string{"x"}, access.Green), "a.pdf", extracttest.PDF(t, synthPages))
	e.idx.take()

	got, err := e.svc.Withdraw(e.ctx(), uploader, d.ID, e.c)
	if err != nil || !got.Withdrawn || got.IndexState != research.IndexDeleted {
		t.Fatalf("Withdraw: %+v, %v", got, err)
	}
	if calls := e.idx.take(); len(calls) != 1 || calls[0].Op != "delete" || calls[0].ID != d.ID {
		t.Fatalf("index calls %v, want one delete", calls)
	}
	if _, _, err := e.svc.Get(e.ctx(), colleague, d.ID); err != research.ErrNotFound {
		t.Errorf("colleague sees a withdrawn record: %v", err)
	}
	for _, u := range []*account.User{uploader, admin} {
		if got, _, err := e.svc.Get(e.ctx(), u, d.ID); err != nil || !got.Withdrawn {
			t.Errorf("%s: %+v, %v; want the record marked withdrawn", u.DisplayName, got, err)
		}
	}
	if n := e.count(); n != 0 {
		t.Errorf("Count = %d, want 0", n)
	}
	// Withdrawing again changes nothing.
	if again, err := e.svc.Withdraw(e.ctx(), uploader, d.ID, e.c); err != nil || again.Revision != got.Revision {
		t.Errorf("second Withdraw: %+v, %v", again, err)
	}

	got, err = e.svc.Restore(e.ctx(), uploader, d.ID, e.c)
	if err != nil || got.Withdrawn || got.IndexState != research.IndexIndexed {
		t.Fatalf("Restore: %+v, %v", got, err)
	}
	if calls := e.idx.take(); len(calls) != 1 || calls[0].Op != "index" {
		t.Fatalf("index calls %v, want one index", calls)
	}
	if _, _, err := e.svc.Get(e.ctx(), colleague, d.ID); err != nil {
		t.Errorf("colleague after restore: %v", err)
	}

	// An admin's withdrawal is a take-down the uploader cannot undo.
	if _, err := e.svc.Withdraw(e.ctx(), admin, d.ID, e.c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Restore(e.ctx(), uploader, d.ID, e.c); !errors.Is(err, research.ErrForbidden) {
		t.Errorf("uploader restoring an admin's withdrawal: %v, want ErrForbidden", err)
	}
	if _, err := e.svc.Restore(e.ctx(), admin, d.ID, e.c); err != nil {
		t.Errorf("admin restore: %v", err)
	}
	for _, action := range []string{research.ActionWithdraw, research.ActionRestore} {
		if a := e.audits(action); len(a) != 2 {
			t.Errorf("%d %s audits, want 2", len(a), action)
		}
	}
}

func TestIndexDownThenResume(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember)
	keep := e.upload(alice, meta([]string{"members"}, access.Green), "k.pdf", extracttest.PDF(t, synthPages[:1]))
	e.idx.take()

	e.idx.setFail(errors.New("meilisearch unavailable"))
	d := e.upload(alice, meta([]string{"members"}, access.Green), "a.pdf", extracttest.PDF(t, synthPages))
	if d.IndexState != research.IndexPending {
		t.Fatalf("state %s while the index is down, want pending", d.IndexState)
	}
	w, err := e.svc.Withdraw(e.ctx(), alice, keep.ID, e.c)
	if err != nil || w.IndexState != research.IndexDeleting {
		t.Fatalf("Withdraw while the index is down: %+v, %v", w, err)
	}
	if err := e.svc.Resume(e.ctx()); err == nil {
		t.Error("Resume with the index down reported success")
	}
	e.idx.take()

	e.idx.setFail(nil)
	if err := e.svc.Resume(e.ctx()); err != nil {
		t.Fatal(err)
	}
	calls := e.idx.take()
	slices.SortFunc(calls, func(a, b call) int { return strings.Compare(a.ID, b.ID) })
	want := []call{{Op: "index", ID: d.ID}, {Op: "delete", ID: keep.ID}}
	slices.SortFunc(want, func(a, b call) int { return strings.Compare(a.ID, b.ID) })
	if len(calls) != 2 || calls[0].Op != want[0].Op || calls[1].Op != want[1].Op {
		t.Fatalf("Resume calls %v, want %v", calls, want)
	}
	got, _, _ := e.svc.Get(e.ctx(), alice, d.ID)
	gotW, _, _ := e.svc.Get(e.ctx(), alice, keep.ID)
	if got.IndexState != research.IndexIndexed || gotW.IndexState != research.IndexDeleted {
		t.Fatalf("states after Resume: %s, %s", got.IndexState, gotW.IndexState)
	}
	// Nothing left to do.
	if err := e.svc.Resume(e.ctx()); err != nil || len(e.idx.take()) != 0 {
		t.Errorf("second Resume: %v", err)
	}
}

func TestReindexIdempotent(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember, "x")
	var ids []string
	for i := range 3 {
		d := e.upload(alice, meta([]string{"x"}, access.Amber), "a.md", fmt.Appendf(nil, "# Synthetic %d\n\nText %d.\n", i, i))
		ids = append(ids, d.ID)
	}
	if _, err := e.svc.Withdraw(e.ctx(), alice, ids[1], e.c); err != nil {
		t.Fatal(err)
	}
	sum, err := e.svc.Checksum(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if sum != e.idx.checksum() {
		t.Fatalf("store checksum %s, index %s", sum, e.idx.checksum())
	}
	e.idx.take()

	var runs [2][]call
	for i := range runs {
		var progress [][2]int
		if err := e.svc.Reindex(e.ctx(), func(done, total int) { progress = append(progress, [2]int{done, total}) }); err != nil {
			t.Fatal(err)
		}
		runs[i] = e.idx.take()
		checkProgress(t, progress, 3)
		again, _ := e.svc.Checksum(e.ctx())
		if again != sum || e.idx.checksum() != sum {
			t.Errorf("checksum changed: %s, index %s, want %s", again, e.idx.checksum(), sum)
		}
		if n := e.unconfirmed(); n != 0 {
			t.Errorf("%d records left unconfirmed", n)
		}
	}
	// Two records built, none pushed one by one (nothing changed during
	// the build), and the withdrawn one simply left out.
	if fmt.Sprint(runs[0]) != fmt.Sprint(runs[1]) || len(runs[0]) != 3 || runs[0][2].Op != "swap" {
		t.Fatalf("reindex runs differ or are incomplete:\n%v\n%v", runs[0], runs[1])
	}
	for _, c := range runs[0][:2] {
		if c.Op != "build" || c.ID == ids[1] {
			t.Errorf("call %v; want only builds of the records not withdrawn", c)
		}
	}
	if n := e.count(); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
}

// checkProgress checks a reindex's reports: 0 first, the total last and
// only there, never going back.
func checkProgress(t *testing.T, reports [][2]int, total int) {
	t.Helper()
	if len(reports) < 2 || reports[0] != [2]int{0, total} || reports[len(reports)-1] != [2]int{total, total} {
		t.Fatalf("progress %v: want 0/%d first and %d/%d last", reports, total, total, total)
	}
	for i, r := range reports[1 : len(reports)-1] {
		if r[1] != total || r[0] < reports[i][0] || r[0] >= total {
			t.Fatalf("progress %v: report %v out of order", reports, r)
		}
	}
}

// unconfirmed counts the records whose index state is pending or deleting.
func (e *env) unconfirmed() int {
	e.t.Helper()
	var ids []string
	err := e.db.Research().View(e.ctx(), func(tx research.Tx) error {
		var err error
		ids, err = tx.DocumentIDs(e.ctx(), research.IndexPending, research.IndexDeleting)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ids)
}

func TestReindexKilledBeforeSwapChangesNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", account.RoleMember)
	for i := range 3 {
		e.upload(alice, meta([]string{"members"}, access.Green), "a.md", fmt.Appendf(nil, "# Synthetic %d\n", i))
	}
	e.idx.take()
	before := e.idx.checksum()
	// Kill the run after the first record is built: the live index stays
	// as it was, and so do the records' states: nothing is left for a
	// Resume to push.
	ctx, cancel := context.WithCancel(e.ctx())
	err := e.svc.Reindex(ctx, func(done, total int) {
		if done == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Reindex: %v, want context.Canceled", err)
	}
	if calls := e.idx.take(); slices.ContainsFunc(calls, func(c call) bool { return c.Op != "build" }) {
		t.Errorf("killed reindex made calls %v; want builds only", calls)
	}
	if e.idx.checksum() != before || e.unconfirmed() != 0 {
		t.Fatalf("after a killed reindex: index %s (was %s), %d records unconfirmed", e.idx.checksum(), before, e.unconfirmed())
	}
	if err := e.svc.Resume(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if calls := e.idx.take(); len(calls) != 0 {
		t.Fatalf("Resume after a killed reindex made calls %v, want none", calls)
	}
}

// TestPushOrder checks that a change committed while an earlier push is in
// flight ends up in the index, and that the earlier confirmation does not
// mark the newer revision indexed.
// TestPushOrder runs two updates of one record on two services over one
// database and one index, as two portal instances: the first update's
// push is held in the indexer while the second commits and pushes, so the
// older state may reach the index last. The revision in the database
// orders them: the index ends with the latest state, and the record is
// confirmed at the latest revision.
func TestPushOrder(t *testing.T) {
	e := newEnv(t)
	other, err := research.New(e.db.Research(), e.blobs, extractor, e.idx, e.audit, research.Options{
		Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.user("alice", account.RoleMember, "x", "y")
	d := e.upload(alice, meta([]string{"x"}, access.Green), "a.md", []byte("# Synthetic\n"))
	e.idx.take()

	block := make(chan struct{})
	e.idx.mu.Lock()
	e.idx.block = block
	e.idx.mu.Unlock()

	gx, gy := []string{"x", "y"}, []string{"y"}
	var wg sync.WaitGroup
	results := make([]research.Document, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0], _ = e.svc.Update(e.ctx(), alice, d.ID, research.Patch{AccessGroups: &gx}, e.c)
	}()
	waitFor(t, func() bool { e.idx.mu.Lock(); defer e.idx.mu.Unlock(); return e.idx.blocked == 1 })
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[1], _ = other.Update(e.ctx(), alice, d.ID, research.Patch{AccessGroups: &gy}, e.c)
	}()
	waitFor(t, func() bool { e.idx.mu.Lock(); defer e.idx.mu.Unlock(); return e.idx.blocked == 2 })
	close(block)
	wg.Wait()

	calls := e.idx.take()
	if len(calls) < 2 || !slices.Equal(calls[len(calls)-1].Groups, []string{"y"}) {
		t.Fatalf("index calls %v; the last must carry the latest groups [y]", calls)
	}
	if results[0].IndexState == research.IndexIndexed && results[0].Revision == 3 {
		t.Errorf("first update reported the newer revision indexed: %+v", results[0])
	}
	got, _, _ := e.svc.Get(e.ctx(), alice, d.ID)
	if got.IndexState != research.IndexIndexed || got.Revision != 3 || !slices.Equal(got.AccessGroups, []string{"y"}) {
		t.Fatalf("final record %+v", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUploadConcurrencyLimit(t *testing.T) {
	e := newEnv(t, func(o *research.Options) {
		o.MaxConcurrentUploads = 1
		o.UploadWait = 50 * time.Millisecond
	})
	alice := e.user("alice", account.RoleMember)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Upload(e.ctx(), alice, meta([]string{"members"}, access.Green), "slow.md", pr, e.c)
		done <- err
	}()
	// The slow upload holds the only slot once it has started reading.
	if _, err := pw.Write([]byte("# Synthetic slow upload\n")); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Upload(e.ctx(), alice, meta([]string{"members"}, access.Green), "b.md", strings.NewReader("# B\n"), e.c)
	if !errors.Is(err, research.ErrBusy) {
		t.Fatalf("second upload: %v, want ErrBusy", err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("slow upload: %v", err)
	}
}
