package research_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// hookIndexer is the real research index with hooks that run in a
// rebuild at the moments when changes made during it are the hardest to
// keep: once loadBuild has read every record (as the build's Wait starts,
// before reconcile), just before the swap, and just after it, before
// settle. Each hook runs once. It counts the records pushed one by one.
type hookIndexer struct {
	*search.ResearchIndexer
	beforeReconcile func(ctx context.Context)
	beforeSwap      func(ctx context.Context)
	// afterSwap's error, if any, is Swap's: the run then stops as if
	// killed between the swap and settle.
	afterSwap func(ctx context.Context) error
	pushes    atomic.Int64
}

func (h *hookIndexer) IndexDocument(ctx context.Context, d research.Document, ps []research.Passage) error {
	h.pushes.Add(1)
	return h.ResearchIndexer.IndexDocument(ctx, d, ps)
}

func (h *hookIndexer) DeleteDocument(ctx context.Context, id string) error {
	h.pushes.Add(1)
	return h.ResearchIndexer.DeleteDocument(ctx, id)
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

// once runs the hook *f, if set, and clears it.
func once(ctx context.Context, f *func(context.Context)) {
	if g := *f; g != nil {
		*f = nil
		g(ctx)
	}
}

func (b hookBuild) Wait(ctx context.Context) error {
	once(ctx, &b.h.beforeReconcile)
	return b.IndexBuild.Wait(ctx)
}

func (b hookBuild) Swap(ctx context.Context) error {
	once(ctx, &b.h.beforeSwap)
	if err := b.IndexBuild.Swap(ctx); err != nil {
		return err
	}
	if f := b.h.afterSwap; f != nil {
		b.h.afterSwap = nil
		return f(ctx)
	}
	return nil
}

// clock is a test's settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// meiliEnv is an env whose service indexes into a real Meilisearch.
type meiliEnv struct {
	*env
	hook   *hookIndexer
	ix     *search.Indexer
	client meilisearch.ServiceManager
	clock  *clock
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
	c := &clock{now: testNow}
	e := &meiliEnv{env: newEnvWith(t, hook, func(o *research.Options) { o.Now = c.Now }), hook: hook, ix: ix, client: client, clock: c}
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
	res, err := e.client.ListIndexes(e.ctx(), &meilisearch.IndexesQuery{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ix := range res.Results {
		if strings.HasPrefix(ix.UID, search.IndexResearch+"_build") {
			e.t.Errorf("%s left behind", ix.UID)
		}
	}
}

// facets searches the live index as u would (with the access clause of
// the portal's searches) and returns the documents counted in the doc_id
// facet and the total of hits.
func (e *meiliEnv) facets(ctx context.Context, u *account.User) (map[string]int, int64) {
	e.t.Helper()
	acc, err := search.Access(access.Filter(u.Subject()))
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := search.And(acc)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.client.Index(search.IndexResearch).Search(ctx, "", &meilisearch.SearchRequest{
		Filter: f, Facets: []string{"doc_id"}, Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	var dist map[string]map[string]int
	if err := json.Unmarshal(res.FacetDistribution, &dist); err != nil {
		e.t.Fatal(err)
	}
	return dist["doc_id"], res.EstimatedTotalHits
}

// state returns a record's index state.
func (e *meiliEnv) state(id string) research.IndexState {
	e.t.Helper()
	var d *research.Document
	err := e.db.Research().View(e.ctx(), func(tx research.Tx) error {
		var err error
		d, err = tx.Document(e.ctx(), id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return d.IndexState
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
	e.hook.beforeReconcile = func(context.Context) {
		// Nothing was marked for the index: a server's Resume has
		// nothing to push while the index is rebuilt.
		if n := e.unconfirmed(); n != 0 {
			t.Errorf("%d records unconfirmed during the build, want 0", n)
		}
	}
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
	// The states are as they were: the ten records confirmed, the new
	// one pending.
	if n := e.unconfirmed(); n != 1 {
		t.Errorf("%d records unconfirmed after a failed rebuild, want 1", n)
	}
	t.Logf("failed rebuild took %s", time.Since(start))
}

// A record narrowed or withdrawn after loadBuild read it is never live as
// it was: right after the swap, before settle, the facet counts and totals
// that Meilisearch computes leave it out for a member who may no longer
// see it.
func TestReindexNarrowedDuringBuildNotCounted(t *testing.T) {
	e := newMeiliEnv(t)
	ids := e.insert(10)
	e.reindex()
	bob := e.user("bob", account.RoleMember, "x")
	if got, total := e.facets(e.ctx(), bob); len(got) != 10 || total == 0 {
		t.Fatalf("before the changes bob is counted %d records (%d hits), want 10", len(got), total)
	}
	narrowed, withdrawn := ids[0], ids[1]
	e.hook.beforeReconcile = func(ctx context.Context) {
		// The build holds both as loadBuild read them, open to x.
		groups := []string{"y"}
		if _, err := e.svc.Update(ctx, e.alice, narrowed, research.Patch{AccessGroups: &groups}, e.c); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Withdraw(ctx, e.alice, withdrawn, e.c); err != nil {
			t.Fatal(err)
		}
	}
	var checked bool
	e.hook.afterSwap = func(ctx context.Context) error {
		checked = true
		got, _ := e.facets(ctx, bob)
		for _, id := range []string{narrowed, withdrawn} {
			if got[id] != 0 {
				t.Errorf("live index right after the swap counts %s for bob: %v", id, got)
			}
		}
		if len(got) != 8 {
			t.Errorf("live index right after the swap counts %d records for bob, want 8", len(got))
		}
		// Narrowed, not lost: alice, in y, still finds it.
		got, _ = e.facets(ctx, e.alice)
		if got[narrowed] == 0 || got[withdrawn] != 0 || len(got) != 9 {
			t.Errorf("live index right after the swap counts for alice %v: want the narrowed record, not the withdrawn one", got)
		}
		return nil
	}
	e.reindex()
	if !checked {
		t.Fatal("the hook after the swap did not run")
	}
	if got, want := e.indexSum(), e.storeSum(); got != want {
		t.Errorf("index checksum %s, store %s", got, want)
	}
	if n := e.unconfirmed(); n != 0 {
		t.Errorf("%d records unconfirmed", n)
	}
	e.noBuildIndex()
}

// A run killed after the swap, before settle, can leave a record changed
// just before the swap confirmed by the discarded index; once the run's
// record expires, Resume pushes what changed during the run, and only that.
func TestReindexKilledAfterSwapRecovers(t *testing.T) {
	e := newMeiliEnv(t)
	ids := e.insert(10)
	e.reindex()
	e.clock.advance(2 * time.Hour) // the inserted records are older than the run
	changed := ids[3]
	e.hook.beforeSwap = func(ctx context.Context) {
		groups := []string{"y"}
		d, err := e.svc.Update(ctx, e.alice, changed, research.Patch{AccessGroups: &groups}, e.c)
		if err != nil || d.IndexState != research.IndexIndexed {
			t.Fatalf("update before the swap: %+v, %v", d, err)
		}
	}
	e.hook.afterSwap = func(context.Context) error { return errors.New("killed") }
	if err := e.svc.Reindex(e.ctx(), nil); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Reindex killed after the swap: %v", err)
	}
	e.noBuildIndex()
	// The change went to the index the swap discarded, and was confirmed.
	stale := func() bool {
		for _, r := range e.entries(changed) {
			if fmt.Sprint(r["access_groups"]) != "[y]" {
				return true
			}
		}
		return false
	}
	if !stale() || e.state(changed) != research.IndexIndexed {
		t.Fatalf("the scenario did not happen: entries %v, state %s", e.entries(changed), e.state(changed))
	}
	// While the run may still be going on, Resume leaves it alone.
	e.hook.pushes.Store(0)
	if err := e.svc.Resume(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if n := e.hook.pushes.Load(); n != 0 || !stale() {
		t.Fatalf("Resume before the run's record expired pushed %d records", n)
	}
	e.clock.advance(2 * time.Hour)
	if err := e.svc.Resume(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if n := e.hook.pushes.Load(); n != 1 {
		t.Errorf("Resume after the run's record expired pushed %d records, want the one changed", n)
	}
	if stale() || e.state(changed) != research.IndexIndexed {
		t.Errorf("after Resume: entries %v, state %s", e.entries(changed), e.state(changed))
	}
	if got, want := e.indexSum(), e.storeSum(); got != want {
		t.Errorf("index checksum %s, store %s", got, want)
	}
	// Done once: the record of the run is gone.
	e.clock.advance(2 * time.Hour)
	if err := e.svc.Resume(e.ctx()); err != nil || e.hook.pushes.Load() != 1 {
		t.Errorf("second Resume: %v, %d pushes in all", err, e.hook.pushes.Load())
	}
}
