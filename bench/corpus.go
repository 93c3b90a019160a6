// Package bench is the portal's benchmark harness: a seeded synthetic
// research library, the query mixes, the loads (vegeta, portal and raw
// Meilisearch alternating), and the report.
package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"portal/search"
)

// Corpus sizes, as the issue states them.
const (
	minAbstractWords = 100
	maxAbstractWords = 300
	minBodyWords     = 300
	maxBodyWords     = 3000
	passageWords     = 300 // a PDF page's worth
)

// Record is one synthetic research document with its passages, in the
// shape the portal's indexer takes.
type Record struct {
	Doc      search.ResearchDoc
	Passages []search.ResearchPassage
}

// Vocab is what the generator draws metadata from.
type Vocab struct {
	Topics      []string            // topic ids
	TopicLabels map[string][]string // id → labels in en, fr, es, ar
	Countries   []string
}

// LoadVocab reads the portal's topic and country vocabularies from the
// repository (research/topics.json, research/countries.json), falling back
// to built-in lists when they are missing.
func LoadVocab(root string) Vocab {
	v := Vocab{TopicLabels: map[string][]string{}}
	var topics []struct {
		ID     string            `json:"id"`
		Labels map[string]string `json:"labels"`
	}
	if b, err := os.ReadFile(filepath.Join(root, "research", "topics.json")); err == nil && json.Unmarshal(b, &topics) == nil && len(topics) > 0 {
		for _, t := range topics {
			v.Topics = append(v.Topics, t.ID)
			for _, l := range []string{"en", "fr", "es", "ar"} {
				if s := t.Labels[l]; s != "" {
					// As search.ResearchIndexer indexes them.
					v.TopicLabels[t.ID] = append(v.TopicLabels[t.ID], search.NormalizeArabic(s))
				}
			}
		}
	} else {
		v.Topics = defaultTopics
		for _, t := range v.Topics {
			v.TopicLabels[t] = []string{strings.ReplaceAll(t, "-", " ")}
		}
	}
	var countries []struct {
		Code string `json:"code"`
	}
	if b, err := os.ReadFile(filepath.Join(root, "research", "countries.json")); err == nil && json.Unmarshal(b, &countries) == nil && len(countries) > 0 {
		// Real libraries mention few countries often and most rarely: the
		// generator draws from the first ones with a Zipf law, the others
		// stay in the tail.
		for _, c := range countries {
			v.Countries = append(v.Countries, c.Code)
		}
	} else {
		v.Countries = defaultCountries
	}
	return v
}

// Generator makes records deterministically: record i depends only on the
// seed and i, so a smaller corpus is a prefix of a larger one.
type Generator struct {
	Seed  uint64
	Vocab Vocab
	// countryOrder puts frequently studied countries first.
	countryOrder []string
}

// NewGenerator returns a generator for seed.
func NewGenerator(seed uint64, v Vocab) *Generator {
	g := &Generator{Seed: seed, Vocab: v}
	r := rand.New(rand.NewPCG(seed, 0x636f756e74726965))
	g.countryOrder = append([]string(nil), v.Countries...)
	r.Shuffle(len(g.countryOrder), func(i, j int) { g.countryOrder[i], g.countryOrder[j] = g.countryOrder[j], g.countryOrder[i] })
	return g
}

// lexicon draws words with Zipf-like frequencies.
type lexicon struct {
	words []string
	zipf  *rand.Zipf
}

func newLexicon(r *rand.Rand, words []string) lexicon {
	return lexicon{words: words, zipf: rand.NewZipf(r, 1.07, 2, uint64(len(words)-1))}
}

func (l lexicon) word() string { return l.words[l.zipf.Uint64()] }

