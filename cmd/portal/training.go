package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"portal/config"
	"portal/training"

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

const trainingRemindHelp = `Queues the renewal reminders that are due: a mail to each member whose
completion of a module with a validity (front matter validityMonths) ends
within 30 days, or has ended, and who was not reminded yet. serve does the
same every few hours; the mails go out from serve's outbox. --now sets the
clock (YYYY-MM-DD), to see what a later run would send.`

// trainingRemindCmd runs `portal training remind`.
func trainingRemindCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("training remind")
	at := fs.String("now", "", "the day to run as (YYYY-MM-DD, UTC); default today")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	now := time.Now
	if *at != "" {
		day, err := time.Parse(time.DateOnly, *at)
		if err != nil {
			return fmt.Errorf("--now: want YYYY-MM-DD: %w", err)
		}
		now = func() time.Time { return day }
	}
	a, cfg, log, err := openState(ctx, "training remind", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.outbox == nil {
		return errors.New("training remind: no mail outbox (PORTAL_MAIL_FROM unset)")
	}
	courses, err := openTraining(cfg, a, log, now)
	if err != nil {
		return err
	}
	n, err := courses.RemindRenewals(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d renewal reminder(s) queued\n", n)
	return nil
}

// openTraining opens the training service over the site builds' catalogue
// and the content tree's graded keys, as serve does.
func openTraining(cfg config.Config, a *app, log *slog.Logger, now func() time.Time) (*training.Service, error) {
	catalogue, err := training.OpenCatalogue(cfg.SiteDir, cfg.MembersSiteDir, log)
	if err != nil {
		return nil, err
	}
	if err := catalogue.SetContentDir(cfg.ContentDir); err != nil {
		return nil, err
	}
	receiptKey, err := training.LoadReceiptKey(cfg.ReceiptKey, filepath.Join(cfg.DataDir, training.ReceiptKeyFile))
	if err != nil {
		return nil, err
	}
	opts := training.Options{SecretKey: cfg.SecretKey, ReceiptKey: receiptKey, PublicURL: cfg.PublicURL, Logger: log, Now: now}
	if a.outbox != nil {
		opts.Mail = a.outbox
	}
	return training.New(a.db.Progress(), catalogue, a.audit, opts)
}

const trainingOfflineHelp = `Writes each public training module's offline archive (one ZIP per language,
beside the module's page) into a public site Hugo built in DIR, and puts its
size on the module's page. site.Build does this itself; the release and
Netlify scripts, which run Hugo directly, run this after it.`

// trainingOfflineCmd runs `portal training offline --site DIR`.
func trainingOfflineCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("training offline")
	dir := fs.String("site", "", "the public site Hugo built")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("training offline: --site DIR is required")
	}
	if err := site.PackOffline(*dir); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "offline archives written")
	return nil
}
