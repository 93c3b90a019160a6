package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"portal/config"
)

// command is one command of the portal binary. Its run parses its own
// flags with parseArgs, so that --help, unknown flags and missing
// arguments are answered alike everywhere.
type command struct {
	name     string // as typed after "portal": "users unlock"
	synopsis string // its arguments: "--email ADDRESS"
	summary  string // one line, for the list of commands
	help     string // what it does, for its --help
	// defaults are the command's own defaults of variables of the table in
	// config, as its help shows them: where it does not use the table's.
	defaults map[string]string
	run      func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// commands lists every command, in the order `portal help` prints them.
func commands() []command {
	return []command{
		{name: "serve", summary: "serve the public site and the API (production)", help: serveHelp, run: serveCmd},
		{name: "dev", summary: "run a complete local portal: Meilisearch, site build, index, server", help: devHelp,
			defaults: devHelpDefaults(), run: devCmd},
		{name: "index site", summary: "index the built site's search feeds into Meilisearch", help: indexHelp, run: indexCmd},
		{name: "reindex", summary: "rebuild every index from SQLite, the stored files and the site's feeds", help: reindexHelp,
			defaults: oneOffDefaults(), run: reindexCmd},
		{name: "meili keys", summary: "create or renew the portal's Meilisearch keys (needs the master key)", help: keysHelp, run: keysCmd},
		{name: "training lint", synopsis: "[--root DIR]", summary: "check every training module and print the translation report",
			help: trainingLintHelp, run: trainingCmd},
		{name: "training remind", synopsis: "[--now YYYY-MM-DD]", summary: "queue the renewal reminders that are due",
			help: trainingRemindHelp, defaults: oneOffDefaults(), run: trainingRemindCmd},
		{name: "training offline", synopsis: "--site DIR", summary: "write the public modules' offline archives into a built site",
			help: trainingOfflineHelp, run: trainingOfflineCmd},
		{name: "content lint", synopsis: "[--root DIR]", summary: "check that facts about INTERPOL and its partners come from a source",
			help: contentLintHelp, run: contentCmd},
		{name: "users list", summary: "list the members, their roles, groups and state", help: usersListHelp,
			defaults: oneOffDefaults(), run: usersListCmd},
		{name: "users create-admin", synopsis: "--email ADDRESS [--force]", summary: "bootstrap the first admin (prints a single-use invitation link)",
			help: createAdminHelp, defaults: oneOffDefaults(), run: createAdminCmd},
		{name: "users unlock", synopsis: "--email ADDRESS", summary: "let a member locked by failed sign-ins sign in again",
			help: unlockHelp, defaults: oneOffDefaults(), run: unlockCmd},
		{name: "users disable", synopsis: "--email ADDRESS", summary: "disable a member's account and end their sessions",
			help: disableHelp, defaults: oneOffDefaults(), run: disableCmd(true)},
		{name: "users enable", synopsis: "--email ADDRESS", summary: "enable a disabled account again",
			help: enableHelp, defaults: oneOffDefaults(), run: disableCmd(false)},
		{name: "users reset-mfa", synopsis: "--email ADDRESS", summary: "remove a member's second factor and send a re-enrolment link",
			help: resetMFAHelp, defaults: oneOffDefaults(), run: resetMFACmd},
		{name: "seed demo", synopsis: "[--research N]", summary: "create demo accounts and a synthetic library (development only)",
			help: seedHelp, defaults: oneOffDefaults(), run: seedCmd},
		{name: "audit verify", synopsis: "[--expect-head ID:MAC]", summary: "check the audit log's hash chain and print its head",
			help: auditVerifyHelp, defaults: oneOffDefaults(), run: auditCmd},
		{name: "audit anchor", summary: "print the audit log's head (ID:MAC) to keep off the machine", help: auditAnchorHelp,
			defaults: oneOffDefaults(), run: auditAnchorCmd},
		{name: "complaints overdue", summary: "mail overdue complaints to the handling group's leads, erase expired personal data (one pass)",
			help: complaintsOverdueHelp, defaults: oneOffDefaults(), run: complaintsOverdueCmd},
		{name: "backup", synopsis: "--to DIR", summary: "take a consistent backup while the portal serves", help: backupHelp,
			defaults: oneOffDefaults(), run: backupCmd},
		{name: "restore", synopsis: "--from DIR --data-dir NEW", summary: "restore a backup into a new data directory", help: restoreHelp,
			run: restoreCmd},
		{name: "attestation run", summary: "remind members whose attestation is due and suspend those whose attestation lapsed, once",
			help: attestationRunHelp, defaults: oneOffDefaults(), run: attestationRunCmd},
		{name: "alerts send", summary: "make one digest pass of saved-search alerts and followed records now", help: alertsSendHelp,
			defaults: oneOffDefaults(), run: alertsSendCmd},
		{name: "db migrate", synopsis: "[--grant ROLE]", summary: "apply the PostgreSQL migrations as the owner and grant the runtime role",
			help: dbMigrateHelp, defaults: oneOffDefaults(), run: dbMigrateCmd},
		{name: "migrate-store", synopsis: "[--from sqlite:PATH --to postgres://…] [--from-blobs DIR --to-blobs s3://…]", summary: "copy an installation's records from SQLite to an empty PostgreSQL, its originals to an empty bucket",
			help: migrateStoreHelp, defaults: oneOffDefaults(), run: migrateStoreCmd},
		{name: "version", summary: "print the version, the commit it was built from and the Go release", help: versionHelp, run: versionCmd},
	}
}

// run dispatches a command line. It takes its environment and output as
// arguments so that tests can drive it like a user. Help goes to stdout and
// returns nil; a mistake in the command line is a *usageError.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{err: errors.New("no command given"), usage: overview("")}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 1 {
			fmt.Fprint(stdout, overview(""))
			return nil
		}
		// "portal help users unlock" is "portal users unlock --help".
		args = append(args[1:len(args):len(args)], "--help")
	case "-version", "--version":
		args = []string{"version"}
	}
	c, rest := lookup(args)
	if c == nil {
		group := args[0]
		if overview(group) == "" {
			return &usageError{err: fmt.Errorf("unknown command %q", group), usage: overview("")}
		}
		switch {
		case len(args) > 1 && isHelpFlag(args[1]):
			fmt.Fprint(stdout, overview(group))
			return nil
		case len(args) > 1:
			return &usageError{err: fmt.Errorf("unknown command %q", group+" "+args[1]), usage: overview(group)}
		}
		return &usageError{err: fmt.Errorf("%s: missing command", group), usage: overview(group)}
	}
	err := c.run(ctx, rest, getenv, stdout, stderr)
	if h, ok := errors.AsType[*helpRequest](err); ok {
		fmt.Fprint(stdout, c.fullHelp(h.fs))
		return nil
	}
	if u, ok := errors.AsType[*usageError](err); ok && u.usage == "" {
		u.usage = c.usage(u.fs)
		u.err = fmt.Errorf("%s: %w", c.name, u.err)
	}
	return err
}

