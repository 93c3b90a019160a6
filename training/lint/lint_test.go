package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"portal/language"
)

func lint(t *testing.T, root string) Report {
	t.Helper()
	r, err := Lint(root)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoodFixtureHasNoProblems(t *testing.T) {
	r := lint(t, filepath.Join("testdata", "good"))
	for _, p := range r.Problems {
		t.Errorf("unexpected problem: %s", p)
	}
}

// TestEachDefectIsReported: every defect planted in testdata/bad is
// reported at its file and line.
func TestEachDefectIsReported(t *testing.T) {
	r := lint(t, filepath.Join("testdata", "bad"))
	const broken = "content/en/training/broken/"
	want := []struct {
		file string
		line int
		text string
	}{
		// Missing required fields.
		{broken + "_index.md", 1, "missing required field summary"},
		{broken + "02-b.md", 1, "missing required field description"},
		{"content/members/en/training/secret/_index.md", 1, "missing required field tlp"},
		// An access group name the accounts could not hold.
		{"content/members/en/training/secret/_index.md", 9, `access group "-x": names are 1–64`},
		{broken + "handout.md", 0, "missing: every module has a handout page"},
		// Objectives missing.
		{broken + "_index.md", 1, "learning objectives missing"},
		// A value outside its set.
		{broken + "_index.md", 4, `level "expert"`},
		// Duplicate lesson weights.
		{broken + "02-b.md", 3, "duplicate lesson weight 1: 01-a.md has it too"},
		// Quiz answers that name no option, and a single choice with two.
		{broken + "quiz.yaml", 9, `answer "c" names no option (options: a, b)`},
		{broken + "quiz.yaml", 17, "a single-choice question has exactly one answer"},
		// Broken links.
		{broken + "_index.md", 11, `broken link "/en/no-such-page/"`},
		{broken + "_index.md", 12, `broken link "http://example.org/": use https`},
		{broken + "_index.md", 13, "the en glossary has no term #nope"},
		{broken + "_index.md", 14, `term "nope" is not in the en glossary`},
		{broken + "_index.md", 15, "a public page cannot link to the members-only area"},
		{broken + "02-b.md", 8, `broken link "01-a.md"`},
		// A members-only module in the public tree.
		{"content/en/training/leaked/_index.md", 9, "members-only module (access [victim-identification], tlp \"TLP:AMBER\") in the public tree"},
	}
	found := make([]bool, len(r.Problems))
	for _, w := range want {
		ok := false
		for i, p := range r.Problems {
			if p.File == w.file && p.Line == w.line && strings.Contains(p.Message, w.text) {
				ok, found[i] = true, true
			}
		}
		if !ok {
			t.Errorf("want %s:%d: …%s…; got:\n%s", w.file, w.line, w.text, problems(r))
		}
	}
	for i, p := range r.Problems {
		if !found[i] {
			t.Errorf("unexpected problem: %s", p)
		}
	}
	if r.OK() {
		t.Error("report with problems says OK")
	}
}

func problems(r Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestTranslationReport(t *testing.T) {
	r := lint(t, filepath.Join("testdata", "good"))
	status := map[string]PageStatus{}
	for _, ps := range r.Pages {
		status[ps.Tree+"/"+ps.Module+"/"+ps.Page] = ps
	}
	basics := status["public/basics/"]
	if _, ok := basics.Langs["fr"]; !ok || len(basics.Langs) != 2 {
		t.Errorf("basics exists in %v, want en and fr", basics.Langs)
	}
	first := status["public/basics/01-first"]
	if !first.Langs["fr"].Outdated || first.Langs["en"].Outdated {
		t.Errorf("01-first: %+v, want the French translation outdated", first.Langs)
	}
	if _, ok := status["public/basics/02-second"].Langs["fr"]; ok {
		t.Error("02-second is not translated into French")
	}
	if _, ok := status["members/restricted/"]; !ok {
		t.Error("members-only module missing from the report")
	}
	if old := r.Outdated(); len(old) != 1 || old[0].File != "content/fr/training/basics/01-first.md" {
		t.Errorf("outdated: %+v", old)
	}

	var gaps []string
	for _, g := range r.PublicGaps() {
		gaps = append(gaps, g.String())
	}
	for _, want := range []string{
		"content/fr/training/basics/01-first.md: older than the English page (source content/en/training/basics/01-first.md)",
		"content/fr/training/basics/02-second.md: missing (source content/en/training/basics/02-second.md)",
		"content/ar/training/basics/_index.md: missing (source content/en/training/basics/_index.md)",
		"content/es/glossary/_index.md: missing (source content/en/glossary/_index.md)",
	} {
		if !slices.Contains(gaps, want) {
			t.Errorf("public gaps lack %q:\n%s", want, strings.Join(gaps, "\n"))
		}
	}
	for _, g := range gaps {
		if strings.Contains(g, "restricted") || strings.Contains(g, "/en/") && !strings.Contains(g, "source") {
			t.Errorf("gap %q: members-only modules and English pages are no gap", g)
		}
	}

	text := r.TranslationReport()
	for _, want := range []string{
		"public modules",
		"members modules",
		"    01-first     yes  old  -    -",
		"    02-second    yes  -    -    -",
		"modules per language: en 1/1 fr 1/1 es 0/1 ar 0/1",
		"content/fr/training/basics/01-first.md (2026-01-15) is older than content/en/training/basics/01-first.md (2026-02-01)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

// TestRepositoryContent lints the real modules: they must be clean, and the
// public ones exist in English, with at least one in every other language.
func TestRepositoryContent(t *testing.T) {
	r := lint(t, filepath.Join("..", ".."))
	for _, p := range r.Problems {
		t.Errorf("%s", p)
	}
	modules := map[string]map[string]int{} // tree → lang → modules
	lessons := map[string]int{}
	for _, ps := range r.Pages {
		if modules[ps.Tree] == nil {
			modules[ps.Tree] = map[string]int{}
		}
		if ps.Page == "" {
			for lang := range ps.Langs {
				modules[ps.Tree][lang]++
			}
		} else if ps.Page != "quiz" && ps.Page != "handout" {
			lessons[ps.Tree+"/"+ps.Module]++
		}
	}
	if modules[TreePublic]["en"] < 4 || modules[TreeMembers]["en"] < 2 {
		t.Errorf("modules: %v, want at least 4 public and 2 members-only in English", modules)
	}
	for _, lang := range language.All() {
		if modules[TreePublic][lang] < 1 {
			t.Errorf("no public module in %s", lang)
		}
	}
	for m, n := range lessons {
		if n < 3 || n > 6 {
			t.Errorf("%s has %d lessons, want 3 to 6", m, n)
		}
	}
}

func TestProblemString(t *testing.T) {
	if got := (Problem{File: "a.md", Line: 3, Message: "m"}).String(); got != "a.md:3: m" {
		t.Errorf("got %q", got)
	}
	if got := (Problem{File: "a.md", Message: "m"}).String(); got != "a.md: m" {
		t.Errorf("got %q", got)
	}
}

// TestFrontMatterErrors: a YAML syntax error is reported at its line, and
// front matter that is not YAML is refused.
func TestFrontMatterErrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "content", "en", "training", "m")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("_index.md", "---\ntitle: \"M\"\nsummary: [unclosed\n---\nBody.\n")
	write("01-a.md", "+++\ntitle = \"A\"\n+++\n")
	r := lint(t, root)
	var yamlErr, toml bool
	for _, p := range r.Problems {
		if p.File == "content/en/training/m/_index.md" && p.Line > 1 && strings.Contains(p.Message, "front matter:") {
			yamlErr = true
		}
		if p.File == "content/en/training/m/01-a.md" && p.Line == 1 && strings.Contains(p.Message, "must be YAML") {
			toml = true
		}
	}
	if !yamlErr || !toml {
		t.Errorf("YAML error reported: %v, TOML refused: %v\n%s", yamlErr, toml, problems(r))
	}
}
