package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"

	"portal/config"
	"portal/store"
)

// oneOffDefaults are the defaults that differ from the table's for the
// commands that do one thing and end, as their help shows them: see
// loadOneOff and devSecret.
func oneOffDefaults() map[string]string {
	return map[string]string{
		"PORTAL_LOG_FORMAT": "text on a terminal, json otherwise",
		"PORTAL_SECRET_KEY": "in development, the one kept in PORTAL_DATA_DIR/secret.key",
	}
}

// loadOneOff reads the configuration of one-off command cmd. Its logs are
// for the operator who runs it: readable text on a terminal, JSON when a
// machine collects them.
func loadOneOff(cmd string, getenv func(string) string, stderr io.Writer) (config.Config, error) {
	format := "json"
	if isTerminal(stderr) {
		format = "text"
	}
	return config.LoadFor(cmd, withDefaults(getenv, map[string]string{"PORTAL_LOG_FORMAT": format}))
}

// openState opens the portal's existing state for one-off command cmd
// (audit verify, reindex, users …). It refuses a data directory without a
// database instead of creating one there.
func openState(ctx context.Context, cmd string, getenv func(string) string, stderr io.Writer) (*app, config.Config, *slog.Logger, error) {
	cfg, err := loadOneOff(cmd, getenv, stderr)
	if err != nil {
		return nil, cfg, nil, err
	}
	if cfg.DatabaseURL == "" {
		if err := store.CheckExists(dbPath(cfg)); err != nil {
			return nil, cfg, nil, fmt.Errorf("%w: is PORTAL_DATA_DIR right?", err)
		}
	}
	if cfg, err = devSecret(cfg, false); err != nil {
		return nil, cfg, nil, err
	}
	log := cfg.NewLogger(stderr)
	a, err := openApp(ctx, cfg, log)
	return a, cfg, log, err
}

func dbPath(cfg config.Config) string { return filepath.Join(cfg.DataDir, "portal.db") }

// openStore opens the portal's database: PostgreSQL when
// PORTAL_DATABASE_URL is set, the SQLite file in PORTAL_DATA_DIR
// otherwise.
func openStore(ctx context.Context, cfg config.Config) (*store.DB, error) {
	if cfg.DatabaseURL != "" {
		return store.OpenPostgres(ctx, cfg.DatabaseURL)
	}
	return store.Open(ctx, dbPath(cfg))
}

// devSecret gives a development configuration without PORTAL_SECRET_KEY
// the key kept in PORTAL_DATA_DIR/secret.key, creating it when create.
// Commands that read existing state do not create one: a new key would not
// open the TOTP secrets and audit chain the old one sealed.
func devSecret(cfg config.Config, create bool) (config.Config, error) {
	if !cfg.Dev() || len(cfg.SecretKey) > 0 {
		return cfg, nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	if _, err := os.Stat(path); !create && errors.Is(err, os.ErrNotExist) {
		return cfg, fmt.Errorf("PORTAL_SECRET_KEY is not set and there is no %s", path)
	}
	k, err := config.LoadOrCreateSecret(path)
	if err != nil {
		return cfg, err
	}
	cfg.SecretKey, err = hex.DecodeString(k)
	if err != nil || len(cfg.SecretKey) != 32 {
		return cfg, fmt.Errorf("%s does not hold 64 hex digits", path)
	}
	return cfg, nil
}

// withDefaults returns getenv with defaults for the variables it leaves
// unset.
func withDefaults(getenv func(string) string, defaults map[string]string) func(string) string {
	defaults = maps.Clone(defaults)
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
