package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"portal/claims"
	"portal/site"
)

const contentLintHelp = `usage: portal content lint [--root DIR]

Checks that what the site says about INTERPOL, its systems and its partners
comes from a source: every claim in DIR/site/data/claims.yaml has a source
and a statement in each language with the same numbers, written as each
language groups digits; no page or lesson under DIR/content mentions the
fact sheet outside the claim shortcode; and no public page shows a figure
that is not a claim. Prints each problem as file:line: message and exits
non-zero when there is one.

`

// contentCmd runs `portal content lint`.
func contentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "lint" {
		return errors.New("usage: portal content lint [--root DIR]")
	}
	fs := flag.NewFlagSet("content lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "repository root, holding site/ and content/ (default: the directory with go.mod above the current one)")
	fs.Usage = func() {
		fmt.Fprint(stderr, contentLintHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("content lint: unexpected argument %q", fs.Arg(0))
	}
	if *root == "" {
		r, err := site.FindRoot(".")
		if err != nil {
			return err
		}
		*root = r
	}
	report, err := claims.Lint(*root)
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
