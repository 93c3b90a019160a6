package lighthouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/portaltest"
	"portal/site"
)

// Every template of the public site, in English and in Arabic (right to
// left), must score 100 in Lighthouse's performance, accessibility, best
// practices and SEO categories. The failure lists each audit that lost
// points, with the elements or resources it faults.
//
// The preset is desktop. The suite runs on a small machine shared with the
// other test binaries, and the mobile preset multiplies the main thread's
// observed time by four: on this machine it judged the load of the moment
// (the same page's blocking time went from 100 ms to 480 ms between two
// runs), not the page. Desktop keeps the CPU as measured and simulates a
// 10 Mbit/s, 40 ms link, so what it judges is what a page asks of the
// browser, with the stricter desktop thresholds on paint times. Lighthouse's
// throttling is simulated from the page's own trace, so the run never waits
// on a slowed network.
//
// Performance still varies from run to run (Lighthouse's documentation on
// variability advises several runs): a page that loses points in
// performance alone is run once more and judged on its better run. Every
// other category is judged on the first. A run that Lighthouse could not
// complete (it sometimes fails to record a trace, and asks to be run again)
// is run once more too, and judged on its second run.
//
// The 404 page's exceptions are asserted rather than skipped: it must
// answer 404 (so the browser logs the page's own 404 as a console error) and
// keep itself out of search engines, which are exactly the audits it must
// fail; every other audit must pass.
func TestLighthouse(t *testing.T) {
	chrome := "/usr/bin/chromium"
	if _, err := os.Stat(chrome); err != nil {
		t.Fatalf("Debian's Chromium is missing (%v): run scripts/install-test-deps", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing: run scripts/install-test-deps")
	}
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "lighthouse", "package.json")); err != nil {
		t.Fatalf("the lighthouse package is missing: run scripts/install-test-deps (npm ci)")
	}

	// The real portal serves the built site and renders the search results.
	p := portaltest.Start(t, portaltest.Options{})
	var checks []check
	for _, lang := range []string{"en", "ar"} {
		q := map[string]string{"en": "notices", "ar": "الأطفال"}[lang]
		l := "/" + lang + "/"
		checks = append(checks,
			check{template: "home", path: l},
			check{template: "section", path: l + "access-blocking/"},
			check{template: "article", path: l + "access-blocking/worst-of-list/"},
			check{template: "training module", path: l + "training/recognising-and-reporting/"},
			check{template: "lesson", path: l + "training/recognising-and-reporting/01-what-it-is/"},
			check{template: "quiz", path: l + "training/recognising-and-reporting/quiz/"},
			check{template: "glossary", path: l + "glossary/"},
			check{template: "search results", path: l + "search/?q=" + q},
			check{template: "404", path: l + "no-such-page/", errorPage: true,
				mustFail: []string{"http-status-code", "is-crawlable", "errors-in-console"}},
		)
	}
	for i := range checks {
		checks[i].url = p.URL + checks[i].path
	}

	load := loadAverage()
	start := time.Now()
	results := runLighthouse(t, node, root, checks)
	var again []check
	for i, r := range results {
		if r.perfFailures(checks[i]) > 0 || r.RuntimeError != "" {
			again = append(again, checks[i])
		}
	}
	if len(again) > 0 {
		second := runLighthouse(t, node, root, again)
		for j, c := range again {
			i := slices.IndexFunc(checks, func(x check) bool { return x.url == c.url })
			// The retry counts when it failed nothing but performance,
			// and less of it.
			first, retry := results[i], second[j]
			if n := retry.perfFailures(c); first.RuntimeError != "" || (n >= 0 &&
				(n < first.perfFailures(c) || retry.Scores["performance"] > first.Scores["performance"])) {
				results[i] = retry
			}
		}
	}
	took := time.Since(start)
	t.Logf("Lighthouse ran %d pages (%d twice) in %s", len(checks), len(again), took.Round(time.Second))
	if took > 2*time.Minute {
		if load > float64(runtime.NumCPU()) {
			t.Logf("over two minutes, but the machine was loaded beyond its %d CPUs (load average %.1f) when it started", runtime.NumCPU(), load)
		} else {
			t.Errorf("the Lighthouse run took %s, more than its two minutes", took.Round(time.Second))
		}
	}

	for i, r := range results {
		judge(t, checks[i], r)
	}
}

