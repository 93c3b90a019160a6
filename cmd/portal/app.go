package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"portal/account"
	"portal/audit"
	"portal/blob"
	"portal/config"
	"portal/extract"
	"portal/research"
	"portal/search"
	"portal/store"
)

// app is the portal's durable state: the database, the audit log and the
// account service over them. Commands that touch accounts open one.
type app struct {
	db        *store.DB
	audit     *audit.Log
	accounts  *account.Service
	research  *research.Service
	extractor *extract.Extractor
}

func openApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	if len(cfg.SecretKey) == 0 {
		return nil, fmt.Errorf("PORTAL_SECRET_KEY is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := store.Open(ctx, dbPath(cfg))
	if err != nil {
		return nil, err
	}
	auditLog := audit.New(db, time.Now).WithKey(audit.ChainKey(cfg.SecretKey))
	accounts, err := account.New(db, auditLog, account.Options{
		SecretKey:       cfg.SecretKey,
		IdleTimeout:     cfg.SessionIdle,
		AbsoluteTimeout: cfg.SessionMax,
		HashConcurrency: cfg.HashLimit,
		Logger:          log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &app{db: db, audit: auditLog, accounts: accounts}, nil
}

// openResearch adds the research library, which needs Meilisearch (with a
// key that may index) and the PDF sandbox.
func (a *app) openResearch(ctx context.Context, cfg config.Config, ix *search.Indexer, log *slog.Logger) error {
	idx, err := search.NewResearchIndexer(ix)
	if err != nil {
		return err
	}
	blobs, err := blob.Open(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		return err
	}
	if err := blobs.CleanTemp(); err != nil {
		log.Warn("clean upload temp files", "error", err)
	}
	// The PDF sandbox starts on the first PDF and stops after a few idle
	// minutes, to keep its tens of MiB only while uploads come in; its
	// compiled code is kept between starts and runs, so that a start takes
	// a fraction of a second instead of seconds.
	if a.extractor, err = extract.New(ctx, extract.Options{Logger: log, CacheDir: filepath.Join(cfg.DataDir, "pdfium-cache")}); err != nil {
		return err
	}
	a.research, err = research.New(a.db.Research(), blobs, a.extractor, idx, a.audit, research.Options{
		MaxUploadBytes: cfg.MaxUploadBytes, Logger: log})
	return err
}

func (a *app) Close() error {
	if a.extractor != nil {
		a.extractor.Close()
	}
	return a.db.Close()
}
