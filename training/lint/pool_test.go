package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// poolQuiz is a quiz.yaml with topics and a pick; extra is appended to
// its questions.
func poolQuiz(pick string, extra string) string {
	var b strings.Builder
	b.WriteString("passMark: 50\npick: " + pick + "\nquestions:\n")
	for i, topic := range []string{"law", "law", "police", "police", "police"} {
		id := string(rune('a' + i))
		b.WriteString("  - id: q" + id + "\n    type: single\n    topic: " + topic +
			"\n    prompt: \"P\"\n    options:\n      - {id: a, text: \"A\"}\n      - {id: b, text: \"B\"}\n    answers: [a]\n    explanation: \"E\"\n")
	}
	b.WriteString(extra)
	return b.String()
}

// TestPoolsChecked copies the good fixture, gives its public module a pool
// in English and French, and plants one pool defect at a time.
func TestPoolsChecked(t *testing.T) {
	for _, tc := range []struct {
		name, enPick, frPick, frExtra string
		want                          []string // substrings of problems; none when empty
	}{
		{name: "good", enPick: "{law: 2, police: 2}", frPick: "{law: 2, police: 2}"},
		{name: "good number", enPick: "3", frPick: "3"},
		{name: "too many", enPick: "{law: 3, police: 2}", frPick: "{law: 2, police: 2}",
			want: []string{`content/en/training/basics/quiz.yaml:2: pick: topic "law" asks 3 questions but has 2`}},
		{name: "topic never asked", enPick: "{law: 1}", frPick: "{law: 1, police: 1}",
			want: []string{`content/en/training/basics/quiz.yaml:2: pick: topic "police" has questions but pick asks none`}},
		{name: "more than the quiz", enPick: "9", frPick: "2", want: []string{"pick 9: the quiz has only 5 questions"}},
		{name: "untranslated", enPick: "2", frPick: "2", frExtra: "",
			want: []string{`content/fr/training/basics/quiz.yaml: question "qe" of content/en/training/basics/quiz.yaml is not translated`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "good"))); err != nil {
				t.Fatal(err)
			}
			en := poolQuiz(tc.enPick, "")
			fr := poolQuiz(tc.frPick, tc.frExtra)
			if tc.name == "untranslated" {
				fr = fr[:strings.Index(fr, "  - id: qe")]
			}
			for lang, body := range map[string]string{"en": en, "fr": fr} {
				if err := os.WriteFile(filepath.Join(root, "content", lang, "training", "basics", "quiz.yaml"), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := lint(t, root)
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.String())
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("problems in a good pool: %q", got)
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g, w)
				}
				if !found {
					t.Errorf("missing problem %q; got %q", w, got)
				}
			}
		})
	}
}

func TestQuizRulesChecked(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "good"))); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(root, "content", "en", "training", "basics", "_index.md")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	fm := strings.Replace(string(b), "\n---", "\nquiz:\n  kind: marked\n  feedback: never\n  attemptsPerHour: 0\nvalidityMonths: two\n---", 1)
	if err := os.WriteFile(index, []byte(fm), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range lint(t, root).Problems {
		got = append(got, p.String())
	}
	for _, want := range []string{`quiz kind "marked"`, `quiz feedback "never"`, "quiz attemptsPerHour must be", "validityMonths must be"} {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, want)
		}
		if !found {
			t.Errorf("missing problem %q; got %q", want, got)
		}
	}
}
