package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestContentLint(t *testing.T) {
	lint := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := contentCmd(context.Background(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := lint("lint", "--root", filepath.Join("..", "..", "claims", "testdata", "good"))
	if err != nil || !strings.Contains(out, "no problems") {
		t.Errorf("good fixture: %v\n%s", err, out)
	}
	out, err = lint("lint", "--root", filepath.Join("..", "..", "claims", "testdata", "bad"))
	if err == nil || !strings.Contains(err.Error(), "problem") ||
		!strings.Contains(out, `site/data/claims.yaml:25: claim "unsourced": no source`) ||
		!strings.Contains(out, `content/fr/topic/_index.md:9: figure "190" on a public page`) {
		t.Errorf("bad fixture: err %v\n%s", err, out)
	}
	if out, err := lint("lint", "--root", filepath.Join("..", "..")); err != nil {
		t.Errorf("the repository's content: %v\n%s", err, out)
	}
	if _, err := lint("check"); err == nil {
		t.Error("content check: no error, want the usage")
	}
}
