package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// pageBudget is page_weight_max_kb's target (bench/cmd/bench/report.go):
// no page's first view over 50 KB of gzip.
const pageBudget = 50_000

// TestPageWeightsWithinBudget builds the site with the pinned Hugo and
// holds every page to the weight budget, so that a bundle that grows past it
// fails here rather than in the next benchmark report. It logs the five
// heaviest pages.
func TestPageWeightsWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole site")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "public")
	if _, out, err := Hugo(ctx, root, filepath.Join(root, "site"), dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	weights, err := PageWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(weights) < 100 {
		t.Fatalf("%d pages measured, want the whole site", len(weights))
	}
	for i, w := range weights {
		if i < 5 {
			t.Logf("%s: %.1f KB (HTML %.1f, CSS %.1f, JS %.1f in %d scripts)", w.Page,
				float64(w.Total)/1000, float64(w.HTML)/1000, float64(w.CSS)/1000, float64(w.JS)/1000, w.Scripts)
		}
		if w.Total > pageBudget {
			t.Errorf("%s weighs %.1f KB, over the %d KB budget", w.Page, float64(w.Total)/1000, pageBudget/1000)
		}
		if len(w.Unresolved) > 0 {
			t.Errorf("%s references files not in the build: %v", w.Page, w.Unresolved)
		}
	}
}
