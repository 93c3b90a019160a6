package research_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"portal/access"
	"portal/account"
	"portal/extract"
	"portal/research"
	"portal/search"
	"portal/search/meilitest"
)

// These tests run Reindex against a real Meilisearch.

// hookIndexer is the real research index with a hook that runs in a
// rebuild just before the swap: the moment at which changes made during a
// rebuild are the hardest to keep.
type hookIndexer struct {
	*search.ResearchIndexer
	beforeSwap func(ctx context.Context)
}

func (h *hookIndexer) Rebuild(ctx context.Context, confirmed func(int)) (research.IndexBuild, error) {
	b, err := h.ResearchIndexer.Rebuild(ctx, confirmed)
	if err != nil {
		return nil, err
	}
	return hookBuild{IndexBuild: b, h: h}, nil
}

type hookBuild struct {
	research.IndexBuild
	h *hookIndexer
}

func (b hookBuild) Swap(ctx context.Context) error {
	if f := b.h.beforeSwap; f != nil {
		b.h.beforeSwap = nil // once
		f(ctx)
	}
	return b.IndexBuild.Swap(ctx)
}

// meiliEnv is an env whose service indexes into a real Meilisearch.
type meiliEnv struct {
	*env
	hook   *hookIndexer
	ix     *search.Indexer
	client meilisearch.ServiceManager
	alice  *account.User
}

func newMeiliEnv(t *testing.T) *meiliEnv {
	t.Helper()
	m := meilitest.Start(t)
	client := search.NewClient(m.URL, m.MasterKey)
	ix := search.NewIndexer(client, nil)
	if err := ix.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	ri, err := search.NewResearchIndexer(ix)
	if err != nil {
		t.Fatal(err)
	}
	hook := &hookIndexer{ResearchIndexer: ri}
	e := &meiliEnv{env: newEnvWith(t, hook), hook: hook, ix: ix, client: client}
	e.alice = e.user("alice", account.RoleMember, "x", "y")
	return e
}

