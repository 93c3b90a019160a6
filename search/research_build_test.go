package search_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"portal/search"
	"portal/search/meilitest"
)

func buildDoc(id string, abstract string) (search.ResearchDoc, []search.ResearchPassage) {
	d := search.ResearchDoc{ID: id, Version: 1, Title: "Synthetic build record " + id, Abstract: abstract,
		Year: 2024, Language: "en", Type: "study", Topics: []string{"grooming"}, AccessGroups: []string{"members"},
		TLP: "TLP:GREEN", UpdatedAt: time.Now()}
	var ps []search.ResearchPassage
	for n := range 3 {
		ps = append(ps, search.ResearchPassage{Number: n + 1, Text: strings.Repeat("synthetic passage text ", 25)})
	}
	return d, ps
}

func versions(t *testing.T, ix *search.Indexer) []string {
	t.Helper()
	st, err := ix.ResearchContents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(st.Versions))
}

// A rebuild goes out in several payloads when they are small, leaves the
// live index alone until Swap, and a refused payload fails it without
// touching the live index.
func TestResearchBuild(t *testing.T) {
	m := meilitest.Start(t)
	client := search.NewClient(m.URL, m.MasterKey)
	ix := search.NewIndexer(client, nil)
	ctx := t.Context()
	if err := ix.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	old, ps := buildDoc("old", "Synthetic abstract.")
	if err := ix.IndexResearch(ctx, old, ps); err != nil {
		t.Fatal(err)
	}

	var confirmed []int
	b, err := ix.BeginResearchBuild(ctx, func(n int) { confirmed = append(confirmed, n) })
	if err != nil {
		t.Fatal(err)
	}
	b.SetPayloadLimit(8 << 10) // a record's three passages are about 2 KB each
	var want []string
	long := strings.Repeat("A long synthetic abstract for the summary. ", 10)
	for i := range 40 {
		id := fmt.Sprintf("doc%02d", i)
		d, ps := buildDoc(id, long)
		if err := b.Add(ctx, d, ps); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	// Removed documents go, whatever was added before; one added again
	// after its removal is back, as added.
	if err := b.Remove(ctx, []string{"doc00", "doc01", "doc02"}); err != nil {
		t.Fatal(err)
	}
	again, ps := buildDoc("doc00", long)
	again.Version = 2
	if err := b.Add(ctx, again, ps); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id == "doc01" || id == "doc02" })
	if got := versions(t, ix); !slices.Equal(got, []string{"old"}) {
		t.Errorf("live index before the swap: %v, want [old]", got)
	}
	if err := b.Swap(ctx); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, ix); !slices.Equal(got, want) {
		t.Errorf("live index after the swap: %v, want %v", got, want)
	}
	st, err := ix.ResearchContents(ctx)
	if err != nil || st.Versions["doc00"] != 2 {
		t.Errorf("document removed and added again: version %d (%v), want 2", st.Versions["doc00"], err)
	}
	if len(confirmed) < 5 || !slices.IsSorted(confirmed) || confirmed[len(confirmed)-1] != 41 {
		t.Errorf("confirmations %v: want several, growing, ending at 41", confirmed)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetIndex(ctx, b.UID()); err == nil {
		t.Error("the replaced index was not dropped")
	}
	// The summary is displayed: searches return it.
	res, err := client.Index(search.IndexResearch).Search(ctx, "synthetic", &meilisearch.SearchRequest{Limit: 1})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("search: %v, %v", res, err)
	}
	var hit struct {
		Summary string `json:"summary"`
	}
	if err := res.Hits[0].DecodeInto(&hit); err != nil || hit.Summary != search.Summary(long) || !strings.HasSuffix(hit.Summary, "…") {
		t.Errorf("hit summary %q (%v), want %q", hit.Summary, err, search.Summary(long))
	}

	// A refused record (its id is not a valid document id) fails its
	// payload, and the build.
	b, err = ix.BeginResearchBuild(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.SetPayloadLimit(8 << 10)
	err = nil
	for i, id := range []string{"new1", "not a valid id", "new2", "new3", "new4", "new5", "new6"} {
		d, ps := buildDoc(id, "Synthetic.")
		if err = b.Add(ctx, d, ps); err != nil {
			t.Logf("Add %d failed: %v", i, err)
			break
		}
	}
	if err == nil {
		err = b.Swap(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "invalid_document_id") {
		t.Errorf("build with a refused record: %v, want an invalid_document_id error", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, ix); !slices.Equal(got, want) {
		t.Errorf("live index after a failed build: %v, want %v", got, want)
	}
}

// buildIndexes lists the research build indexes.
func buildIndexes(t *testing.T, client meilisearch.ServiceManager) []string {
	t.Helper()
	res, err := client.ListIndexes(t.Context(), &meilisearch.IndexesQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Results {
		if r.UID == search.IndexResearch+"_build" || strings.HasPrefix(r.UID, search.IndexResearch+"_build_") {
			out = append(out, r.UID)
		}
	}
	slices.Sort(out)
	return out
}

// Two builds at once each load their own index, and each swap installs a
// complete one.
func TestResearchBuildsConcurrent(t *testing.T) {
	m := meilitest.Start(t)
	client := search.NewClient(m.URL, m.MasterKey)
	ix := search.NewIndexer(client, nil)
	ctx := t.Context()
	if err := ix.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		builds [2]*search.ResearchBuild
		want   [2][]string
		errs   [2]error
		wg     sync.WaitGroup
	)
	for i := range builds {
		b, err := ix.BeginResearchBuild(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b.SetPayloadLimit(8 << 10)
		builds[i] = b
		for n := range 30 {
			want[i] = append(want[i], fmt.Sprintf("run%d-doc%02d", i, n))
		}
	}
	if builds[0].UID() == builds[1].UID() {
		t.Fatalf("both builds load %s", builds[0].UID())
	}
	for i, b := range builds {
		wg.Go(func() {
			for _, id := range want[i] {
				d, ps := buildDoc(id, "Synthetic abstract.")
				if errs[i] = b.Add(ctx, d, ps); errs[i] != nil {
					return
				}
			}
			errs[i] = b.Wait(ctx)
		})
	}
	wg.Wait()
	for i, b := range builds {
		if errs[i] != nil {
			t.Fatalf("build %d: %v", i, errs[i])
		}
		if err := b.Swap(ctx); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		if got := versions(t, ix); !slices.Equal(got, want[i]) {
			t.Errorf("live index after swap %d: %v, want %v", i, got, want[i])
		}
	}
	for _, b := range builds {
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := buildIndexes(t, client); len(got) != 0 {
		t.Errorf("build indexes left: %v", got)
	}
}

// A new build drops the builds that killed runs left, once they are hours
// old, and only those: a young one may be another run's.
func TestResearchBuildDropsStaleBuilds(t *testing.T) {
	m := meilitest.Start(t)
	client := search.NewClient(m.URL, m.MasterKey)
	ix := search.NewIndexer(client, nil)
	ctx := t.Context()
	// The name earlier versions used, and another index that is no build.
	for _, uid := range []string{search.IndexResearch + "_build", "research_builder"} {
		info, err := client.CreateIndex(ctx, &meilisearch.IndexConfig{Uid: uid, PrimaryKey: "id"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.WaitForTask(ctx, info.TaskUID, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	first, err := ix.BeginResearchBuild(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ix.BeginResearchBuild(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{search.IndexResearch + "_build", first.UID(), second.UID()}
	slices.Sort(want)
	if got := buildIndexes(t, client); !slices.Equal(got, want) {
		t.Errorf("build indexes beside a young one: %v, want %v", got, want)
	}

	ix.SetNow(func() time.Time { return time.Now().Add(7 * time.Hour) })
	third, err := ix.BeginResearchBuild(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := buildIndexes(t, client); !slices.Equal(got, []string{third.UID()}) {
		t.Errorf("build indexes after a build 7 hours later: %v, want only %s", got, third.UID())
	}
	if _, err := client.GetIndex(ctx, "research_builder"); err != nil {
		t.Errorf("an index that is no build was dropped: %v", err)
	}
	// A build dropped under a run that goes on is never swapped in, even
	// though its next payload creates it again.
	d, ps := buildDoc("late", "Synthetic.")
	if err := first.Add(ctx, d, ps); err != nil {
		t.Fatal(err)
	}
	if err := first.Swap(ctx); err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Errorf("swap of a dropped build: %v, want an error", err)
	}
	for _, b := range []*search.ResearchBuild{first, second, third} {
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
