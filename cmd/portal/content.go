package main

import (
	"context"
	"fmt"
	"io"

	"portal/claims"
)

const contentLintHelp = `Checks that what the site says about INTERPOL, its systems and its partners
comes from a source: every claim in DIR/site/data/claims.yaml has a source
and a statement in each language with the same numbers, written as each
language groups digits; no page or lesson under DIR/content mentions the
fact sheet outside the claim shortcode; and no public page shows a figure
that is not a claim. Prints each problem as file:line: message and exits
non-zero when there is one.`

// contentCmd runs `portal content lint`.
func contentCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("content lint")
	root := fs.String("root", "", "repository root, holding site/ and content/ (default: the directory with go.mod above the current one)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	dir, err := repoRoot(*root)
	if err != nil {
		return err
	}
	report, err := claims.Lint(dir)
	if err != nil {
		return err
	}
	for _, p := range report.Problems {
		fmt.Fprintln(stdout, p)
	}
	if n := len(report.Problems); n > 0 {
		return fmt.Errorf("content lint: %d problem(s)", n)
	}
	fmt.Fprintf(stdout, "content lint: %d claims, %d pages, lessons and quizzes, no problems\n", report.Claims, report.Files)
	return nil
}
