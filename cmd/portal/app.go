package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"portal/account"
	"portal/alerts"
	"portal/audit"
	"portal/blob"
	"portal/config"
	"portal/extract"
	"portal/mail"
	"portal/metrics"
	"portal/ocr"
	"portal/research"
	"portal/search"
	"portal/store"
)

// app is the portal's running state: the database, the audit log and the
// services over them, and, once serving, the HTTP server, its listeners and
// the background loops. It owns everything it starts: each part, as it is
// started, registers how it stops, and Close stops them in the reverse
// order, so that what a part uses is still there while it stops — the
// listeners drain before the audit writer flushes, the loops end before
// the blob store and the PDF sandbox go, and the database closes last.
type app struct {
	db       *store.DB
	audit    *audit.Log
	accounts *account.Service
	// outbox queues mail; nil for the commands that send none (those that
	// do not read PORTAL_MAIL_FROM).
	outbox    *mail.Outbox
	research  *research.Service
	extractor *extract.Extractor
	// alerts is nil except for serve and `portal alerts send`.
	alerts *alerts.Service
	// metrics is nil unless PORTAL_METRICS_ADDR is set.
	metrics *metrics.Metrics
	log     *slog.Logger

	stops []stop // in start order
	// failed receives the first failure of a part that runs on its own (a
	// listener), so that run stops the portal instead of leaving it half up.
	failed chan error
}

// stop is how one started part stops. ctx carries Close's deadline.
type stop struct {
	name string
	fn   func(ctx context.Context) error
}

// closeTimeout bounds Close as a whole: a supervisor's stop timeout
// (systemd's default is 90 s) must not be reached with the database open.
const closeTimeout = 30 * time.Second

// onClose registers how to stop a part that was just started.
func (a *app) onClose(name string, fn func(ctx context.Context) error) {
	a.stops = append(a.stops, stop{name, fn})
}

// goLoop runs fn in a goroutine the app owns: Close cancels fn's context
// and waits for it to return before stopping what was started before it.
func (a *app) goLoop(name string, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	a.onClose(name, func(closing context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-closing.Done():
			return fmt.Errorf("did not stop: %w", closing.Err())
		}
	})
}

// fail reports a part's failure to run; the first one stops the portal.
func (a *app) fail(err error) {
	select {
	case a.failed <- err:
	default:
	}
}

// run waits until ctx ends (SIGTERM, Ctrl-C) or a part fails.
func (a *app) run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		a.log.Info("stopping")
		return nil
	case err := <-a.failed:
		return err
	}
}

// Close stops every part in the reverse order of their start, within
// closeTimeout, and returns what failed. Each part is stopped even when one
// before it failed to stop.
func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	for i := len(a.stops) - 1; i >= 0; i-- {
		s := a.stops[i]
		start := time.Now()
		if err := s.fn(ctx); err != nil {
			a.log.Error("stop "+s.name, "error", err)
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
			continue
		}
		a.log.Debug("stopped "+s.name, "took", time.Since(start))
	}
	a.stops = nil
	return errors.Join(errs...)
}

// openApp opens the database and the account service over it: what every
// command that touches accounts or the audit log needs. Close closes it.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	if len(cfg.SecretKey) == 0 {
		return nil, fmt.Errorf("PORTAL_SECRET_KEY is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &app{db: db, log: log, failed: make(chan error, 1)}
	a.onClose("database", func(context.Context) error { return db.Close() })
	if cfg.MetricsAddr != "" {
		a.metrics = metrics.New()
		a.metrics.WatchPools(map[string]func() sql.DBStats{
			"writer": func() sql.DBStats { w, _ := db.Stats(); return w },
			"reader": func() sql.DBStats { _, r := db.Stats(); return r },
		})
	}
	a.audit = audit.New(db, time.Now).WithKey(audit.ChainKey(cfg.SecretKey))
	var mailer account.Mailer
	if cfg.MailFrom != "" {
		if a.outbox, err = mail.New(db.Mail(), mail.Options{RelayURL: cfg.SMTPURL, From: cfg.MailFrom, Logger: log,
			Key: mail.SealKey(cfg.SecretKey), Metrics: a.metrics}); err != nil {
			a.Close()
			return nil, err
		}
		mailer = a.outbox
	}
	a.accounts, err = account.New(db, a.audit, account.Options{
		SecretKey:       cfg.SecretKey,
		IdleTimeout:     cfg.SessionIdle,
		AbsoluteTimeout: cfg.SessionMax,
		HashConcurrency: cfg.HashLimit,
		Logger:          log,
		Metrics:         a.metrics,
		Mail:            mailer,
		PublicURL:       publicBase(cfg),
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.onClose("account background work", func(context.Context) error { a.accounts.Wait(); return nil })
	return a, nil
}

// openResearch adds the research library, which needs Meilisearch (with a
// key that may index) and the PDF sandbox.
func (a *app) openResearch(ctx context.Context, cfg config.Config, ix *search.Indexer) error {
	idx, err := search.NewResearchIndexer(ix)
	if err != nil {
		return err
	}
	blobs, err := blob.OpenURL(ctx, cfg.BlobURL, filepath.Join(cfg.DataDir, "blobs"), cfg.BlobAccessKey, cfg.BlobSecretKey)
	if err != nil {
		return err
	}
	a.onClose("blob store", func(context.Context) error { return blobs.Close() })
	// The PDF sandbox starts on the first PDF and stops after a few idle
	// minutes, to keep its tens of MiB only while uploads come in; its
	// compiled code is kept between starts and runs, so that a start takes
	// a fraction of a second instead of seconds.
	if a.extractor, err = extract.New(ctx, extract.Options{Logger: a.log, CacheDir: filepath.Join(cfg.DataDir, "pdfium-cache")}); err != nil {
		return err
	}
	a.onClose("PDF sandbox", func(context.Context) error { return a.extractor.Close() })
	// Tesseract reads scanned PDF pages; without it they stay without text.
	var recogniser research.Recogniser
	if r, err := ocr.New(ocr.Options{Logger: a.log}); err != nil {
		a.log.Warn("scanned PDF pages will not be recognised", "error", err)
	} else {
		recogniser = r
	}
	a.research, err = research.New(a.db.Research(), blobs, a.extractor, idx, a.audit, research.Options{
		Recogniser:     recogniser,
		MaxUploadBytes: cfg.MaxUploadBytes, BlobHold: cfg.BlobHold, Logger: a.log, Metrics: a.metrics,
		PreviewDir: filepath.Join(cfg.DataDir, "previews")})
	if err != nil {
		return err
	}
	a.metrics.GaugeFunc("portal_index_pushes_pending",
		"Research records whose change Meilisearch has not confirmed yet (re-pushed every minute).",
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := a.research.Unconfirmed(ctx)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		})
	return nil
}
