// Command vulndb builds a local copy of the Go vulnerability database for
// `govulncheck -db file://DIR`, because the machines this project runs on
// reach the Go module proxy but not the database's own site.
//
// Its source is the module golang.org/x/vulndb, whose data/osv holds every
// report as an OSV JSON file named by its ID. This module's go.mod requires it
// at one version and go.sum pins its hash, so `go mod download` (run here)
// fetches exactly that data and refuses anything else. The output has the
// layout govulncheck reads from a directory:
//
//	index/db.json       {"modified": time of the vulndb commit}
//	index/modules.json  per module: its vulnerabilities and their latest fix
//	ID/<ID>.json        each OSV entry, as published
//
// Run it from this directory (the Makefile does): go run . build -out DIR
//
// `go run . gate -accept FILE < findings.json` reads `govulncheck -format
// json` output and fails on every vulnerability that the code calls, except
// those of the Go standard library that FILE lists (see accepted.txt).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// Module is the source of the data, as required in go.mod.
const Module = "golang.org/x/vulndb"

const usage = `usage: go run . build -out DIR
       go run . gate -accept FILE < govulncheck.json`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	switch os.Args[1] {
	case "build":
		out := fs.String("out", "", "directory to write the database into (replaced whole)")
		fs.Parse(os.Args[2:])
		if *out == "" || fs.NArg() != 0 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		build(*out)
	case "gate":
		accept := fs.String("accept", "", "file of accepted standard-library vulnerability IDs")
		fs.Parse(os.Args[2:])
		if *accept == "" || fs.NArg() != 0 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		if err := gate(os.Stdin, *accept, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "vulnerability check:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func build(out string) {
	src, modified, err := Download()
	if err != nil {
		slog.Error("vulndb", "err", err)
		os.Exit(1)
	}
	n, err := Build(filepath.Join(src, "data", "osv"), out, modified)
	if err != nil {
		slog.Error("vulndb", "err", err)
		os.Exit(1)
	}
	slog.Info("vulndb: built", "entries", n, "out", out, "modified", modified.Format(time.RFC3339))
}

// Download fetches the pinned vulndb module (checked against go.sum) into the
// module cache and returns its directory and the time of its commit.
func Download() (dir string, modified time.Time, err error) {
	cmd := exec.Command("go", "mod", "download", "-json", Module)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("go mod download %s: %w\n%s", Module, err, stderr.Bytes())
	}
	var m struct {
		Dir, Info, Error string
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", time.Time{}, fmt.Errorf("go mod download %s: %w", Module, err)
	}
	if m.Error != "" {
		return "", time.Time{}, fmt.Errorf("go mod download %s: %s", Module, m.Error)
	}
	info, err := os.ReadFile(m.Info)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("module info: %w", err)
	}
	var v struct{ Time time.Time }
	if err := json.Unmarshal(info, &v); err != nil {
		return "", time.Time{}, fmt.Errorf("module info %s: %w", m.Info, err)
	}
	return m.Dir, v.Time, nil
}

// entry is the part of an OSV entry that the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced"`
		Fixed      string `json:"fixed"`
	} `json:"events"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

// Build writes the database for the OSV files in src into out, through a
// sibling directory renamed into place, so that a failed run never leaves a
// partial database that would report nothing. It returns the entry count.
func Build(src, out string, modified time.Time) (int, error) {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no OSV entries in %s", src)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, fmt.Errorf("vulndb output: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), filepath.Base(out)+".new-")
	if err != nil {
		return 0, fmt.Errorf("vulndb output: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return 0, err
	}
	if err := os.Mkdir(filepath.Join(tmp, "index"), 0o755); err != nil {
		return 0, err
	}

	modules := map[string]*module{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if e.ID+".json" != filepath.Base(f) {
			return 0, fmt.Errorf("%s: holds entry %q", f, e.ID)
		}
		for _, a := range e.Affected {
			if a.Package.Ecosystem != "Go" || a.Package.Name == "" {
				continue
			}
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: latestFix(a.Ranges)})
		}
		// Entries are copied byte for byte: govulncheck reads the full OSV.
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}

	index := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		index = append(index, m)
	}
	slices.SortFunc(index, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	if err := writeJSON(filepath.Join(tmp, "index", "modules.json"), index); err != nil {
		return 0, err
	}
	if err := writeJSON(filepath.Join(tmp, "index", "db.json"), map[string]time.Time{"modified": modified}); err != nil {
		return 0, err
	}

	if err := os.RemoveAll(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, fmt.Errorf("vulndb output: %w", err)
	}
	return len(files), nil
}

// latestFix is the version from which no later version is affected, or ""
// when the newest versions are still affected (or a range cannot be read:
// govulncheck then reads the entry instead of skipping it, which is the safe
// side). govulncheck uses it only to skip entries that cannot apply.
func latestFix(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			return ""
		}
		// Walk the events in version order: the range is still open at
		// the end when an introduction is not followed by a fix.
		type event struct {
			v     string
			fixed bool
		}
		var events []event
		for _, e := range r.Events {
			switch {
			case e.Introduced == "0":
				// Before every version, pseudo-versions v0.0.0-… included;
				// semver.Compare sorts "" first.
				events = append(events, event{v: ""})
			case e.Introduced != "":
				events = append(events, event{v: "v" + e.Introduced})
			case e.Fixed != "":
				events = append(events, event{v: "v" + e.Fixed, fixed: true})
			default:
				return ""
			}
		}
		for _, e := range events {
			if e.v != "" && !semver.IsValid(e.v) {
				return ""
			}
		}
		slices.SortStableFunc(events, func(a, b event) int { return semver.Compare(a.v, b.v) })
		if len(events) == 0 || !events[len(events)-1].fixed {
			return ""
		}
		if fix := events[len(events)-1].v; latest == "" || semver.Compare(fix, latest) > 0 {
			latest = fix
		}
	}
	return strings.TrimPrefix(latest, "v")
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
