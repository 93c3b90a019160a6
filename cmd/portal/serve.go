package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/labstack/echo/v5"

	"portal/api"
	"portal/config"
	"portal/mail"
	"portal/search"
	"portal/training"
)

const serveHelp = `Serves the built public site and the API until SIGTERM or Ctrl-C.`

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("serve"), args); err != nil {
		return err
	}
	cfg, err := config.LoadFor("serve", getenv)
	if err != nil {
		return err
	}
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	log := cfg.NewLogger(stderr)
	setMemoryLimit(cfg, getenv, log)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return serve(ctx, cfg, a, log)
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg config.Config, a *app, log *slog.Logger) error {
	searcher := search.NewSearcher(cfg.MeiliURL, cfg.MeiliSearchKey, cfg.MeiliKeyUID)
	if err := openMeiliForApp(ctx, cfg, a, log); err != nil {
		return err
	}
	// Re-drive what Meilisearch has not confirmed: now, then every minute,
	// so that changes made while it was down reach it without a restart.
	go func() {
		if err := a.research.Resume(ctx); err != nil {
			log.Warn("research: resume", "error", err)
		}
		a.research.RunResume(ctx, time.Minute)
	}()
	if err := searcher.CheckTokens(ctx); errors.Is(err, search.ErrTokenRejected) {
		return err
	}
	if st, err := searcher.Health(ctx); err != nil {
		log.Warn("meilisearch unreachable at start; search answers 503 until it is back", "error", err)
	} else if st.Outdated {
		log.Warn("meilisearch is older than the newest release with security fixes known to the portal",
			"version", st.Version, "minimum", st.MinimumVersion)
	}
	var mailer api.Mailer
	if cfg.SMTPURL != "" {
		m, err := mail.New(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			return err
		}
		mailer = m
	}
	catalogue, err := training.OpenCatalogue(cfg.SiteDir, cfg.MembersSiteDir, log)
	if err != nil {
		return err
	}
	training, err := training.New(a.db.Progress(), catalogue, a.audit, training.Options{SecretKey: cfg.SecretKey, Logger: log})
	if err != nil {
		return err
	}
	e, err := api.New(api.Options{
		Logger:         log,
		Search:         searcher,
		Accounts:       a.accounts,
		Research:       a.research,
		Training:       training,
		Audit:          a.audit,
		Mailer:         mailer,
		SecretKey:      cfg.SecretKey,
		PublicURL:      cfg.PublicURL,
		SiteDir:        cfg.SiteDir,
		MembersDir:     cfg.MembersSiteDir,
		TrustedProxies: cfg.TrustedProxies,
		RequestTimeout: cfg.RequestTimeout,
	})
	if err != nil {
		return err
	}
	sc := echo.StartConfig{
		Address:         cfg.Addr,
		HideBanner:      true,
		HidePort:        true,
		BeforeServeFunc: api.ServerTimeouts,
		ListenerAddrFunc: func(addr net.Addr) {
			log.Info("portal listening", "url", "http://"+addr.String())
		},
	}
	releaseStartupGarbage()
	return sc.Start(ctx, e)
}

// openMeiliForApp opens the research library over Meilisearch with the
// indexing key (serve, dev, seed and reindex all need it). A Meilisearch
// that is down does not stop it: records stay pending until it is back.
func openMeiliForApp(ctx context.Context, cfg config.Config, a *app, log *slog.Logger) error {
	if a.research != nil {
		return nil
	}
	key := cfg.MeiliAdminKey
	if key == "" {
		key = cfg.MeiliMasterKey
	}
	if cfg.MeiliURL == "" || key == "" {
		return errors.New("MEILI_URL and MEILI_ADMIN_KEY are required")
	}
	ix := search.NewIndexer(search.NewClient(cfg.MeiliURL, key), nil)
	if err := ix.EnsureIndexes(ctx); err != nil {
		log.Warn("meilisearch indexes not ready; research records stay pending until they are", "error", err)
	}
	return a.openResearch(ctx, cfg, ix, log)
}
