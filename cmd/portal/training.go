package main

import (
	"context"
	"fmt"
	"io"

	"portal/site"
	"portal/training/lint"
)

const trainingLintHelp = `Checks the training modules under DIR/content/<lang>/training (public) and
DIR/content/members/<lang>/training (members only): required fields, learning
objectives, lesson weights, quiz answers, links and glossary terms, and that
no members-only module is in the public tree. Prints each problem as
file:line: message, then which modules and lessons exist in which language
and which translations are older than their English source. Exits non-zero
when there is a problem, or when public content (a page of a public module,
or any other public page) is missing in a language or older there than its
English source: public readers get every page in every language. Members-only
modules' translations are only reported.`

// trainingCmd runs `portal training lint`.
func trainingCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("training lint")
	root := fs.String("root", "", "repository root, holding content/ (default: the directory with go.mod above the current one)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	dir, err := repoRoot(*root)
	if err != nil {
		return err
	}
	report, err := lint.Lint(dir)
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
	if gaps := report.PublicGaps(); len(gaps) > 0 {
		fmt.Fprintln(stdout, "\nPublic content missing or outdated in a language:")
		for _, g := range gaps {
			fmt.Fprintln(stdout, " ", g)
		}
		return fmt.Errorf("training lint: %d translation gap(s) in public content", len(gaps))
	}
	return nil
}

// repoRoot is the repository root the content commands check: the --root
// flag, or the directory holding go.mod above the current one.
func repoRoot(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return site.FindRoot(".")
}
