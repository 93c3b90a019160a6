package main

import (
	"context"
	"fmt"
	"io"

	"portal/audit"
)

const auditVerifyHelp = `Checks the audit log's hash chain and names the first entry that was
edited, inserted or deleted, then prints the chain's head (the last entry's
ID and MAC, as ID:MAC). The chain alone cannot show that its newest entries
were deleted: --expect-head ID:MAC, a head recorded earlier (by portal serve
in its log, by portal audit anchor, or by an earlier verify), also requires
the log to still hold that entry with that MAC. Exits with status 1 when the
chain is broken or the expected head is missing or differs, and refuses a
data directory without a database.`

const auditAnchorHelp = `Prints the audit log's head, ID:MAC, for an operator's own records kept
off the machine; portal audit verify --expect-head checks the log against it
later. portal serve also writes it to its log every few minutes and after
each admin act.`

func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify")
	expect := fs.String("expect-head", "", "a head recorded earlier, `ID:MAC`, that the log must still hold")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	var want audit.Head
	if *expect != "" {
		h, err := audit.ParseHead(*expect)
		if err != nil {
			return usagef(fs, "--expect-head: %v", err)
		}
		want = h
	}
	a, _, _, err := openState(ctx, "audit verify", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.audit.VerifyHead(ctx, want)
	if err != nil {
		return err
	}
	if res.FirstBad != 0 {
		return fmt.Errorf("audit log tampered: first bad entry %d: %s (%d entries checked)", res.FirstBad, res.Reason, res.Entries)
	}
	if res.Missing != "" {
		fmt.Fprintf(stdout, "head %s\n", headText(res.Last()))
		return fmt.Errorf("audit log truncated or rewritten: %s (expected head %s)", res.Missing, want)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries, hash chain verified", res.Entries)
	if want.ID != 0 {
		fmt.Fprintf(stdout, ", expected head %d held", want.ID)
	}
	fmt.Fprintf(stdout, "\nhead %s\n", headText(res.Last()))
	return nil
}

func auditAnchorCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("audit anchor"), args); err != nil {
		return err
	}
	a, _, _, err := openState(ctx, "audit anchor", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	e, err := a.audit.Head(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, headText(e.Head()))
	return nil
}

// headText prints a head as --expect-head takes it, or says the log is
// empty.
func headText(h audit.Head) string {
	if h.ID == 0 {
		return "none: the log is empty"
	}
	return h.String()
}
