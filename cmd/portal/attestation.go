package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"portal/attest"
	"portal/config"
	"portal/groups"
)

const attestationRunHelp = `Runs one pass of the yearly re-attestation at once, as portal serve does
every hour: mails the reminders due (30 and 7 days before a member's due
date) and suspends the members whose attestation lapsed (their sessions end,
sign-in is refused with whom to contact; their uploads are kept). Each act
is audited; a pass sends nothing twice. Prints how many members it reminded
and suspended.`

// attestEvery is how often portal serve runs the attestation pass.
const attestEvery = time.Hour

// openAttest builds the groups and attestation services over a's database.
func (a *app) openAttest(cfg config.Config) (*groups.Service, *attest.Service, error) {
	gs, err := groups.New(a.db.Groups(), a.audit, nil)
	if err != nil {
		return nil, nil, err
	}
	as, err := attest.New(a.db.Attestations(), gs, a.audit, attest.Options{Period: cfg.AttestationPeriod,
		Mail: a.outbox, PublicURL: publicBase(cfg), Logger: a.log})
	if err != nil {
		return nil, nil, err
	}
	return gs, as, nil
}

func attestationRunCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("attestation run"), args); err != nil {
		return err
	}
	a, cfg, _, err := openState(ctx, "attestation run", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	_, as, err := a.openAttest(cfg)
	if err != nil {
		return err
	}
	sum, err := as.Run(ctx, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "reminded %d, suspended %d\n", sum.Reminded, sum.Suspended)
	return err
}
