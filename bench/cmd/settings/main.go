// Command settings compares the cost of member searches under other index
// settings or request shapes, raw against Meilisearch, with today's as the
// baseline in the same run: the exploration step of tuning, before a
// candidate goes into search/indexes.json and is measured by `make bench`
// and judged by the relevance set (package relevance).
//
// It indexes the bench's seeded synthetic library (-docs passages) once
// per settings variant, into indexes of their own beside the public site's,
// then sends the bench's member query mix: at one connection each query to
// every variant in turn, starting with a different one each time (so that
// the machine's noise and the caches' warmth fall on all alike); at more
// connections (-conns) the whole mix to one variant at a time, in rotating
// order. It prints p50 and p99 per variant with their ratios to the
// baseline. A variant that equals the baseline ("same") shows how large
// the noise is.
//
//	cd bench && go run ./cmd/settings -variants proximity,neither -conns 1,16
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
	"strconv"
	"strings"
	"sync"
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
	connList := fs.String("conns", "1,16", "connections: at 1, every query goes to each variant in turn; at more, each variant gets the whole mix at once, variants in rotating order")
	err := fs.Parse(args)
	if err != nil {
		return err
	}
	if *root, err = filepath.Abs(*root); err != nil {
		return err
	}
	var conns []int
	for _, f := range strings.Split(*connList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-conns: %q is not a number of connections", f)
		}
		conns = append(conns, n)
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
	sides := append([]variant{{name: "baseline"}}, chosen...)
	for _, n := range conns {
		lat := map[string][]time.Duration{}
		for r := range *reps {
			if n == 1 {
				if err := interleaved(ctx, c, m, qs, sides, lat); err != nil {
					return err
				}
				continue
			}
			for k := range sides {
				v := sides[(r+k)%len(sides)]
				l, err := concurrent(ctx, bench.NewHTTPClient(n), m, qs, v, n)
				if err != nil {
					return err
				}
				lat[v.name] = append(lat[v.name], l...)
			}
		}
		base50, base99 := quantile(lat["baseline"], 0.5), quantile(lat["baseline"], 0.99)
		fmt.Printf("%d member queries × %d, %d connection(s), raw Meilisearch, %d passages\n", len(qs), *reps, n, *docs)
		for _, v := range sides {
			l := lat[v.name]
			p50, p99 := quantile(l, 0.5), quantile(l, 0.99)
			fmt.Printf("%-16s p50 %7.2f ms (%.2f×)  p99 %7.2f ms (%.2f×)  %s\n", v.name, ms(p50), ms(p50)/ms(base50), ms(p99), ms(p99)/ms(base99), v.doc)
		}
	}
	return nil
}

// interleaved sends every query to each side in turn, one at a time. Each
// query starts with another side, so that no side always meets the query
// first, before Meilisearch's caches do.
func interleaved(ctx context.Context, c *http.Client, m *bench.Meili, qs []bench.Query, sides []variant, lat map[string][]time.Duration) error {
	for i, q := range qs {
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
	return nil
}

// concurrent sends the whole mix, shaped for v, over n connections at
// once and returns each query's latency.
func concurrent(ctx context.Context, c *http.Client, m *bench.Meili, qs []bench.Query, v variant, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan bench.Query)
	out := make(chan time.Duration, len(qs))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for q := range next {
				path, body, err := shape(q, v)
				if err == nil {
					start := time.Now()
					if err = send(ctx, c, m, http.MethodPost, path, body); err == nil {
						out <- time.Since(start)
						continue
					}
				}
				cancel(err)
			}
		})
	}
	for _, q := range qs {
		select {
		case next <- q:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	close(out)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	var l []time.Duration
	for d := range out {
		l = append(l, d)
	}
	return l, nil
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
