package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"portal/config"
	"portal/mail/mailpit"
	"portal/search"
	"portal/search/meiliproc"
	"portal/site"
)

const devHelp = `Runs a complete local portal, the README's "make run":
  1. starts Meilisearch on loopback as a supervised child (unless MEILI_URL is set),
     with its data and a generated master key (mode 0600) under PORTAL_DATA_DIR/meili;
  2. creates the portal's least-privilege Meilisearch keys, and starts Mailpit
     on loopback as the SMTP relay and web inbox of the mail the portal sends
     (unless PORTAL_SMTP_URL is set), its data under PORTAL_DATA_DIR/mailpit;
  3. builds the public site with Hugo into PORTAL_SITE_DIR, and the members'
     build (members-only training) into PORTAL_MEMBERS_SITE_DIR;
  4. indexes them;
  5. serves site and API on PORTAL_ADDR until Ctrl-C, then stops everything.
On first start it seeds the demo accounts and a synthetic research library.
With PORTAL_DATABASE_URL or PORTAL_BLOB_URL set (the real engines) and
PORTAL_DATA_DIR not, dev keeps its local state in <repository>/var/engines-HASH,
one directory per database and bucket: the demo credentials, the local
Meilisearch's index and the secret key belong to the records they were made
with, never to another store's.`

// devDefaults are the defaults dev uses in place of the table's, for the
// repository at root: a development portal kept under root/var.
func devDefaults(root string) map[string]string {
	return map[string]string{
		"PORTAL_ENV":              "development",
		"PORTAL_LOG_FORMAT":       "text",
		"PORTAL_SITE_DIR":         filepath.Join(root, "site", "public"),
		"PORTAL_MEMBERS_SITE_DIR": filepath.Join(root, "var", "members-site"),
		"PORTAL_CONTENT_DIR":      filepath.Join(root, "content"),
		"PORTAL_DATA_DIR":         filepath.Join(root, "var"),
	}
}

// devEnginesDir is dev's data directory for the database and bucket the
// environment names, "" when it names neither (SQLite and blobs under var).
// The demo is seeded when its credentials file is missing, and the local
// Meilisearch indexes what was seeded: kept in var itself, a run on
// PostgreSQL after one on SQLite would find the file, seed nothing, and
// search the other store's records.
func devEnginesDir(root string, getenv func(string) string) string {
	if getenv("PORTAL_DATA_DIR") != "" {
		return ""
	}
	var engines []string
	for _, k := range []string{"PORTAL_DATABASE_URL", "PORTAL_DATABASE_URL_FILE", "PORTAL_BLOB_URL"} {
		engines = append(engines, getenv(k))
	}
	if strings.Join(engines, "") == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(engines, "\n")))
	return filepath.Join(root, "var", "engines-"+hex.EncodeToString(sum[:6]))
}

// devHelpDefaults are dev's defaults as its help shows them: devDefaults,
// and the secrets it makes for itself when none are given.
func devHelpDefaults() map[string]string {
	d := devDefaults("<repository>")
	d["PORTAL_SECRET_KEY"] = "the one kept in PORTAL_DATA_DIR/secret.key, created once"
	d["MEILI_URL"] = "a Meilisearch that dev starts on loopback"
	d["MEILI_MASTER_KEY"] = "the one kept in PORTAL_DATA_DIR/meili/master.key, with the Meilisearch dev starts"
	d["MEILI_SEARCH_KEY"] = "created with the master key"
	d["MEILI_ADMIN_KEY"] = "created with the master key"
	d["PORTAL_SMTP_URL"] = "a Mailpit that dev starts on loopback"
	return d
}

func devCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("dev"), args); err != nil {
		return err
	}
	root, err := site.FindRoot(".")
	if err != nil {
		return err
	}
	defaults := devDefaults(root)
	if dir := devEnginesDir(root, getenv); dir != "" {
		defaults["PORTAL_DATA_DIR"] = dir
	}
	cfg, err := config.LoadFor("dev", withDefaults(getenv, defaults))
	if err != nil {
		return err
	}
	if !cfg.Dev() {
		return errors.New("portal dev runs only with PORTAL_ENV=development")
	}
	if cfg, err = devSecret(cfg, true); err != nil {
		return err
	}
	log := cfg.NewLogger(stderr)
	setMemoryLimit(cfg, getenv, log)
	if cfg.DatabaseURL != "" || cfg.BlobURL != "" {
		fmt.Fprintf(stdout, "The demo's local state for these engines (credentials, Meilisearch, secret key) is in %s\n", cfg.DataDir)
	}

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

	// Mailpit: the relay and inbox of the portal's mail, unless the
	// environment names a relay.
	inbox := ""
	if cfg.SMTPURL == "" {
		mp, err := startDevMailpit(ctx, filepath.Join(cfg.DataDir, "mailpit"))
		if err != nil {
			return err
		}
		defer mp.Stop()
		cfg.SMTPURL, inbox = mp.SMTPURL, mp.URL
		fmt.Fprintf(stdout, "Mailpit running: the portal's mail arrives at %s\n", inbox)
	}

	if cfg.MeiliMasterKey != "" {
		k, err := provisionKeys(ctx, search.NewClient(cfg.MeiliURL, cfg.MeiliMasterKey))
		if err != nil {
			return err
		}
		cfg.MeiliSearchKey, cfg.MeiliIndexingKey, cfg.MeiliAdminKey = k.search, k.indexing, k.admin
	}
	adminKey := cfg.MeiliAdminKey
	if cfg.MeiliSearchKey == "" || cfg.MeiliIndexingKey == "" || adminKey == "" {
		return errors.New("with MEILI_URL set, portal dev needs MEILI_MASTER_KEY, or MEILI_SEARCH_KEY, MEILI_INDEXING_KEY and MEILI_ADMIN_KEY")
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
	// Like serve, the research library (seeded below) gets the indexing
	// key only; the admin key makes its index first.
	ensureIndexes(ctx, search.NewIndexer(search.NewClient(cfg.MeiliURL, adminKey), nil), log)
	if err := openResearchForServing(ctx, cfg, a); err != nil {
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
	if err := a.startServing(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nPortal running at http://%s/ (Ctrl-C to stop)\n", cfg.Addr)
	fmt.Fprintf(stdout, "Demo accounts (passwords and TOTP secrets): %s\n", demoFile(cfg))
	if inbox != "" {
		fmt.Fprintf(stdout, "Mail the portal sends (invitations, resets, notices): %s\n", inbox)
	}
	fmt.Fprintln(stdout)
	return serveUntilStopped(ctx, a)
}

// startDevMailpit starts Mailpit for dev on its usual loopback ports (web
// inbox on 8025, SMTP on 1025), or on free ones when those are taken.
func startDevMailpit(ctx context.Context, dir string) (*mailpit.Process, error) {
	bin, err := mailpit.FindBinary()
	if err != nil {
		return nil, err
	}
	opts := mailpit.Options{Binary: bin, DataDir: dir, SMTPAddr: "127.0.0.1:1025", HTTPAddr: "127.0.0.1:8025"}
	for _, a := range []*string{&opts.SMTPAddr, &opts.HTTPAddr} {
		if l, err := net.Listen("tcp", *a); err != nil {
			*a = ""
		} else {
			l.Close()
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "mailpit.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open mailpit log: %w", err)
	}
	// The child keeps its own copy of the descriptor.
	defer logFile.Close()
	opts.Output = logFile
	return mailpit.Start(ctx, opts)
}
