package main

import (
	"context"
	"fmt"
	"io"
)

const auditVerifyHelp = `Checks the audit log's hash chain and names the first entry that was
edited, inserted or deleted. Exits with status 1 when the chain is broken,
and refuses a data directory without a database.`

func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("audit verify"), args); err != nil {
		return err
	}
	a, _, _, err := openState(ctx, "audit verify", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.audit.Verify(ctx)
	if err != nil {
		return err
	}
	if res.FirstBad != 0 {
		return fmt.Errorf("audit log tampered: first bad entry %d: %s (%d entries checked)", res.FirstBad, res.Reason, res.Entries)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries, hash chain verified\n", res.Entries)
	return nil
}
