// Package site builds the Hugo project in this directory. The templates,
// assets, translations and configuration beside this file are the site
// itself; the Go code only runs the pinned Hugo over them, for the portal's
// dev command and for tests.
package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildOptions says what to build and where.
type BuildOptions struct {
	// Root is the repository root (holding go.mod, site/ and content/).
	Root string
	// Destination is where the built site goes; it is emptied first.
	Destination string
	// Environment is Hugo's environment: "" for the public build.
	Environment string
	// BaseURL overrides the configured base URL when set.
	BaseURL string
	Stdout  io.Writer
	Stderr  io.Writer
}

// Build runs Hugo. It uses $HUGO when set (a prebuilt binary of the pinned
// version) and otherwise `go tool -modfile=tools/go.mod hugo`, the version
// pinned in the tools module (kept apart so that Hugo's dependencies stay out
// of the portal's go.mod).
func Build(ctx context.Context, o BuildOptions) error {
	args := []string{"--source", filepath.Join(o.Root, "site"), "--destination", o.Destination,
		"--cleanDestinationDir", "--panicOnWarning", "--logLevel", "warn"}
	if o.Environment != "" {
		args = append(args, "--environment", o.Environment)
	}
	if o.BaseURL != "" {
		args = append(args, "--baseURL", o.BaseURL)
	}
	var cmd *exec.Cmd
	if hugo := os.Getenv("HUGO"); hugo != "" {
		cmd = exec.CommandContext(ctx, hugo, args...)
	} else {
		cmd = exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=" + filepath.Join(o.Root, "tools", "go.mod"), "hugo"}, args...)...)
	}
	cmd.Dir = o.Root
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hugo build: %w", err)
	}
	if o.Environment == "" {
		// The public build's modules travel offline too (offline.go).
		return PackOffline(o.Destination)
	}
	return nil
}

// FindRoot walks up from dir to the directory holding go.mod.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above " + dir)
		}
		dir = parent
	}
}
