package relevance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/language"
	"portal/portaltest"
	"portal/relevance"
)

func TestMain(m *testing.M) {
	code := m.Run()
	portaltest.RemoveSite()
	os.Exit(code)
}

func TestNDCG(t *testing.T) {
	rel := map[string]int{"a": 3, "b": 2, "c": 1}
	cases := []struct {
		ranked []string
		want   float64
	}{
		{[]string{"a", "b", "c"}, 1},
		{[]string{"x", "y"}, 0},
		{nil, 0},
		// DCG = 3/log2(3) + 7/log2(4) = 1.8928 + 3.5 = 5.3928;
		// IDCG = 7 + 3/log2(3) + 1/2 = 9.3928.
		{[]string{"x", "b", "a"}, (3/math.Log2(3) + 7.0/2) / (7 + 3/math.Log2(3) + 0.5)},
	}
	for _, tc := range cases {
		if got := relevance.NDCG(tc.ranked, rel, 10); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("NDCG(%v) = %v, want %v", tc.ranked, got, tc.want)
		}
	}
	// Depth counts: the best answer at rank 11 earns nothing at depth 10.
	deep := append(slices.Repeat([]string{"x"}, 10), "a")
	if got := relevance.NDCG(deep, rel, 10); got != 0 {
		t.Errorf("answer below depth counted: %v", got)
	}
	if !relevance.Success([]string{"x", "y", "a"}, rel, 3) || relevance.Success([]string{"b", "c", "x", "a"}, rel, 3) {
		t.Error("success@3 must need a grade-3 answer among the first three")
	}
}

// The set is what issue 15 asks for: at least 80 queries, every site
// language, both scopes, each kind of difficulty; and every judged answer
// exists, so that a renamed page cannot silently lower the bar.
func TestJudgedSetIsComplete(t *testing.T) {
	queries, err := relevance.Queries()
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 80 {
		t.Errorf("%d queries, want at least 80", len(queries))
	}
	corpus, err := relevance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]bool{}
	for _, r := range corpus {
		text := strings.ToLower(r.Title + " " + r.Text)
		if !slices.ContainsFunc([]string{"synthetic", "synthétique", "sintétic", "اصطناعي"}, func(w string) bool { return strings.Contains(text, w) }) {
			t.Errorf("record %s does not say it is synthetic", r.Key)
		}
		records[r.Key] = true
	}
	dir, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]bool{}
	for _, lang := range language.All() {
		raw, err := os.ReadFile(filepath.Join(dir, lang, "search-feed.json"))
		if err != nil {
			t.Fatal(err)
		}
		var feed struct{ Pages []struct{ URL string } }
		if err := json.Unmarshal(raw, &feed); err != nil {
			t.Fatal(err)
		}
		for _, p := range feed.Pages {
			pages[p.URL] = true
		}
	}
	count := map[string]int{}
	for _, q := range queries {
		count["lang:"+q.Lang]++
		count["scope:"+q.Scope]++
		for _, tag := range q.Tags {
			count[tag]++
		}
		for key := range q.Relevant {
			if q.Scope == relevance.ScopePublic && !pages["/"+q.Lang+"/"+key] {
				t.Errorf("query %s judges /%s/%s, which is not a page", q.ID, q.Lang, key)
			}
			if q.Scope == relevance.ScopeResearch && !records[key] {
				t.Errorf("query %s judges record %s, which is not in the corpus", q.ID, key)
			}
		}
	}
	for _, want := range []string{"lang:en", "lang:fr", "lang:es", "lang:ar", "scope:public", "scope:research",
		"typo", "synonym", "acronym", "arabic-variant", "filter"} {
		if count[want] < 4 {
			t.Errorf("%s: %d queries, want at least 4", want, count[want])
		}
	}
}

// Floors set from the first honest measurement (2026-12-04, before any
// tuning: nDCG@10 0.919, success@3 0.988), a little under it so that
// Meilisearch's tie order cannot fail the suite; a change that ranks worse
// fails here. `make bench` reports the current figures.
const (
	minNDCG    = 0.90
	minSuccess = 0.95
)

// TestJudgedRelevance runs the judged set through the real search path: a
// Hugo build of the public site indexed in a real Meilisearch, the
// synthetic corpus uploaded through the API, searches through the API.
func TestJudgedRelevance(t *testing.T) {
	p := portaltest.Start(t, portaltest.Options{SecretRate: 1000})
	u := p.SeedUser(t, account.RoleMember, "victim-identification", "access-blocking", "trainers")
	member := p.NewClient(t)
	member.Login(u.Email, u.Password, u.TOTPSecret, time.Now())
	ids, err := uploadCorpus(member)
	if err != nil {
		t.Fatal(err)
	}
	anon := p.NewClient(t)
	getter := func(c *portaltest.Client) relevance.Getter {
		return func(_ context.Context, path string) ([]byte, error) {
			resp, body := c.Do(http.MethodGet, path, nil)
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			return body, nil
		}
	}
	queries, err := relevance.Queries()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := relevance.Evaluate(t.Context(), queries, relevance.APIRunner(getter(anon), getter(member), ids))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Log("\n" + b.String())
	if path := os.Getenv("PORTAL_RELEVANCE_REPORT"); path != "" {
		writeReport(t, path, rep)
	}
	if rep.All.NDCG < minNDCG || rep.All.Success < minSuccess {
		t.Errorf("nDCG@10 %.3f (floor %.2f), success@3 %.3f (floor %.2f)", rep.All.NDCG, minNDCG, rep.All.Success, minSuccess)
	}
}

func uploadCorpus(c *portaltest.Client) (map[string]string, error) {
	corpus, err := relevance.Corpus()
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, r := range corpus {
		resp, body := c.Upload(http.MethodPost, "/api/research", r.Metadata(), r.Key+".txt", []byte(r.Title+"\n\n"+r.Text+"\n"))
		if resp.StatusCode != http.StatusCreated {
			return nil, fmt.Errorf("upload %s: %d %s", r.Key, resp.StatusCode, body)
		}
		var d struct{ ID, IndexState string }
		if err := json.Unmarshal(body, &d); err != nil {
			return nil, err
		}
		if d.IndexState != "indexed" {
			return nil, fmt.Errorf("upload %s: index state %q", r.Key, d.IndexState)
		}
		ids[d.ID] = r.Key
	}
	return ids, nil
}

// writeReport leaves the figures for `make bench` (bench.Relevance).
func writeReport(t *testing.T, path string, rep relevance.Report) {
	out := map[string]any{"queries": rep.All.Queries, "ndcg10": rep.All.NDCG, "success3": rep.All.Success}
	byLang := map[string]float64{}
	for l, s := range rep.ByLang {
		byLang[l] = s.NDCG
	}
	out["ndcg10_by_lang"] = byLang
	misses := []string{}
	for _, r := range rep.Results {
		if !r.Success {
			misses = append(misses, r.Query.ID)
		}
	}
	out["misses"] = misses
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
