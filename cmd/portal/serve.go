package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"portal/account"
	"portal/api"
	"portal/config"
	"portal/lease"
	"portal/reach"
	"portal/search"
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
	a, err := openServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	return serveUntilStopped(ctx, a)
}

// openServer builds and starts the whole application `portal serve` runs:
// the durable state, the research library, the background loops, the HTTP
// server and its listeners. Close stops it all.
func openServer(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := a.startServing(ctx, cfg); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

// serveUntilStopped serves until ctx ends (SIGTERM, Ctrl-C) or a listener
// fails, then stops everything: requests in flight finish, queued audit
// entries are written, the database closes last.
func serveUntilStopped(ctx context.Context, a *app) error {
	err := a.run(ctx)
	return errors.Join(err, a.Close())
}

const (
	// resumeEvery re-drives what Meilisearch has not confirmed, so that
	// changes made while it was down reach it without a restart.
	resumeEvery = time.Minute
	// keyCheckEvery retries the check of serve's Meilisearch keys while
	// Meilisearch has not answered it.
	keyCheckEvery = 10 * time.Second
	// purgeEvery removes ended sessions and spent invitations.
	purgeEvery = 10 * time.Minute
	// reminderEvery queues the training renewal reminders that came due.
	reminderEvery = 6 * time.Hour
	// drainTimeout bounds the wait for requests in flight at shutdown; an
	// upload may take a while, a search does not.
	drainTimeout = 15 * time.Second
)

// startServing starts, in this order, what serving adds to a: the research
// library, the re-push, purge and mail delivery loops, the API server with its audit
// writer, the metrics listener and the public listener. a.Close stops them
// in the reverse order.
func (a *app) startServing(ctx context.Context, cfg config.Config) error {
	if err := a.checkServingKeys(ctx, cfg); err != nil {
		return err
	}
	searcher := search.NewSearcher(cfg.MeiliURL, cfg.MeiliSearchKey, cfg.MeiliKeyUID)
	// Cached public answers go when `portal index site` bumps the counter,
	// on every instance.
	searcher.WatchGeneration(func(ctx context.Context) (int64, error) {
		return a.db.Generation(ctx, search.PublicGeneration)
	})
	if err := openResearchForServing(ctx, cfg, a); err != nil {
		return err
	}
	if err := searcher.CheckTokens(ctx); errors.Is(err, search.ErrTokenRejected) {
		return err
	}
	if st, err := searcher.Health(ctx); err != nil {
		a.log.Warn("meilisearch unreachable at start; search answers 503 until it is back", "error", err)
	} else if st.Outdated {
		a.log.Warn("meilisearch is older than the newest release with security fixes known to the portal",
			"version", st.Version, "minimum", st.MinimumVersion)
	}
	if a.outbox == nil {
		return errors.New("serve: no mail outbox (PORTAL_MAIL_FROM unset)")
	}
	courses, err := openTraining(cfg, a, a.log, nil)
	if err != nil {
		return err
	}
	// The work that must run once across instances runs under leases:
	// each loop on whichever instance holds its lease, taken over within a
	// minute when that instance dies (package lease).
	leases := lease.New(a.db, lease.Options{Logger: a.log})
	// Renewal reminders: each is claimed in the database, and the scan for
	// them runs on one instance at a time.
	a.goLoop("training reminders", func(ctx context.Context) {
		leases.Run(ctx, "training reminders", func(ctx context.Context) { courses.RunReminders(ctx, reminderEvery) })
	})
	a.goLoop("research re-push", func(ctx context.Context) {
		leases.Run(ctx, "research re-push", func(ctx context.Context) {
			if err := a.research.Resume(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("research: resume", "error", err)
			}
			a.research.RunResume(ctx, resumeEvery)
		})
	})
	a.goLoop("blob collection", func(ctx context.Context) {
		leases.Run(ctx, "blob collection", func(ctx context.Context) { a.research.RunCollect(ctx, cfg.BlobHold) })
	})
	a.goLoop("audit head export", func(ctx context.Context) {
		leases.Run(ctx, "audit head export", func(ctx context.Context) {
			a.audit.RunAnchor(ctx, a.log, api.DefaultAnchorEvery, nil)
		})
	})
	// Scanned pages are read here, one at a time, after their upload, on
	// one instance at a time: each instance would otherwise recognise
	// every pending page. An upload wakes the loop of its own instance
	// only; the holder finds the pages within its minute. Without a
	// recogniser there is no lease to hold.
	if a.research.Recognises() {
		a.goLoop("page recognition", func(ctx context.Context) {
			leases.Run(ctx, "page recognition", a.research.RunRecognition)
		})
	}
	// Mail goes out from here only: `portal users` and the API queue it in
	// the database. Started before the API server, the loop stops after
	// it, so that what the last requests queued is at least tried.
	a.goLoop("mail delivery", a.outbox.Run)
	a.goLoop("purge", func(ctx context.Context) { leases.Run(ctx, "purge", a.purge) })

	desk, err := a.complaintDesk(cfg)
	if err != nil {
		return err
	}
	// One goroutine owns the complaints' background pass: overdue cases
	// mailed to the leads (once per case, claimed in the database), then
	// the erasure of expired personal data; one instance at a time.
	a.goLoop("complaints pass", func(ctx context.Context) {
		leases.Run(ctx, "complaints pass", func(ctx context.Context) { desk.Run(ctx, complaintsEvery) })
	})

	groupList, attestation, err := a.openAttest(cfg)
	if err != nil {
		return err
	}
	// The one owner of the attestation pass (package attest), on one
	// instance at a time; `portal attestation run` runs the same pass once.
	a.goLoop("attestation", func(ctx context.Context) {
		leases.Run(ctx, "attestation", func(ctx context.Context) { attestation.RunEvery(ctx, attestEvery) })
	})
	reports, err := reach.New(a.db.Reach(), groupList, a.audit)
	if err != nil {
		return err
	}
	if err := a.openAlerts(cfg, searcher); err != nil {
		return err
	}
	// One goroutine makes the digest passes, on one instance at a time.
	a.goLoop("alert digests", func(ctx context.Context) { leases.Run(ctx, "alert digests", a.runDigests) })

	srv, err := api.New(api.Options{
		Logger:         a.log,
		Search:         searcher,
		Accounts:       a.accounts,
		Research:       a.research,
		Training:       courses,
		Audit:          a.audit,
		Outbox:         a.outbox,
		SecretKey:      cfg.SecretKey,
		PublicURL:      cfg.PublicURL,
		SiteDir:        cfg.SiteDir,
		MembersDir:     cfg.MembersSiteDir,
		TrustedProxies: cfg.TrustedProxies,
		RequestTimeout: cfg.RequestTimeout,
		Database:       a.db,
		Metrics:        a.metrics,
		Complaints:     desk,
		Groups:         groupList,
		Attest:         attestation,
		Reach:          reports,
		RateLimits:     a.db,
		AnchorEvery:    -1, // under the "audit head export" lease above
		Alerts:         a.alerts,
	})
	if err != nil {
		return err
	}
	a.onClose("API server and audit writer", func(context.Context) error { return srv.Close() })

	if cfg.MetricsAddr != "" {
		if err := a.listen("metrics", cfg.MetricsAddr, a.metrics.Handler()); err != nil {
			return err
		}
	}
	if err := a.listen("portal", cfg.Addr, srv); err != nil {
		return err
	}
	releaseStartupGarbage()
	return nil
}

// listen serves h on addr in a goroutine the app owns. Closing it stops
// accepting connections and waits up to drainTimeout for the requests in
// flight; those still running then are cut off.
func (a *app) listen(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	srv := &http.Server{Handler: h, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	if err := api.ServerTimeouts(srv); err != nil {
		ln.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.fail(fmt.Errorf("%s listener: %w", name, err))
		}
	}()
	a.log.Info(name+" listening", "url", "http://"+ln.Addr().String())
	a.onClose(name+" listener", func(ctx context.Context) error {
		drain, cancel := context.WithTimeout(ctx, drainTimeout)
		defer cancel()
		err := srv.Shutdown(drain)
		if err != nil {
			err = errors.Join(fmt.Errorf("requests still running: %w", err), srv.Close())
		}
		<-done
		return err
	})
	return nil
}

// openMeiliForApp opens the research library over Meilisearch with the
// admin key, after making sure the indexes exist with their settings
// (reindex and seed demo need both). A Meilisearch that is down does not
// stop it: records stay pending until it is back.
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
	ensureIndexes(ctx, ix, log)
	return a.openResearch(ctx, cfg, ix)
}