// lookup finds the command args start with, and the arguments after it.
func lookup(args []string) (*command, []string) {
	cmds := commands()
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cmds[i].name {
			return &cmds[i], args[len(words):]
		}
	}
	return nil, nil
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// overview lists the commands, or those of group ("users"); it is empty
// when group names none.
func overview(group string) string {
	var b strings.Builder
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		if group == "" || strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	name := "portal"
	if group != "" {
		name += " " + group
	}
	return fmt.Sprintf("usage: %s <command> [arguments]\n\nCommands:\n%s\nRun \"portal <command> --help\" for a command's flags and environment.\n", name, b.String())
}

// usage is the short form printed after a mistake in the command line.
func (c *command) usage(fs *flag.FlagSet) string {
	s := "usage: portal " + strings.TrimSpace(c.name+" "+c.synopsis) + "\n"
	if f := flagDefaults(fs); f != "" {
		s += "\nFlags:\n" + f
	}
	return s + fmt.Sprintf("\nRun \"portal %s --help\" for more.\n", c.name)
}

// fullHelp is what --help prints: the usage, what the command does, its
// flags, and the environment it reads with the defaults it uses.
func (c *command) fullHelp(fs *flag.FlagSet) string {
	s := "usage: portal " + strings.TrimSpace(c.name+" "+c.synopsis) + "\n\n" + strings.TrimSpace(c.help) + "\n"
	if f := flagDefaults(fs); f != "" {
		s += "\nFlags:\n" + f
	}
	if env := config.Help(c.name, c.defaults); env != "" {
		s += "\n" + env
	}
	return s
}

func flagDefaults(fs *flag.FlagSet) string {
	if fs == nil {
		return ""
	}
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// helpRequest is what parseArgs returns for -h or --help: run prints the
// command's help to stdout and succeeds.
type helpRequest struct{ fs *flag.FlagSet }

func (*helpRequest) Error() string { return "help requested" }

// usageError is a mistake in the command line: an unknown command or
// flag, a missing or unexpected argument. main prints it with the usage
// and exits with status 2.
type usageError struct {
	err   error
	fs    *flag.FlagSet // the command's flags, for its usage
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef reports a missing or wrong argument of the command with flags fs.
func usagef(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), fs: fs}
}

// newFlags returns the flag set of command name. Its messages go through
// the errors parseArgs returns, not to an output of its own.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("portal "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses a command's flags. Commands take no positional
// arguments.
func parseArgs(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return &helpRequest{fs: fs}
	}
	if err != nil {
		return &usageError{err: err, fs: fs}
	}
	if fs.NArg() > 0 {
		return usagef(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// exitCode is the process status for run's result: 0, 2 for a mistake in
// the command line, 1 for any other failure. It prints the error, and the
// usage after a mistake, to stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "portal:", err)
	if u, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprint(stderr, "\n"+u.usage)
		return 2
	}
	return 1
}
