package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"portal/config"
	"portal/search"
	"portal/search/meiliproc"
	"portal/site"
)

const devHelp = `Runs a complete local portal, the README's "make run":
  1. starts Meilisearch on loopback as a supervised child (unless MEILI_URL is set),
     with its data and a generated master key (mode 0600) under PORTAL_DATA_DIR/meili;
  2. creates the portal's least-privilege Meilisearch keys;
  3. builds the public site with Hugo into PORTAL_SITE_DIR, and the members'
     build (members-only training) into PORTAL_MEMBERS_SITE_DIR;
  4. indexes them;
  5. serves site and API on PORTAL_ADDR until Ctrl-C, then stops everything.`

func devCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if _, err := parseFlags("dev", devHelp, args, stderr, config.Usage()); err != nil {
		return err
	}
	root, err := site.FindRoot(".")
	if err != nil {
		return err
	}
	cfg, err := loadWithDevSecret(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		switch k {
		case "PORTAL_ENV":
			return "development"
		case "PORTAL_LOG_FORMAT":
			return "text"
		case "PORTAL_SITE_DIR":
			return filepath.Join(root, "site", "public")
		case "PORTAL_MEMBERS_SITE_DIR":
			return filepath.Join(root, "var", "members-site")
		case "PORTAL_DATA_DIR":
			return filepath.Join(root, "var")
		}
		return ""
	})
	if err != nil {
		return err
	}
	if !cfg.Dev() {
		return errors.New("portal dev runs only with PORTAL_ENV=development")
	}
	log := cfg.NewLogger(stderr)
	setMemoryLimit(cfg, getenv, log)

	// Meilisearch: a supervised local one unless the environment names one.
	var supervisor *meiliproc.Supervisor
	if cfg.MeiliURL == "" {
		bin, err := meiliproc.FindBinary()
		if err != nil {
			return err
		}
		dir := filepath.Join(cfg.DataDir, "meili")
		key, err := config.LoadOrCreateSecret(filepath.Join(dir, "master.key"))
		if err != nil {
			return err
		}
		logFile, err := os.OpenFile(filepath.Join(dir, "meilisearch.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open meilisearch log: %w", err)
		}
		defer logFile.Close()
		// The child outlives the server by a moment: it is stopped after
		// the HTTP server has drained, when this context ends.
		meiliCtx, stopMeili := context.WithCancel(context.WithoutCancel(ctx))
		defer stopMeili()
		supervisor, err = meiliproc.Supervise(meiliCtx, meiliproc.Options{
			Binary: bin, DataDir: dir, MasterKey: key, Output: logFile, Logger: log,
		})
		if err != nil {
			return err
		}
		defer func() {
			stopMeili()
			select {
			case <-supervisor.Done():
			case <-time.After(10 * time.Second):
			}
		}()
		cfg.MeiliURL, cfg.MeiliMasterKey = supervisor.URL, key
		fmt.Fprintf(stdout, "Meilisearch running at %s (data in %s)\n", supervisor.URL, dir)
	}

	if cfg.MeiliMasterKey != "" {
		cfg.MeiliSearchKey, cfg.MeiliAdminKey, err = provisionKeys(ctx, search.NewClient(cfg.MeiliURL, cfg.MeiliMasterKey))
		if err != nil {
			return err
		}
	}
	adminKey := cfg.MeiliAdminKey
	if cfg.MeiliSearchKey == "" || adminKey == "" {
		return errors.New("with MEILI_URL set, portal dev needs MEILI_MASTER_KEY, or MEILI_SEARCH_KEY and MEILI_ADMIN_KEY")
	}

	fmt.Fprintln(stdout, "Building the public site with Hugo…")
	// Canonical links and the sitemap are absolute: the public origin when
	// one is set, else the address this server answers on.
	baseURL := cfg.PublicURL
	if baseURL == "" {
		baseURL = "http://" + cfg.Addr
	}
	if err := site.Build(ctx, site.BuildOptions{Root: root, Destination: cfg.SiteDir, BaseURL: baseURL + "/", Stdout: io.Discard, Stderr: stderr}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Building the members' site with Hugo…")
	if err := site.Build(ctx, site.BuildOptions{Root: root, Destination: cfg.MembersSiteDir, Environment: "members",
		Stdout: io.Discard, Stderr: stderr}); err != nil {
		return err
	}
	if err := indexSite(ctx, search.NewClient(cfg.MeiliURL, adminKey), cfg.SiteDir, cfg.MembersSiteDir, stdout); err != nil {
		return err
	}

	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := openMeiliForApp(ctx, cfg, a, log); err != nil {
		return err
	}
	if _, err := os.Stat(demoFile(cfg)); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(stdout, "Creating the demo accounts and the synthetic research library…")
		if err := seedDemo(ctx, cfg, a, demoResearchCount, io.Discard, stdout); err != nil {
			return err
		}
	}

	// The server gets the search and indexing keys only: the master key
	// stays with the part of this process that administers Meilisearch.
	cfg.MeiliMasterKey = ""
	fmt.Fprintf(stdout, "\nPortal running at http://%s/ (Ctrl-C to stop)\n", cfg.Addr)
	fmt.Fprintf(stdout, "Demo accounts (passwords and TOTP secrets): %s\n\n", demoFile(cfg))
	return serve(ctx, cfg, a, log)
}

// loadWithDevSecret loads the configuration; in development it also
// creates and keeps a secret key under the data directory when none is set.
func loadWithDevSecret(getenv func(string) string) (config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil || !cfg.Dev() || len(cfg.SecretKey) > 0 {
		return cfg, err
	}
	k, err := config.LoadOrCreateSecret(filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return cfg, err
	}
	cfg.SecretKey, err = hex.DecodeString(k)
	if err != nil || len(cfg.SecretKey) != 32 {
		return cfg, fmt.Errorf("%s does not hold 64 hex digits", filepath.Join(cfg.DataDir, "secret.key"))
	}
	return cfg, nil
}
