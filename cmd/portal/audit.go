package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: portal audit verify")
	}
	if _, err := parseFlags("audit verify", "Checks the audit log's hash chain and names the first entry that was\nedited, inserted or deleted. Exits non-zero when the chain is broken.", args[1:], stderr, ""); err != nil {
		return err
	}
	cfg, err := loadWithDevSecret(getenv)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, cfg.NewLogger(stderr))
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
