package bench

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testVocab() Vocab { return LoadVocab(filepath.Join("..")) }

func TestCorpusIsSeededAndPrefixStable(t *testing.T) {
	a := NewGenerator(7, testVocab()).Records(0, 30)
	b := NewGenerator(7, testVocab()).Records(10, 20)
	if !reflect.DeepEqual(a[10:20], b) {
		t.Fatal("record i must depend only on the seed and i")
	}
	if reflect.DeepEqual(a[0], NewGenerator(8, testVocab()).Record(0)) {
		t.Fatal("another seed gave the same record")
	}
}

func TestCorpusSizes(t *testing.T) {
	v := testVocab()
	if len(v.Topics) < 15 {
		t.Fatalf("%d topics; research/topics.json not read?", len(v.Topics))
	}
	for _, r := range NewGenerator(1, v).Records(0, 200) {
		abstract := len(strings.Fields(r.Doc.Abstract)) - 4 // "Synthetic record for benchmarks."
		if abstract < minAbstractWords || abstract > maxAbstractWords {
			t.Errorf("%s: abstract of %d words", r.Doc.ID, abstract)
		}
		body := 0
		for i, p := range r.Passages {
			n := len(strings.Fields(p.Text))
			body += n
			if p.Number != i+1 || n == 0 || n > passageWords+passageWords/3 {
				t.Errorf("%s: passage %d has %d words", r.Doc.ID, p.Number, n)
			}
		}
		if body < minBodyWords || body > maxBodyWords {
			t.Errorf("%s: body of %d words", r.Doc.ID, body)
		}
		if len(r.Doc.AccessGroups) == 0 || len(r.Doc.Topics) == 0 || !strings.Contains(r.Doc.Title, "synthetic") {
			t.Errorf("%s: %+v", r.Doc.ID, r.Doc)
		}
	}
}

func TestNDJSONShape(t *testing.T) {
	var buf bytes.Buffer
	recs := NewGenerator(1, testVocab()).Records(0, 3)
	st, err := WriteNDJSON(&buf, recs)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if st.Documents != 3 || st.Passages != len(lines) {
		t.Fatalf("stats %+v for %d lines", st, len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "doc_id", "version", "page", "title", "title_n", "abstract", "summary", "text", "access_groups", "tlp", "topics_text", "updated_at"} {
		if _, ok := rec[f]; !ok {
			t.Errorf("index record lacks %q", f)
		}
	}
}

func TestMixesAreDistinctAndSeeded(t *testing.T) {
	v := testVocab()
	a, b := MemberMix(3, 200, v), MemberMix(3, 200, v)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the member mix is not seeded")
	}
	seen := map[string]bool{}
	filtered := 0
	for _, p := range a {
		if seen[p.url()] {
			t.Fatalf("repeated query %s", p.url())
		}
		seen[p.url()] = true
		if p.hasFilters() {
			filtered++
		}
	}
	if filtered < 60 || filtered > 140 {
		t.Errorf("%d of 200 queries filtered", filtered)
	}
	members := make([]Member, len(MemberGroups))
	for i, g := range MemberGroups {
		members[i].Groups = g
	}
	qs, err := MemberQueries(a, members)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if !bytes.Contains(q.RawBody, []byte(`access_groups`)) {
			t.Fatalf("raw request without the access clause: %s", q.RawBody)
		}
	}
}

func TestTypo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, w := range []string{"identification", "grooming", "victims"} {
		got := typo(r, w)
		if got == w && len(w) > 0 || len(got) != len(w) || got[0] != w[0] {
			t.Errorf("typo(%q) = %q", w, got)
		}
	}
	if typo(r, "icse") != "icse" || typo(r, "الأطفال") != "الأطفال" {
		t.Error("short and non-Latin words must stay as they are")
	}
}

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		v      float64
		target string
		want   bool
	}{{0.9, ">= 0.85", true}, {0.8, ">= 0.85", false}, {1.25, "<= 1.25", true}, {2, "< 2", false}} {
		if got, err := Compare(c.v, c.target); err != nil || got != c.want {
			t.Errorf("Compare(%v, %q) = %v, %v", c.v, c.target, got, err)
		}
	}
	if _, err := Compare(1, "about 1"); err == nil {
		t.Error("a malformed target must be an error")
	}
}