type check struct {
	template, path, url string
	errorPage           bool     // answers an error status on purpose
	mustFail            []string // audits the page must fail, by design
}

type result struct {
	URL          string         `json:"url"`
	RuntimeError string         `json:"runtimeError"`
	Scores       map[string]int `json:"scores"`
	Failing      []struct {
		Category     string   `json:"category"`
		ID           string   `json:"id"`
		Title        string   `json:"title"`
		Score        float64  `json:"score"`
		DisplayValue string   `json:"displayValue"`
		Items        []string `json:"items"`
		URLs         []string `json:"urls"`
	} `json:"failing"`
}

// perfFailures counts the performance audits a run failed, or -1 when it
// also failed an audit of another category that c does not expect: only
// performance varies with the machine's load, so only such a run is worth
// repeating.
func (r result) perfFailures(c check) int {
	if r.RuntimeError != "" {
		return -1
	}
	n := 0
	for _, f := range r.Failing {
		switch {
		case slices.Contains(c.mustFail, f.ID):
		case f.Category == "performance":
			n++
		default:
			return -1
		}
	}
	return n
}

// runLighthouse runs site/lighthouse/run.mjs on the pages of checks, in
// order, with one Chromium.
func runLighthouse(t *testing.T, node, root string, checks []check) []result {
	t.Helper()
	type pageIn struct {
		URL              string `json:"url"`
		IgnoreStatusCode bool   `json:"ignoreStatusCode"`
	}
	in := struct {
		Chrome string   `json:"chrome"`
		Preset string   `json:"preset"`
		Pages  []pageIn `json:"pages"`
	}{Chrome: "/usr/bin/chromium", Preset: "desktop"}
	for _, c := range checks {
		in.Pages = append(in.Pages, pageIn{URL: c.url, IgnoreStatusCode: c.errorPage})
	}
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "site", "lighthouse", "run.mjs"))
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lighthouse: %v\n%s", err, stderr.Bytes())
	}
	var results []result
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("lighthouse output: %v\n%s\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	if len(results) != len(checks) {
		t.Fatalf("%d results for %d pages", len(results), len(checks))
	}
	return results
}

// judge fails the test for every point a page lost that it may not lose.
func judge(t *testing.T, c check, r result) {
	t.Helper()
	name := fmt.Sprintf("%s (%s)", c.template, c.path)
	if r.RuntimeError != "" {
		t.Errorf("%s: Lighthouse could not run: %s", name, r.RuntimeError)
		return
	}
	failed := map[string]bool{}
	excused := map[string]bool{} // categories where an expected failure costs points
	var lost []string
	for _, f := range r.Failing {
		if slices.Contains(c.mustFail, f.ID) {
			failed[f.ID] = true
			excused[f.Category] = true
			if f.ID == "errors-in-console" {
				// Only the page's own 404 may be logged.
				for _, u := range f.URLs {
					if u != c.url {
						t.Errorf("%s: console error from %q, not the page's own status: %v", name, u, f.Items)
					}
				}
			}
			continue
		}
		line := fmt.Sprintf("  %s: %s (%s) score %.2f %s", f.Category, f.ID, f.Title, f.Score, f.DisplayValue)
		for _, it := range f.Items {
			line += "\n      " + it
		}
		lost = append(lost, line)
	}
	for _, id := range c.mustFail {
		if !failed[id] {
			t.Errorf("%s: audit %s passed, but this page must fail it", name, id)
		}
	}
	for _, cat := range []string{"performance", "accessibility", "best-practices", "seo"} {
		score, ok := r.Scores[cat]
		switch {
		case !ok:
			t.Errorf("%s: no %s score", name, cat)
		case score < 100 && !excused[cat]:
			t.Errorf("%s: %s %d, want 100", name, cat, score)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%s: failing audits:\n%s", name, strings.Join(lost, "\n"))
	}
}

// loadAverage is the machine's one-minute load average, or 0 where it
// cannot be read.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}