// Record returns record i.
func (g *Generator) Record(i int) Record {
	r := rand.New(rand.NewPCG(g.Seed, uint64(i)+1))
	lang := pickWeighted(r, []string{"en", "fr", "es", "ar"}, []int{82, 7, 6, 5})
	var lexes []lexicon
	var weights []int
	switch lang {
	case "en":
		lexes = []lexicon{newLexicon(r, englishDomain), newLexicon(r, englishCommon)}
		weights = []int{55, 45}
	case "fr":
		lexes = []lexicon{newLexicon(r, frenchWords), newLexicon(r, englishDomain)}
		weights = []int{85, 15}
	case "es":
		lexes = []lexicon{newLexicon(r, spanishWords), newLexicon(r, englishDomain)}
		weights = []int{85, 15}
	case "ar":
		lexes = []lexicon{newLexicon(r, arabicWords), newLexicon(r, englishDomain)}
		weights = []int{85, 15}
	}
	text := func(n int) string {
		var b strings.Builder
		b.Grow(n * 9)
		sentence := 0
		for k := 0; k < n; k++ {
			w := lexes[pickIndex(r, weights)].word()
			if sentence == 0 {
				w = capitalise(w)
				sentence = 8 + r.IntN(14)
			}
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
			sentence--
			if sentence == 0 || k == n-1 {
				b.WriteByte('.')
			}
		}
		return b.String()
	}

	d := search.ResearchDoc{
		ID:       fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()),
		Version:  1,
		Title:    strings.TrimSuffix(text(5+r.IntN(8)), ".") + " (synthetic)",
		Abstract: "Synthetic record for benchmarks. " + text(minAbstractWords+r.IntN(maxAbstractWords-minAbstractWords+1)),
		Year:     2000 + r.IntN(27),
		Language: lang,
		Type:     docTypes[r.IntN(len(docTypes))],
		TLP:      pickWeighted(r, tlpLabels, tlpWeights),
	}
	d.Organisation = organisations[r.IntN(len(organisations))]
	for range 1 + r.IntN(3) {
		d.Authors = append(d.Authors, initials[r.IntN(len(initials))]+". "+surnames[r.IntN(len(surnames))])
	}
	d.Topics = pickDistinct(r, g.Vocab.Topics, 1+r.IntN(3), 1.2)
	for _, t := range d.Topics {
		d.TopicLabels = append(d.TopicLabels, g.Vocab.TopicLabels[t]...)
	}
	d.Countries = pickDistinct(r, g.countryOrder, r.IntN(4), 1.3)
	d.Regions = pickDistinct(r, regions, 1+r.IntN(2), 1.5)
	// Every document is shared with at least one group; specialist material
	// with its specialist group, often with all members too.
	d.AccessGroups = pickDistinct(r, accessGroups, 1+r.IntN(2), 1.1)
	d.UpdatedAt = time.Date(d.Year, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)

	body := minBodyWords + r.IntN(maxBodyWords-minBodyWords+1)
	rec := Record{Doc: d}
	for n, left := 1, body; left > 0; n++ {
		take := passageWords
		if left-take < passageWords/3 {
			take = left // no stub passage at the end
		}
		rec.Passages = append(rec.Passages, search.ResearchPassage{Number: n, Text: text(take)})
		left -= take
	}
	return rec
}

func capitalise(w string) string {
	if w == "" || w[0] < 'a' || w[0] > 'z' {
		return w
	}
	return string(w[0]-'a'+'A') + w[1:]
}

func pickIndex(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func pickWeighted(r *rand.Rand, vals []string, weights []int) string {
	return vals[pickIndex(r, weights)]
}

// pickDistinct draws n distinct values, earlier ones more often (Zipf with
// exponent s), in the order of vals.
func pickDistinct(r *rand.Rand, vals []string, n int, s float64) []string {
	n = min(n, len(vals))
	if n == 0 {
		return []string{}
	}
	z := rand.NewZipf(r, max(s, 1.01), 1.5, uint64(len(vals)-1))
	seen := map[int]bool{}
	for len(seen) < n {
		seen[int(z.Uint64())] = true
	}
	out := make([]string, 0, n)
	for i, v := range vals {
		if seen[i] {
			out = append(out, v)
		}
	}
	return out
}

// Records returns records [from, to).
func (g *Generator) Records(from, to int) []Record {
	out := make([]Record, to-from)
	for i := range out {
		out[i] = g.Record(from + i)
	}
	return out
}

// Stats sums what a set of records holds.
type Stats struct {
	Documents, Passages int
	Words               int
	Bytes               int64 // NDJSON bytes of the index records
	Languages           map[string]int
}

// WriteNDJSON writes the records' index records, one JSON object a line,
// and returns what it wrote.
func WriteNDJSON(w io.Writer, recs []Record) (Stats, error) {
	st := Stats{Languages: map[string]int{}}
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	enc := json.NewEncoder(cw)
	enc.SetEscapeHTML(false)
	for _, rec := range recs {
		st.Documents++
		st.Languages[rec.Doc.Language]++
		for _, pr := range search.ResearchRecords(rec.Doc, rec.Passages) {
			st.Passages++
			st.Words += len(strings.Fields(pr.Text))
			if err := enc.Encode(pr); err != nil {
				return st, err
			}
		}
		st.Words += len(strings.Fields(rec.Doc.Abstract))
	}
	if err := bw.Flush(); err != nil {
		return st, err
	}
	st.Bytes = cw.n
	return st, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
