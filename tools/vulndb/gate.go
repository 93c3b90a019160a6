package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// finding is the part of a govulncheck -format json finding the gate reads.
type finding struct {
	OSV   string `json:"osv"`
	Trace []struct {
		Module   string `json:"module"`
		Package  string `json:"package"`
		Function string `json:"function"`
	} `json:"trace"`
}

// called reports whether the finding's trace reaches a vulnerable function
// (govulncheck's symbol level; the others are imports that are not called).
func (f finding) called() bool { return len(f.Trace) > 0 && f.Trace[0].Function != "" }

// gate fails on every called vulnerability, except standard-library ones
// listed in the accept file. Third-party modules are never accepted: they
// are upgraded. The accept list exists because the Go release is pinned for
// the whole project (go.mod, netlify.toml, the machines); an ID on it that
// is no longer reported is named, so that the list shrinks with each release.
func gate(r io.Reader, acceptFile string, w io.Writer) error {
	accepted, err := readAccepted(acceptFile)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(r)
	var sawConfig bool
	found := map[string]bool{}
	var failed, acceptedFound []string
	for {
		var msg struct {
			Config  *json.RawMessage `json:"config"`
			Finding *finding         `json:"finding"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("reading govulncheck output: %w", err)
		}
		sawConfig = sawConfig || msg.Config != nil
		f := msg.Finding
		if f == nil || !f.called() {
			continue
		}
		if found[f.OSV] {
			continue
		}
		found[f.OSV] = true
		top := f.Trace[0]
		if top.Module == "stdlib" && accepted[f.OSV] {
			acceptedFound = append(acceptedFound, f.OSV)
			continue
		}
		failed = append(failed, fmt.Sprintf("%s in %s (%s.%s)", f.OSV, top.Module, top.Package, top.Function))
	}
	if !sawConfig {
		return errors.New("no govulncheck output (did it run?)")
	}
	slices.Sort(acceptedFound)
	if len(acceptedFound) > 0 {
		fmt.Fprintf(w, "accepted (standard library, accepted.txt): %s\n", strings.Join(acceptedFound, " "))
	}
	var unseen []string
	for id := range accepted {
		if !found[id] {
			unseen = append(unseen, id)
		}
	}
	if len(unseen) > 0 {
		slices.Sort(unseen)
		fmt.Fprintf(w, "accepted but not reported by this scan (remove from accepted.txt once no scan reports them): %s\n", strings.Join(unseen, " "))
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		return fmt.Errorf("%d called vulnerabilities:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	fmt.Fprintln(w, "no called vulnerability outside accepted.txt")
	return nil
}

// readAccepted reads one ID a line, the first word; # starts a comment.
func readAccepted(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fields := strings.Fields(line); len(fields) > 0 {
			ids[fields[0]] = true
		}
	}
	return ids, sc.Err()
}
