package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"portal/alerts"
	"portal/config"
	"portal/search"
)

const alertsSendHelp = `Makes one digest pass now, besides the one portal serve makes every
15 minutes: the saved searches whose daily or weekly alert is due and the
followed records get their notifications, and the mail is queued for the
running portal to send.`

// digestEvery is how often serve makes a digest pass. Searches are due
// daily or weekly; a pass finds those whose time has come.
const digestEvery = 15 * time.Minute

// openAlerts adds the alerts service over the member search.
func (a *app) openAlerts(cfg config.Config, searcher alerts.Searcher) error {
	if a.outbox == nil {
		return errors.New("alerts: no mail outbox (PORTAL_MAIL_FROM unset)")
	}
	var err error
	a.alerts, err = alerts.New(a.db.Alerts(), searcher, a.outbox,
		alerts.Options{PublicURL: publicBase(cfg), SecretKey: cfg.SecretKey, Audit: a.audit, Logger: a.log})
	return err
}

// runDigests makes a digest pass every digestEvery until ctx ends. It is
// the only goroutine that does: one pass at a time.
func (a *app) runDigests(ctx context.Context) {
	t := time.NewTicker(digestEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := a.alerts.Send(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			a.log.Warn("alerts: digest pass", "error", err)
		}
		if rep.Mails > 0 || rep.Notifications > 0 {
			a.log.Info("alerts: digest pass", "searches", rep.Searches, "follows", rep.Follows,
				"notifications", rep.Notifications, "mails", rep.Mails)
		}
	}
}

func alertsSendCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("alerts send"), args); err != nil {
		return err
	}
	a, cfg, _, err := openState(ctx, "alerts send", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.MeiliURL == "" || cfg.MeiliSearchKey == "" {
		return errors.New("MEILI_URL and MEILI_SEARCH_KEY are required")
	}
	if err := a.openAlerts(cfg, search.NewSearcher(cfg.MeiliURL, cfg.MeiliSearchKey, cfg.MeiliKeyUID)); err != nil {
		return err
	}
	rep, err := a.alerts.Send(ctx, time.Now())
	fmt.Fprintf(stdout, "%d saved searches due, %d followed records changed: %d notifications, %d mails queued.\n",
		rep.Searches, rep.Follows, rep.Notifications, rep.Mails)
	return err
}
