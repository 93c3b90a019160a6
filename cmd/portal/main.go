// Command portal is the training and knowledge portal's one binary: it serves
// the public site and the API, indexes content into Meilisearch, administers
// members, and runs a complete local portal for development. The commands
// are listed in cli.go; `portal help` prints them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}
