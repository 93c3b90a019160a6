// Package relevance holds the portal's judged search set and the measures
// computed over it: nDCG@10 and success@3. The set (judged.json) lists
// queries in the four site languages, over the public pages and training
// and over a fixed synthetic research library (corpus.json), each with the
// pages or records that should rank first, graded by reading them. The tests
// of this package run it against the real search path; `make bench` reports
// the same figures beside the speed, so that a change to the index settings
// is judged on both.
package relevance

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

//go:embed judged.json
var judgedJSON []byte

//go:embed corpus.json
var corpusJSON []byte

// Scopes of a query.
const (
	ScopePublic   = "public"   // the public pages and training, in the query's language
	ScopeResearch = "research" // the research library, as a member of every group sees it
)

// Query is one judged query.
type Query struct {
	ID    string `json:"id"`
	Lang  string `json:"lang"`
	Scope string `json:"scope"`
	Q     string `json:"q"`
	// Section filters a public query to one section (its name in Lang).
	Section string `json:"section,omitempty"`
	// Filters are member search parameters of a research query (topics,
	// language, type, ...), as the API takes them.
	Filters map[string][]string `json:"filters,omitempty"`
	// Tags say what the query exercises: typo, synonym, acronym,
	// arabic-variant, filter.
	Tags []string `json:"tags"`
	// Relevant grades the answers: 3 should rank first, 2 is good, 1 is
	// acceptable; anything else is not relevant. Keys are page paths under
	// /Lang/ for public queries and corpus record keys for research ones.
	Relevant map[string]int `json:"relevant"`
}

// Key is how a ranked answer of q is named in q.Relevant: a public hit's URL
// without its language prefix, or a research record's corpus key.
func (q Query) Key(hitURL string) string {
	return strings.TrimPrefix(hitURL, "/"+q.Lang+"/")
}

// Record is one synthetic research record of the corpus, with the upload
// API's metadata fields.
type Record struct {
	Key       string   `json:"key"`
	Title     string   `json:"title"`
	Abstract  string   `json:"abstract"`
	Text      string   `json:"text"`
	Language  string   `json:"language"`
	Type      string   `json:"type"`
	Year      int      `json:"year"`
	Topics    []string `json:"topics"`
	Countries []string `json:"countries"`
	Regions   []string `json:"regions"`
	Access    []string `json:"access"`
	TLP       string   `json:"tlp"`
}

// Metadata is r as the research upload API takes it.
func (r Record) Metadata() map[string]any {
	return map[string]any{
		"title": r.Title, "authors": []string{"Synthetic Author"}, "organisation": "Relevance test library (synthetic)",
		"abstract": r.Abstract, "year": r.Year, "language": r.Language, "type": r.Type,
		"topics": r.Topics, "countries": r.Countries, "regions": r.Regions, "access": r.Access, "tlp": r.TLP,
	}
}

// Queries returns the judged set, checked for shape.
func Queries() ([]Query, error) {
	var f struct{ Queries []Query }
	if err := json.Unmarshal(judgedJSON, &f); err != nil {
		return nil, fmt.Errorf("relevance: judged.json: %w", err)
	}
	seen := map[string]bool{}
	for _, q := range f.Queries {
		switch {
		case seen[q.ID]:
			return nil, fmt.Errorf("relevance: query %s listed twice", q.ID)
		case q.Scope != ScopePublic && q.Scope != ScopeResearch:
			return nil, fmt.Errorf("relevance: query %s: scope %q", q.ID, q.Scope)
		case strings.TrimSpace(q.Q) == "":
			return nil, fmt.Errorf("relevance: query %s has no text", q.ID)
		case !slices.ContainsFunc(mapsValues(q.Relevant), func(g int) bool { return g == 3 }):
			return nil, fmt.Errorf("relevance: query %s names nothing that should rank first", q.ID)
		}
		for k, g := range q.Relevant {
			if g < 1 || g > 3 {
				return nil, fmt.Errorf("relevance: query %s: grade %d for %s", q.ID, g, k)
			}
		}
		seen[q.ID] = true
	}
	return f.Queries, nil
}

// Corpus returns the synthetic research library the research queries are
// judged over.
func Corpus() ([]Record, error) {
	var f struct{ Records []Record }
	if err := json.Unmarshal(corpusJSON, &f); err != nil {
		return nil, fmt.Errorf("relevance: corpus.json: %w", err)
	}
	return f.Records, nil
}

