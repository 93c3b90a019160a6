package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"portal/site"
	"portal/training/lint"
)

const trainingLintHelp = `usage: portal training lint [--root DIR]

Checks the training modules under DIR/content/<lang>/training (public) and
DIR/content/members/<lang>/training (members only): required fields, learning
objectives, lesson weights, quiz answers, links and glossary terms, and that
no members-only module is in the public tree. Prints each problem as
file:line: message, then which modules and lessons exist in which language
and which translations are older than their English source. Exits non-zero
when there is a problem; missing or outdated translations are only reported.

`

// trainingCmd runs `portal training lint`.
func trainingCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "lint" {
		return errors.New("usage: portal training lint [--root DIR]")
	}
	fs := flag.NewFlagSet("training lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "repository root, holding content/ (default: the directory with go.mod above the current one)")
	fs.Usage = func() {
		fmt.Fprint(stderr, trainingLintHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("training lint: unexpected argument %q", fs.Arg(0))
	}
	if *root == "" {
		r, err := site.FindRoot(".")
		if err != nil {
			return err
		}
		*root = r
	}
	report, err := lint.Lint(*root)
	if err != nil {
		return err
	}
	for _, p := range report.Problems {
		fmt.Fprintln(stdout, p)
	}
	if len(report.Problems) > 0 {
		fmt.Fprintln(stdout)
	}
	fmt.Fprint(stdout, report.TranslationReport())
	if n := len(report.Problems); n > 0 {
		return fmt.Errorf("training lint: %d problem(s)", n)
	}
	return nil
}
