package main

import (
	"context"
	"io"
	"log/slog"
	"net"

	"github.com/labstack/echo/v5"

	"portal/api"
	"portal/config"
	"portal/mail"
	"portal/search"
)

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if _, err := parseFlags("serve", "Serves the built public site and the API.", args, stderr, config.Usage()); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	log := cfg.NewLogger(stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return serve(ctx, cfg, a, log)
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg config.Config, a *app, log *slog.Logger) error {
	searcher := search.NewSearcher(search.NewClient(cfg.MeiliURL, cfg.MeiliSearchKey))
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
	e, err := api.New(api.Options{
		Logger:         log,
		Search:         searcher,
		Accounts:       a.accounts,
		Audit:          a.audit,
		Mailer:         mailer,
		SecretKey:      cfg.SecretKey,
		PublicURL:      cfg.PublicURL,
		SiteDir:        cfg.SiteDir,
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
	return sc.Start(ctx, e)
}
