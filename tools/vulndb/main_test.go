package main

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDatabaseFindsKnownVulnerability builds the database from the pinned
// vulndb module and runs the pinned govulncheck with it over testdata/oldnet,
// which calls html.Parse of golang.org/x/net v0.30.0: GO-2024-3333 must be
// reported there. An empty or unreadable database would report nothing on
// the portal too, so `make test` runs this before trusting a clean result.
func TestDatabaseFindsKnownVulnerability(t *testing.T) {
	src, modified, err := Download()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "vulndb")
	n, err := Build(filepath.Join(src, "data", "osv"), db, modified)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Errorf("%d entries: the vulndb module should hold thousands", n)
	}
	if modified.Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("database modified %v: not the pinned vulndb commit's time", modified)
	}

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	canary, err := filepath.Abs(filepath.Join("testdata", "oldnet"))
	if err != nil {
		t.Fatal(err)
	}
	dbURL := (&url.URL{Scheme: "file", Path: db}).String()
	cmd := exec.Command("go", "tool", "-modfile="+filepath.Join(root, "tools", "go.mod"), "govulncheck",
		"-db", dbURL, "-format", "json", "-C", canary, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("govulncheck: %v\n%s", err, stderr.Bytes())
	}

	// Through the gate that `make lint` uses: a third-party finding fails,
	// whether or not the accept list names it.
	for _, list := range []string{"", "GO-2024-3333\n"} {
		accept := filepath.Join(t.TempDir(), "accepted.txt")
		if err := os.WriteFile(accept, []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
		err := gate(bytes.NewReader(out), accept, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "GO-2024-3333 in golang.org/x/net (golang.org/x/net/html.Parse)") {
			t.Errorf("gate with accept list %q over x/net v0.30.0 = %v; want GO-2024-3333 for html.Parse", list, err)
		}
	}
}

func TestLatestFix(t *testing.T) {
	type ev = struct {
		Introduced string `json:"introduced"`
		Fixed      string `json:"fixed"`
	}
	r := func(events ...ev) osvRange { return osvRange{Type: "SEMVER", Events: events} }
	for _, c := range []struct {
		name   string
		ranges []osvRange
		want   string
	}{
		{"fixed once", []osvRange{r(ev{Introduced: "0"}, ev{Fixed: "0.33.0"})}, "0.33.0"},
		// A pseudo-version fix sorts below v0.0.0, yet comes after "0".
		{"pseudo-version fix", []osvRange{r(ev{Introduced: "0"}, ev{Fixed: "0.0.0-20190125091013-d26f9f9a57f3"})}, "0.0.0-20190125091013-d26f9f9a57f3"},
		{"two branches", []osvRange{r(ev{Introduced: "0"}, ev{Fixed: "1.2.3"}, ev{Introduced: "1.3.0"}, ev{Fixed: "1.3.1"})}, "1.3.1"},
		{"reintroduced, unfixed", []osvRange{r(ev{Introduced: "0"}, ev{Fixed: "1.2.3"}, ev{Introduced: "1.3.0"})}, ""},
		{"never fixed", []osvRange{r(ev{Introduced: "0"})}, ""},
		{"latest of two ranges", []osvRange{r(ev{Introduced: "0"}, ev{Fixed: "1.0.0"}), r(ev{Introduced: "2.0.0"}, ev{Fixed: "2.1.0"})}, "2.1.0"},
		{"unreadable range", []osvRange{{Type: "GIT"}}, ""},
	} {
		if got := latestFix(c.ranges); got != c.want {
			t.Errorf("%s: latestFix = %q, want %q", c.name, got, c.want)
		}
	}
}