// insert writes n records straight into the store, as uploads leave them
// but without pushing them, each with a few passages.
func (e *meiliEnv) insert(n int) []string {
	e.t.Helper()
	var ids []string
	err := e.db.Research().Update(e.ctx(), func(tx research.Tx) error {
		for i := range n {
			sum := sha256.Sum256(fmt.Appendf(nil, "%s %d", e.t.Name(), i))
			id := hex.EncodeToString(sum[:16])
			m := meta([]string{"x"}, access.Green)
			m.Title = fmt.Sprintf("Synthetic record %d", i)
			d := &research.Document{ID: id, Metadata: m, UploaderID: e.alice.ID, CreatedAt: testNow, UpdatedAt: testNow,
				CurrentVersion: 1, Revision: 1, IndexState: research.IndexPending}
			if err := tx.InsertDocument(e.ctx(), d); err != nil {
				return err
			}
			ps := []research.Passage{{Number: 1, Text: fmt.Sprintf("Synthetic passage one of record %d.", i)},
				{Number: 2, Text: "Synthetic passage two about cooperation."}, {Number: 3, Text: "Synthetic passage three."}}
			if err := tx.InsertVersion(e.ctx(), id, &research.Version{Number: 1, SHA256: hex.EncodeToString(sum[:]), Size: 1,
				Kind: extract.KindText, Filename: "synthetic.txt", Pages: len(ps), UploadedBy: e.alice.ID, UploadedAt: testNow}); err != nil {
				return err
			}
			if err := tx.InsertPassages(e.ctx(), id, 1, ps); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// reindex runs Reindex and checks its progress reports.
func (e *meiliEnv) reindex() {
	e.t.Helper()
	var total int
	err := e.db.Research().View(e.ctx(), func(tx research.Tx) error {
		ids, err := tx.DocumentIDs(e.ctx())
		total = len(ids)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var reports [][2]int
	if err := e.svc.Reindex(e.ctx(), func(done, total int) { reports = append(reports, [2]int{done, total}) }); err != nil {
		e.t.Fatalf("Reindex: %v", err)
	}
	checkProgress(e.t, reports, total)
}

// indexSum is the checksum of what the live index holds, as the store
// computes its own.
func (e *meiliEnv) indexSum() string {
	e.t.Helper()
	st, err := e.ix.ResearchContents(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	return research.IndexChecksum(st.Versions)
}

func (e *meiliEnv) storeSum() string {
	e.t.Helper()
	sum, err := e.svc.Checksum(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// entries returns the live index's records of a document.
func (e *meiliEnv) entries(id string) []map[string]any {
	e.t.Helper()
	var res meilisearch.DocumentsResult
	err := e.client.Index(search.IndexResearch).GetDocuments(e.ctx(), &meilisearch.DocumentsQuery{
		Limit: 1000, Filter: fmt.Sprintf("doc_id = %q", id)}, &res)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, h := range res.Results {
		var m map[string]any
		if err := h.DecodeInto(&m); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// noBuildIndex fails if a rebuild's index was left behind.
func (e *meiliEnv) noBuildIndex() {
	e.t.Helper()
	if _, err := e.client.GetIndex(e.ctx(), search.IndexResearch+"_build"); err == nil {
		e.t.Error("research_build left behind")
	}
}

func TestReindexRealIndexEqualsStore(t *testing.T) {
	e := newMeiliEnv(t)
	const n = 60
	ids := e.insert(n)
	// One record of each kind Reindex must handle: withdrawn, on a second
	// version, and with a long Arabic abstract for the summary.
	if _, err := e.svc.Withdraw(e.ctx(), e.alice, ids[0], e.c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Replace(e.ctx(), e.alice, ids[1], "v2.md", strings.NewReader("# Synthetic second version\n\nNew text.\n"), e.c); err != nil {
		t.Fatal(err)
	}
	arabic := strings.Repeat("أطفال إساءة المعاملة عبر الإنترنت، ", 20)
	d, err := e.svc.Update(e.ctx(), e.alice, ids[2], research.Patch{Abstract: &arabic}, e.c)
	if err != nil {
		t.Fatal(err)
	}
	arabic = d.Abstract // as stored, trimmed
	// Lose the index: Reindex rebuilds it from the store alone.
	if _, err := e.client.DeleteIndex(e.ctx(), search.IndexResearch); err != nil {
		t.Fatal(err)
	}
	for run := range 2 { // idempotent
		start := time.Now()
		e.reindex()
		t.Logf("run %d: Reindex of %d records took %s", run, n, time.Since(start))
		if got, want := e.indexSum(), e.storeSum(); got != want {
			t.Fatalf("run %d: index checksum %s, store %s", run, got, want)
		}
		if n := e.unconfirmed(); n != 0 {
			t.Errorf("run %d: %d records unconfirmed", run, n)
		}
		e.noBuildIndex()
	}
	if got := e.entries(ids[0]); len(got) != 0 {
		t.Errorf("withdrawn record indexed: %v", got)
	}
	for _, r := range e.entries(ids[1]) {
		if r["version"] != float64(2) {
			t.Errorf("replaced record has an entry of version %v", r["version"])
		}
	}
	got := e.entries(ids[2])
	if len(got) != 3 {
		t.Fatalf("%d entries for a record of 3 passages", len(got))
	}
	if got[0]["summary"] != search.Summary(arabic) || !strings.Contains(got[0]["summary"].(string), "أطفال") {
		t.Errorf("summary %q, want the abstract as written, cut: %q", got[0]["summary"], search.Summary(arabic))
	}
	if got[0]["abstract"] != search.NormalizeArabic(arabic) {
		t.Errorf("abstract %q is not the normalised one", got[0]["abstract"])
	}
}

// Changes made while the new index is built, pushed by the server into the
// live index of the moment, are all in the index when Reindex returns; the
// live index answers throughout.
func TestReindexKeepsConcurrentChanges(t *testing.T) {
	e := newMeiliEnv(t)
	ids := e.insert(20)
	e.reindex()
	before := e.storeSum()
	changed, withdrawn, replaced := ids[3], ids[4], ids[5]
	var added research.Document
	e.hook.beforeSwap = func(ctx context.Context) {
		// Every record has been read and built; the live index is the
		// old one and still answers.
		if got := e.indexSum(); got != before {
			t.Errorf("live index changed during the build: %s, want %s", got, before)
		}
		res, err := e.client.Index(search.IndexResearch).Search(ctx, "cooperation", &meilisearch.SearchRequest{Limit: 50})
		if err != nil || len(res.Hits) != 20 {
			t.Errorf("live index during the build: %v hits, %v", len(res.Hits), err)
		}
		// The server changes records meanwhile; each push lands in the
		// live index, which the swap is about to discard.
		groups := []string{"y"}
		if d, err := e.svc.Update(ctx, e.alice, changed, research.Patch{AccessGroups: &groups}, e.c); err != nil || d.IndexState != research.IndexIndexed {
			t.Fatalf("update during the build: %+v, %v", d, err)
		}
		if _, err := e.svc.Withdraw(ctx, e.alice, withdrawn, e.c); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Replace(ctx, e.alice, replaced, "v2.md", strings.NewReader("# Synthetic v2\n\nReplaced text.\n"), e.c); err != nil {
			t.Fatal(err)
		}
		var err2 error
		if added, err2 = e.svc.Upload(ctx, e.alice, meta([]string{"x"}, access.Green), "new.md", strings.NewReader("# Synthetic new record\n\nAdded during the build.\n"), e.c); err2 != nil {
			t.Fatal(err2)
		}
	}
	e.reindex()
	if e.hook.beforeSwap != nil {
		t.Fatal("the hook did not run")
	}
	if got, want := e.indexSum(), e.storeSum(); got != want || want == before {
		t.Fatalf("after Reindex the index checksum is %s, the store's %s (before the changes %s)", got, want, before)
	}
	for _, r := range e.entries(changed) {
		if fmt.Sprint(r["access_groups"]) != "[y]" {
			t.Errorf("changed record indexed with groups %v, want [y]", r["access_groups"])
		}
	}
	if got := e.entries(withdrawn); len(got) != 0 {
		t.Errorf("record withdrawn during the build still indexed: %d entries", len(got))
	}
	if got := e.entries(replaced); len(got) == 0 || slices.ContainsFunc(got, func(r map[string]any) bool { return r["version"] != float64(2) }) {
		t.Errorf("record replaced during the build: entries %v, want version 2 only", got)
	}
	if got := e.entries(added.ID); len(got) == 0 {
		t.Error("record uploaded during the build is not indexed")
	}
	if n := e.unconfirmed(); n != 0 {
		t.Errorf("%d records unconfirmed", n)
	}
	e.noBuildIndex()
}

// A rebuild that fails or is stopped before the swap leaves the live index
// as it was, and says so.
func TestReindexFailureLeavesLiveIndex(t *testing.T) {
	e := newMeiliEnv(t)
	e.insert(10)
	e.reindex()
	before := e.indexSum()

	// Stopped just before the swap.
	ctx, cancel := context.WithCancel(e.ctx())
	e.hook.beforeSwap = func(context.Context) { cancel() }
	if err := e.svc.Reindex(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("stopped Reindex: %v, want context.Canceled", err)
	}
	if got := e.indexSum(); got != before {
		t.Errorf("live index changed by a stopped rebuild: %s, want %s", got, before)
	}
	e.noBuildIndex()

	// A record Meilisearch refuses (its id makes an invalid document id)
	// fails its batch, and with it the rebuild.
	bad := strings.Repeat("!", 32)
	err := e.db.Research().Update(e.ctx(), func(tx research.Tx) error {
		d := &research.Document{ID: bad, Metadata: meta([]string{"x"}, access.Green), UploaderID: e.alice.ID,
			CreatedAt: testNow, UpdatedAt: testNow, CurrentVersion: 1, Revision: 1, IndexState: research.IndexPending}
		if err := tx.InsertDocument(e.ctx(), d); err != nil {
			return err
		}
		return tx.InsertVersion(e.ctx(), bad, &research.Version{Number: 1, SHA256: strings.Repeat("0", 64), Size: 1,
			Kind: extract.KindText, Filename: "bad.txt", UploadedBy: e.alice.ID, UploadedAt: testNow})
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = e.svc.Reindex(e.ctx(), nil)
	if err == nil || !strings.Contains(err.Error(), "invalid_document_id") {
		t.Fatalf("Reindex with a refused record: %v, want an invalid_document_id error", err)
	}
	if got := e.indexSum(); got != before {
		t.Errorf("live index changed by a failed rebuild: %s, want %s", got, before)
	}
	e.noBuildIndex()
	if n := e.unconfirmed(); n != 11 {
		t.Errorf("%d records unconfirmed after a failed rebuild, want all 11 (for the next run)", n)
	}
	t.Logf("failed rebuild took %s", time.Since(start))
}
