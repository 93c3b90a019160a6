// Command portal is the training and knowledge portal's one binary: it serves
// the public site and the API, indexes content into Meilisearch, and runs a
// complete local portal for development.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: portal <command> [arguments]

Commands:
  serve         serve the public site and the API (production)
  dev           run a complete local portal: Meilisearch, site build, index, server
  index site    index the built site's search feeds into Meilisearch
  reindex       rebuild every index from SQLite, the stored files and the site's feeds
  training lint check every training module and print the translation report
  content lint  check that facts about INTERPOL and its partners come from a source
  meili keys    create or renew the portal's Meilisearch keys (needs the master key)
  users create-admin --email ADDRESS
                bootstrap the first admin (prints a single-use invitation link)
  seed demo     create demo accounts (development only)
  audit verify  check the audit log's hash chain

Run "portal <command> --help" for a command's options and environment.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "portal:", err)
		}
		stop()
		os.Exit(1)
	}
}

// run dispatches a command line. It takes its environment and output as
// arguments so that tests can drive it like a user.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serveCmd(ctx, rest, getenv, stdout, stderr)
	case "dev":
		return devCmd(ctx, rest, getenv, stdout, stderr)
	case "index":
		if len(rest) == 0 || rest[0] != "site" {
			return errors.New(`usage: portal index site`)
		}
		return indexCmd(ctx, rest[1:], getenv, stdout, stderr)
	case "meili":
		if len(rest) == 0 || rest[0] != "keys" {
			return errors.New(`usage: portal meili keys`)
		}
		return keysCmd(ctx, rest[1:], getenv, stdout, stderr)
	case "training":
		return trainingCmd(ctx, rest, getenv, stdout, stderr)
	case "content":
		return contentCmd(ctx, rest, stdout, stderr)
	case "reindex":
		return reindexCmd(ctx, rest, getenv, stdout, stderr)
	case "users":
		return usersCmd(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return seedCmd(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// parseFlags parses a command's flags and prints its help, with the
// environment it reads, on --help.
func parseFlags(name, summary string, args []string, stderr io.Writer, env string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: portal %s\n\n%s\n\n", name, summary)
		fs.PrintDefaults()
		if env != "" {
			fmt.Fprint(stderr, "\n"+env)
		}
	}
	return fs, fs.Parse(args)
}