// ensureIndexes creates and configures the indexes with an indexer holding
// the admin key. A Meilisearch that is down is only logged.
func ensureIndexes(ctx context.Context, ix *search.Indexer, log *slog.Logger) {
	if err := ix.EnsureIndexes(ctx); err != nil {
		log.Warn("meilisearch indexes not ready; research records stay pending until they are", "error", err)
	}
}

// openResearchForServing opens the research library with the indexing key
// serve holds: it feeds an index that `portal index` or `portal reindex`
// made, and cannot make, configure or drop one itself.
func openResearchForServing(ctx context.Context, cfg config.Config, a *app) error {
	if a.research != nil {
		return nil
	}
	return a.openResearch(ctx, cfg, search.NewIndexer(search.NewClient(cfg.MeiliURL, cfg.MeiliIndexingKey), nil))
}

// checkServingKeys refuses keys that may do more than serve needs (or less).
// When Meilisearch does not answer at start, the check runs again until it
// does, and a key found wrong then stops the portal.
func (a *app) checkServingKeys(ctx context.Context, cfg config.Config) error {
	check := func(ctx context.Context) error {
		if err := search.CheckKey(ctx, cfg.MeiliURL, cfg.MeiliSearchKey, search.SearchKey()); err != nil {
			return fmt.Errorf("MEILI_SEARCH_KEY: %w", err)
		}
		if err := search.CheckKey(ctx, cfg.MeiliURL, cfg.MeiliIndexingKey, search.IndexingKey()); err != nil {
			return fmt.Errorf("MEILI_INDEXING_KEY: %w", err)
		}
		return nil
	}
	err := check(ctx)
	if !errors.Is(err, search.ErrUnavailable) {
		return err
	}
	a.log.Warn("meilisearch unreachable at start; its keys are checked when it answers", "error", err)
	a.goLoop("key check", func(ctx context.Context) {
		t := time.NewTicker(keyCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := check(ctx)
			if errors.Is(err, search.ErrUnavailable) {
				continue
			}
			if err != nil {
				a.fail(err)
			}
			return
		}
	})
	return nil
}

// purge removes, every purgeEvery, ended sessions, spent invitations and
// links, and the rate-limit counts of ended windows, until ctx ends.
func (a *app) purge(ctx context.Context) {
	a.accounts.RunPurge(ctx, purgeEvery, func(p account.Purged) {
		a.metrics.Purged("sessions", p.Sessions)
		a.metrics.Purged("invitations", p.Invitations)
		a.metrics.Purged("unlock_links", p.UnlockLinks)
		a.metrics.Purged("login_ghosts", p.Ghosts)
		a.metrics.Purged("mfa_reset_requests", p.ResetRequests)
		if p != (account.Purged{}) {
			a.log.Info("purged", "sessions", p.Sessions, "invitations", p.Invitations,
				"unlockLinks", p.UnlockLinks, "loginGhosts", p.Ghosts, "resetRequests", p.ResetRequests)
		}
		// The rate-limit counts go with the same beat.
		if n, err := a.db.PurgeRateLimits(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purge rate-limit counts", "error", err)
		} else if n > 0 {
			a.metrics.Purged("rate_limit_counts", int(n))
		}
	})
}
