package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrainingLint(t *testing.T) {
	lint := func(root string) (string, error) {
		var out, errOut bytes.Buffer
		err := trainingCmd(context.Background(), []string{"--root", root}, func(string) string { return "" }, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	// The good fixture has no problem, but its module and pages are not
	// in every language: a gap in public content fails the build.
	out, err := lint(filepath.Join("..", "..", "training", "lint", "testdata", "good"))
	if err == nil || !strings.Contains(err.Error(), "translation gap") || !strings.Contains(out, "Translation report") ||
		!strings.Contains(out, "content/es/training/basics/02-second.md: missing (source content/en/training/basics/02-second.md)") ||
		!strings.Contains(out, "content/fr/training/basics/01-first.md: older than the English page") ||
		strings.Contains(out, "content/fr/training/restricted") {
		t.Errorf("good fixture: err %v\n%s", err, out)
	}
	out, err = lint(filepath.Join("..", "..", "training", "lint", "testdata", "bad"))
	if err == nil || !strings.Contains(err.Error(), "problem") {
		t.Errorf("bad fixture: err %v, want problems", err)
	}
	if !strings.Contains(out, "content/en/training/broken/quiz.yaml:9: question \"q1\": answer \"c\" names no option") ||
		!strings.Contains(out, "Translation report") {
		t.Errorf("bad fixture output:\n%s", out)
	}
	if _, err := lint(filepath.Join("..", "..")); err != nil {
		t.Errorf("the repository's modules: %v", err)
	}
}
