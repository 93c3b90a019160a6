// Command settings compares the cost of member searches under other index
// settings or request shapes, raw against Meilisearch, with today's as the
// baseline in the same run: the exploration step of tuning, before a
// candidate goes into search/indexes.json and is measured by `make bench`
// and judged by the relevance set (package relevance).
//
// It indexes the bench's seeded synthetic library (-docs passages) once
// per settings variant, into indexes of their own beside the public site's,
// then sends the bench's member query mix, each query to every variant in
// turn, starting with a different one each time (so that the machine's
// noise and the caches' warmth fall on all alike), and prints p50
// and p99 per variant with its ratio to the baseline. A variant that equals
// the baseline ("same") shows how large the noise is.
//
//	cd bench && go run ./cmd/settings -variants proximity,neither
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"portal/bench"
	"portal/search"
)

// variant changes either the research index's settings (patch, applied to
// an index of its own) or each member request (edit, on the baseline index).
type variant struct {
	name, doc string
	patch     string
	edit      func(req map[string]any)
}

func variants() []variant {
	research := func(req map[string]any, f func(q map[string]any)) {
		qs, ok := req["queries"].([]any)
		if !ok {
			f(req) // a research-only search
			return
		}
		for _, q := range qs {
			if q := q.(map[string]any); q["indexUid"] == search.IndexResearch {
				f(q)
			}
		}
	}
	return []variant{
		{name: "same", doc: "the baseline again: the noise of the run", edit: func(map[string]any) {}},
		{name: "proximity", doc: `proximityPrecision "byAttribute"`, patch: `{"proximityPrecision":"byAttribute"}`},
		{name: "prefix", doc: `prefixSearch "disabled"`, patch: `{"prefixSearch":"disabled"}`},
		{name: "facet-values", doc: "faceting.maxValuesPerFacet 100", patch: `{"faceting":{"maxValuesPerFacet":100}}`},
		{name: "no-highlight", doc: "research passages not highlighted (still cropped)", edit: func(req map[string]any) {
			research(req, func(q map[string]any) { delete(q, "attributesToHighlight") })
		}},
		{name: "no-crop", doc: "research passages not cropped (still highlighted)", edit: func(req map[string]any) {
			research(req, func(q map[string]any) { delete(q, "attributesToCrop") })
		}},
		{name: "neither", doc: "research passages neither highlighted nor cropped", edit: func(req map[string]any) {
			research(req, func(q map[string]any) { delete(q, "attributesToHighlight"); delete(q, "attributesToCrop") })
		}},
		{name: "match-positions", doc: "whole passages with match positions instead of Meilisearch's formatting", edit: func(req map[string]any) {
			research(req, func(q map[string]any) {
				delete(q, "attributesToHighlight")
				delete(q, "attributesToCrop")
				q["showMatchesPosition"] = true
				q["attributesToRetrieve"] = append(q["attributesToRetrieve"].([]any), "text")
			})
		}},
		{name: "locales", doc: "research query tokenised as English (locales [eng]): the cost of language detection", edit: func(req map[string]any) {
			research(req, func(q map[string]any) { q["locales"] = []any{"eng"} })
		}},
		{name: "retrieve-less", doc: "only doc_id retrieved beside the formatted passage", edit: func(req map[string]any) {
			research(req, func(q map[string]any) { q["attributesToRetrieve"] = []any{"doc_id"} })
		}},
		{name: "crop-10", doc: "passages cropped to 10 words instead of 30", edit: func(req map[string]any) {
			research(req, func(q map[string]any) { q["attributesToCrop"] = []any{"text:10"} })
		}},
		{name: "text-raw", doc: "passages retrieved whole, not formatted (for formatting in the portal)", edit: func(req map[string]any) {
			research(req, func(q map[string]any) {
				delete(q, "attributesToHighlight")
				delete(q, "attributesToCrop")
				q["attributesToRetrieve"] = append(q["attributesToRetrieve"].([]any), "text")
			})
		}},
		{name: "hits-10", doc: "10 hits a page instead of 20", edit: func(req map[string]any) {
			if _, ok := req["hitsPerPage"]; ok {
				req["hitsPerPage"] = 10
			}
			if fed, ok := req["federation"].(map[string]any); ok {
				fed["limit"] = 10
			}
		}},
		{name: "no-facets", doc: "no facet distribution", edit: func(req map[string]any) {
			delete(req, "facets")
			if fed, ok := req["federation"].(map[string]any); ok {
				delete(fed, "facetsByIndex")
				delete(fed, "mergeFacets")
			}
		}},
		{name: "fewer-facets", doc: "four research facets instead of seven", edit: func(req map[string]any) {
			small := []any{"topics", "type", "language", "tlp"}
			if _, ok := req["facets"]; ok {
				req["facets"] = small
			}
			if fed, ok := req["federation"].(map[string]any); ok {
				fed["facetsByIndex"] = map[string]any{search.IndexResearch: small}
			}
		}},
	}
}

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "settings:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	root := fs.String("root", "..", "repository root")
	docs := fs.Int("docs", 20000, "passages in the research index")
	queries := fs.Int("queries", 300, "distinct member queries")
	reps := fs.Int("reps", 2, "times each query is sent to each variant")
	names := fs.String("variants", "same,no-highlight,no-crop,neither", "variants to compare with the baseline: "+variantNames())
	err := fs.Parse(args)
	if err != nil {
		return err
	}
	if *root, err = filepath.Abs(*root); err != nil {
		return err
	}
	var chosen []variant
	for _, n := range strings.Split(*names, ",") {
		i := slices.IndexFunc(variants(), func(v variant) bool { return v.name == n })
		if i < 0 {
			return fmt.Errorf("unknown variant %q (known: %s)", n, variantNames())
		}
		chosen = append(chosen, variants()[i])
	}
	if os.Getenv("MEILI_BIN") == "" {
		os.Setenv("MEILI_BIN", filepath.Join(*root, ".tools", "meilisearch"))
	}
	work, err := os.MkdirTemp("", "portal-settings-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	siteDir := filepath.Join(work, "site")
	if _, out, err := bench.Hugo(ctx, *root, filepath.Join(*root, "site"), siteDir); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	m, err := bench.StartMeili(ctx, filepath.Join(work, "meili"))
	if err != nil {
		return err
	}
	defer m.Stop()
	pages, err := search.ReadFeeds(siteDir)
	if err != nil {
		return err
	}
	ix := search.NewIndexer(m.Admin(), nil)
	if err := ix.IndexSite(ctx, pages); err != nil {
		return err
	}
	if err := ix.EnsureIndexes(ctx); err != nil {
		return err
	}

	vocab := bench.LoadVocab(*root)
	g := bench.NewGenerator(1, vocab)
	var recs []bench.Record
	for i, n := 0, 0; n < *docs; i++ {
		r := g.Record(i)
		recs = append(recs, r)
		n += len(r.Passages)
	}
	var nd bytes.Buffer
	if _, err := bench.WriteNDJSON(&nd, recs); err != nil {
		return err
	}
	c := bench.NewHTTPClient(1)
	index := func(uid, patch string) error {
		if err := m.RecreateIndex(ctx, uid); err != nil {
			return err
		}
		if patch != "" {
			if err := send(ctx, c, m, http.MethodPatch, "/indexes/"+uid+"/settings", []byte(patch)); err != nil {
				return err
			}
			// The bulk upload's task queues behind the settings task.
		}
		d, err := m.BulkNDJSON(ctx, uid, nd.Bytes())
		fmt.Fprintf(os.Stderr, "%s: %d passages indexed in %s\n", uid, *docs, d.Round(time.Millisecond))
		return err
	}
	if err := index(search.IndexResearch, ""); err != nil {
		return err
	}
	for _, v := range chosen {
		if v.patch != "" {
			if err := index(search.IndexResearch+"_"+v.name, v.patch); err != nil {
				return err
			}
		}
	}

	members := []bench.Member{{Groups: []string{"access-blocking", "members", "trainers", "victim-identification"}}}
	qs, err := bench.MemberQueries(bench.MemberMix(1, *queries, vocab), members)
	if err != nil {
		return err
	}
	lat := map[string][]time.Duration{}
	sides := append([]variant{{name: "baseline"}}, chosen...)
	for range *reps {
		for i, q := range qs {
			// Each query starts with another side, so that no side always
			// meets the query first, before Meilisearch's caches do.
			for k := range sides {
				v := sides[(i+k)%len(sides)]
				path, body, err := shape(q, v)
				if err != nil {
					return err
				}
				start := time.Now()
				if err := send(ctx, c, m, http.MethodPost, path, body); err != nil {
					return err
				}
				lat[v.name] = append(lat[v.name], time.Since(start))
			}
		}
	}
	base := quantile(lat["baseline"], 0.5)
	fmt.Printf("%d member queries × %d, 1 connection, raw Meilisearch, %d passages\n", len(qs), *reps, *docs)
	for _, v := range sides {
		l := lat[v.name]
		p50 := quantile(l, 0.5)
		fmt.Printf("%-16s p50 %7.2f ms (%.2f×)  p99 %7.2f ms  %s\n", v.name, ms(p50), ms(p50)/ms(base), ms(quantile(l, 0.99)), v.doc)
	}
	return nil
}

// shape rewrites a query of the mix for variant v: its own index, or its
// edit of the request.
func shape(q bench.Query, v variant) (string, []byte, error) {
	switch {
	case v.patch != "":
		uid := search.IndexResearch + "_" + v.name
		body := bytes.ReplaceAll(q.RawBody, []byte(`"`+search.IndexResearch+`"`), []byte(`"`+uid+`"`))
		return strings.Replace(q.RawPath, "/indexes/"+search.IndexResearch+"/", "/indexes/"+uid+"/", 1), body, nil
	case v.edit != nil:
		var req map[string]any
		if err := json.Unmarshal(q.RawBody, &req); err != nil {
			return "", nil, err
		}
		v.edit(req)
		body, err := json.Marshal(req)
		return q.RawPath, body, err
	}
	return q.RawPath, q.RawBody, nil
}

func send(ctx context.Context, c *http.Client, m *bench.Meili, method, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, m.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+m.MasterKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return errors.New(method + " " + path + ": " + resp.Status + ": " + string(b[:min(300, len(b))]))
	}
	return nil
}

func variantNames() string {
	var s []string
	for _, v := range variants() {
		s = append(s, v.name)
	}
	return strings.Join(s, ", ")
}

func quantile(l []time.Duration, q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*q)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
