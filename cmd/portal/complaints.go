package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"portal/complaints"
	"portal/config"
)

// complaintsEvery is how often `portal serve` looks for overdue complaints
// and erases expired personal data.
const complaintsEvery = 15 * time.Minute

// complaintDesk builds the complaints procedure over the app's state.
func (a *app) complaintDesk(cfg config.Config) (*complaints.Service, error) {
	if a.outbox == nil {
		return nil, errors.New("complaints: no mail outbox (PORTAL_MAIL_FROM unset)")
	}
	return complaints.New(a.db.Complaints(), a.db, a.audit, a.outbox, complaints.Options{
		HandlingGroup: cfg.ComplaintGroup, Retention: cfg.ComplaintRetention, PublicURL: publicBase(cfg),
		SecretKey: cfg.SecretKey, Logger: a.log})
}

const complaintsOverdueHelp = `Look once for complaints that have missed a target time (acknowledgement
within 2 working days, decision within 30 days) and queue a mail about them
to the handling group's leads; each case's lateness is mailed once, whoever
runs the pass (portal serve runs it every 15 minutes). Then erase the
personal data of cases closed longer ago than PORTAL_COMPLAINT_RETENTION.
The mails are sent by portal serve's mail loop.`

func complaintsOverdueCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("complaints overdue"), args); err != nil {
		return err
	}
	a, cfg, _, err := openState(ctx, "complaints overdue", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	desk, err := a.complaintDesk(cfg)
	if err != nil {
		return err
	}
	n, err := desk.Overdue(ctx)
	if err != nil {
		return err
	}
	erased, err := desk.EraseExpired(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "overdue targets mailed: %d\ncases erased: %d\n", n, erased)
	return nil
}
