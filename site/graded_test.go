package site_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"portal/site"
)

// Canaries of the graded fixture modules' answer keys: the explanation is
// part of the key (it says why an option is right) and the right option's
// id may show as an option, never as an answer.
const (
	gradedCanaryExplanation = "CANARY-GRADED-EXPLANATION-5d1e"
	gradedCanaryRight       = "canary-right-5d1e"
)

// gradedQuiz is the fixture modules' quiz.yaml.
const gradedQuiz = `passMark: 100
questions:
  - id: canary
    type: single
    prompt: "Which option is the fixture's right one?"
    options:
      - id: canary-wrong-5d1e
        text: "The wrong one."
      - id: ` + gradedCanaryRight + `
        text: "The right one."
    answers: [` + gradedCanaryRight + `]
    explanation: "` + gradedCanaryExplanation + `"
`

// fixtureRoot copies the repository's site and content into a temporary
// root and adds two graded fixture modules: a public one (a copy of the
// English travel-and-tourism module) and a members-only one (a copy of
// annual-meeting), each with the canary quiz.
func fixtureRoot(t *testing.T) string {
	t.Helper()
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, dir := range []string{"site", "content"} {
		if err := os.CopyFS(filepath.Join(tmp, dir), os.DirFS(filepath.Join(root, dir))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(tmp, "node_modules")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ from, to string }{
		{"content/en/training/travel-and-tourism", "content/en/training/graded-fixture"},
		{"content/members/en/training/annual-meeting", "content/members/en/training/graded-members-fixture"},
	} {
		dst := filepath.Join(tmp, m.to)
		if err := os.CopyFS(dst, os.DirFS(filepath.Join(root, m.from))); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, "quiz.yaml"), []byte(gradedQuiz), 0o644); err != nil {
			t.Fatal(err)
		}
		index := filepath.Join(dst, "_index.md")
		b, err := os.ReadFile(index)
		if err != nil {
			t.Fatal(err)
		}
		fm := string(b)
		if !strings.Contains(fm, "kind: graded") {
			fm = strings.Replace(fm, "\nlastmod:", "\nquiz:\n  kind: graded\n  feedback: each-attempt\nlastmod:", 1)
		}
		if err := os.WriteFile(index, []byte(fm), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// answerLeak matches the right option named as an answer, in JSON, YAML
// or an attribute.
var answerLeak = regexp.MustCompile(`answers"?\s*[:=]\s*"?\[?[^\]\n]*` + regexp.QuoteMeta(gradedCanaryRight))

// TestGradedKeyNeverInTheBuilds builds the public and the members site with
// the graded fixtures and walks every file of both for the key.
func TestGradedKeyNeverInTheBuilds(t *testing.T) {
	root := fixtureRoot(t)
	for _, env := range []string{"", "members"} {
		out := filepath.Join(t.TempDir(), "out")
		var stderr bytes.Buffer
		if err := site.Build(context.Background(), site.BuildOptions{Root: root, Destination: out, Environment: env,
			Stdout: &stderr, Stderr: &stderr}); err != nil {
			t.Fatalf("build %q: %v\n%s", env, err, stderr.String())
		}
		// The fixture is in the build: its catalogue entry is graded and
		// lists the right option among the options.
		fixture := map[string]string{"": "graded-fixture", "members": "graded-members-fixture"}[env]
		b, err := os.ReadFile(filepath.Join(out, "en", "training-catalogue.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cat struct {
			Modules []struct {
				ID     string `json:"id"`
				Graded bool   `json:"graded"`
				Quiz   []struct {
					Options []string `json:"options"`
					Answers []string `json:"answers"`
				} `json:"quiz"`
			} `json:"modules"`
		}
		if err := json.Unmarshal(b, &cat); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range cat.Modules {
			if m.ID == fixture {
				found = true
				if !m.Graded || len(m.Quiz) != 1 || len(m.Quiz[0].Options) != 2 || len(m.Quiz[0].Answers) != 0 {
					t.Errorf("build %q: catalogue entry of %s: %+v", env, fixture, m)
				}
			}
		}
		if !found {
			t.Fatalf("build %q: fixture %s not in the catalogue", env, fixture)
		}
		quizPage, err := os.ReadFile(filepath.Join(out, "en", "training", fixture, "quiz", "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(quizPage, []byte("portal-quiz-template")) || bytes.Contains(quizPage, []byte("quiz-answers")) {
			t.Errorf("build %q: the fixture's quiz page is not the graded one", env)
		}

		files := 0
		err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			if bytes.Contains(b, []byte(gradedCanaryExplanation)) {
				t.Errorf("build %q: %s contains a graded quiz's explanation", env, rel)
			}
			if loc := answerLeak.FindIndex(b); loc != nil {
				t.Errorf("build %q: %s names a graded quiz's answer: %q", env, rel, b[loc[0]:loc[1]])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files < 50 {
			t.Fatalf("build %q has only %d files", env, files)
		}
	}
}
