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
	"portal/config"
	"portal/store"
)

// app is the portal's durable state: the database, the audit log and the
// account service over them. Commands that touch accounts open one.
type app struct {
	db       *store.DB
	audit    *audit.Log
	accounts *account.Service
}

func openApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	if len(cfg.SecretKey) == 0 {
		return nil, fmt.Errorf("PORTAL_SECRET_KEY is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, "portal.db"))
	if err != nil {
		return nil, err
	}
	auditLog := audit.New(db, time.Now)
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

func (a *app) Close() error { return a.db.Close() }