func mapsValues(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// gain is the usual exponential gain of graded relevance.
func gain(grade int) float64 { return math.Exp2(float64(grade)) - 1 }

// NDCG is the normalised discounted cumulative gain of ranked at depth k:
// 1 when the k first answers are the judged ones in the best order, 0 when
// none of them is judged relevant.
func NDCG(ranked []string, relevant map[string]int, k int) float64 {
	dcg := 0.0
	for i, key := range ranked[:min(k, len(ranked))] {
		dcg += gain(relevant[key]) / math.Log2(float64(i)+2)
	}
	ideal := mapsValues(relevant)
	slices.SortFunc(ideal, func(a, b int) int { return cmp.Compare(b, a) })
	idcg := 0.0
	for i, g := range ideal[:min(k, len(ideal))] {
		idcg += gain(g) / math.Log2(float64(i)+2)
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// Success reports whether an answer graded 3 (one that should rank first)
// is among the k first.
func Success(ranked []string, relevant map[string]int, k int) bool {
	return slices.ContainsFunc(ranked[:min(k, len(ranked))], func(key string) bool { return relevant[key] == 3 })
}

// Result is one query's answer and its measures.
type Result struct {
	Query   Query
	Ranked  []string // answer keys, best first
	NDCG    float64  // at depth 10
	Success bool     // at depth 3
}

// Summary is the mean of the measures over a set of queries.
type Summary struct {
	Queries int
	NDCG    float64 // mean nDCG@10
	Success float64 // share of queries with success@3
}

func summarise(rs []Result) Summary {
	s := Summary{Queries: len(rs)}
	for _, r := range rs {
		s.NDCG += r.NDCG
		if r.Success {
			s.Success++
		}
	}
	if len(rs) > 0 {
		s.NDCG /= float64(len(rs))
		s.Success /= float64(len(rs))
	}
	return s
}

// Report is the evaluation of the whole set.
type Report struct {
	Results []Result
	All     Summary
	ByLang  map[string]Summary
	ByScope map[string]Summary
}

// Runner answers one query with the keys of its ranked answers (Query.Key
// for public hits), best first, at least 10 when there are.
type Runner func(ctx context.Context, q Query) ([]string, error)

// Evaluate runs every query through run and measures the answers.
func Evaluate(ctx context.Context, queries []Query, run Runner) (Report, error) {
	rep := Report{ByLang: map[string]Summary{}, ByScope: map[string]Summary{}}
	byLang, byScope := map[string][]Result{}, map[string][]Result{}
	for _, q := range queries {
		ranked, err := run(ctx, q)
		if err != nil {
			return Report{}, fmt.Errorf("relevance: query %s: %w", q.ID, err)
		}
		r := Result{Query: q, Ranked: ranked, NDCG: NDCG(ranked, q.Relevant, 10), Success: Success(ranked, q.Relevant, 3)}
		rep.Results = append(rep.Results, r)
		byLang[q.Lang] = append(byLang[q.Lang], r)
		byScope[q.Scope] = append(byScope[q.Scope], r)
	}
	rep.All = summarise(rep.Results)
	for k, rs := range byLang {
		rep.ByLang[k] = summarise(rs)
	}
	for k, rs := range byScope {
		rep.ByScope[k] = summarise(rs)
	}
	return rep, nil
}

// WriteText writes the report's summaries, then each query that missed
// (success@3 false or nDCG@10 under 0.5) with what came first, for the
// person tuning the index.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "all: %d queries, nDCG@10 %.3f, success@3 %.3f\n", r.All.Queries, r.All.NDCG, r.All.Success)
	for _, group := range []map[string]Summary{r.ByScope, r.ByLang} {
		keys := make([]string, 0, len(group))
		for k := range group {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s := group[k]
			fmt.Fprintf(&b, "  %-8s %2d queries, nDCG@10 %.3f, success@3 %.3f\n", k, s.Queries, s.NDCG, s.Success)
		}
	}
	for _, res := range r.Results {
		if res.Success && res.NDCG >= 0.5 {
			continue
		}
		top := res.Ranked[:min(3, len(res.Ranked))]
		fmt.Fprintf(&b, "  miss %s %q: nDCG@10 %.2f, first %v\n", res.Query.ID, res.Query.Q, res.NDCG, top)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
