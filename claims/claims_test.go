package claims_test

import (
	"slices"
	"strings"
	"testing"

	"portal/claims"
	"portal/site"
)

// TestGoodFixture: claims in every language convention, shortcodes, list
// markers, link targets, heading ids and the name I-24/7 pass.
func TestGoodFixture(t *testing.T) {
	r, err := claims.Lint("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		t.Errorf("unexpected: %s", p)
	}
	if r.Claims != 2 || r.Files != 5 {
		t.Errorf("read %d claims and %d files, want 2 and 5", r.Claims, r.Files)
	}
}

// TestBadFixture breaks each rule once and expects exactly these problems.
func TestBadFixture(t *testing.T) {
	r, err := claims.Lint("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		file string
		line int
		text string
	}{
		// The data file.
		{"site/data/claims.yaml", 18, `es writes 7800 with ','`},
		{"site/data/claims.yaml", 18, "Spanish leaves numbers below 10000 ungrouped"},
		{"site/data/claims.yaml", 25, `claim "unsourced": no source`},
		{"site/data/claims.yaml", 30, `source "web" lacks consulted`},
		{"site/data/claims.yaml", 36, `claim "numbers" has no ar statement`},
		{"site/data/claims.yaml", 36, "the fr statement has the numbers [3900], the English one [3800]"},
		{"site/data/claims.yaml", 42, `the fact sheet has no section "PARTNERSHIPS"`},
		// Pages and lessons in any language, members' ones included.
		{"content/ar/topic/_index.md", 6, `"صحيفة الوقائع": facts from the fact sheet go through`},
		{"content/ar/topic/_index.md", 6, `figure "٤٨" on a public page`},
		{"content/fr/topic/_index.md", 3, `figure "190" on a public page`},
		{"content/fr/topic/_index.md", 7, `"fiche d'information": facts from the fact sheet`},
		{"content/fr/topic/_index.md", 9, `figure "190" on a public page`},
		{"content/fr/topic/_index.md", 11, `claim "unknown-id" is not in site/data/claims.yaml`},
		{"content/fr/topic/_index.md", 11, "claim alone on its line renders outside a paragraph"},
		{"content/fr/topic/_index.md", 13, "claim alone on its line renders outside a paragraph"},
		{"content/members/en/training/mod/01-lesson.md", 6, `"fact sheet": facts from the fact sheet`},
		{"content/en/training/mod/quiz.yaml", 4, `"fact sheet": facts from the fact sheet`},
	}
	got := slices.Clone(r.Problems)
	for _, w := range want {
		i := slices.IndexFunc(got, func(p claims.Problem) bool {
			return p.File == w.file && p.Line == w.line && strings.Contains(p.Message, w.text)
		})
		if i < 0 {
			t.Errorf("missing %s:%d: …%s…", w.file, w.line, w.text)
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	for _, p := range got {
		t.Errorf("unexpected: %s", p)
	}
}

func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []claims.Number
	}{
		{"7,800 from 50", []claims.Number{{"7800", ","}, {"50", ""}}},
		{"7\u202f800 et 12\u00a0345", []claims.Number{{"7800", "\u202f"}, {"12345", "\u00a0"}}},
		{"7800 y 12.345", []claims.Number{{"7800", ""}, {"12345", "."}}},
		{"٧٬٨٠٠ و۴۸", []claims.Number{{"7800", "\u066c"}, {"48", ""}}},
		// A plain space does not group: two numbers.
		{"48 800", []claims.Number{{"48", ""}, {"800", ""}}},
		{"March 2009, backed", []claims.Number{{"2009", ""}}},
	} {
		if got := claims.Numbers(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Numbers(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestSiteContent: the site's own claims and content pass.
func TestSiteContent(t *testing.T) {
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	r, err := claims.Lint(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		t.Error(p)
	}
	if r.Claims < 30 || r.Files < 100 {
		t.Errorf("read %d claims and %d files: is the content there?", r.Claims, r.Files)
	}
}
