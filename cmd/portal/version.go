package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

const versionHelp = `Prints the portal's module version, the commit it was built from and that
commit's time (from the build information the Go toolchain stamps into the
binary), and the Go release that built it. "portal --version" does the same.`

func versionCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("version"), args); err != nil {
		return err
	}
	fmt.Fprint(stdout, version())
	return nil
}

// version describes the running binary from its build information, one
// fact a line:
//
//	portal v1.2.0
//	commit 0123abc… (with uncommitted changes)
//	time   2026-12-04T11:50:00Z
//	go     go1.26.0 linux/amd64
//
// A build outside a repository, or with -buildvcs=false, names no commit;
// so does one in a linked git worktree, which the go command does not
// recognise as a repository (golang/go#58218).
func version() string { return describeBuild(debug.ReadBuildInfo()) }

func describeBuild(info *debug.BuildInfo, ok bool) string {
	v, rev, at := "(unknown)", "", ""
	if ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" && modified {
			rev += " (with uncommitted changes)"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "portal %s\n", v)
	if rev != "" {
		fmt.Fprintf(&b, "commit %s\n", rev)
	}
	if at != "" {
		fmt.Fprintf(&b, "time   %s\n", at)
	}
	fmt.Fprintf(&b, "go     %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}
