package search_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
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
	if got := versions(t, ix); !slices.Equal(got, []string{"old"}) {
		t.Errorf("live index before the swap: %v, want [old]", got)
	}
	if err := b.Swap(ctx); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, ix); !slices.Equal(got, want) {
		t.Errorf("live index after the swap: %v, want %v", got, want)
	}
	if len(confirmed) < 5 || !slices.IsSorted(confirmed) || confirmed[len(confirmed)-1] != 40 {
		t.Errorf("confirmations %v: want several, growing, ending at 40", confirmed)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetIndex(ctx, search.IndexResearch+"_build"); err == nil {
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
