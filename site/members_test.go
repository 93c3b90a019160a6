package site_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"portal/portaltest"
	"portal/site"
)

// canary is planted in the front matter of every members-only training page
// (content/members/): the members build writes it into an attribute of the
// page (baseof.html), never into text a reader sees, and it must never
// reach the public build.
const canary = "CANARY-MEMBERS-ONLY-7f3a"

// TestMembersOnlyContentNeverInThePublicBuild walks every file of the
// public build (HTML, search feeds, sitemaps, CSS, JS) for the canary.
func TestMembersOnlyContentNeverInThePublicBuild(t *testing.T) {
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	// The canary really is in the members-only content, so that its absence
	// below means something.
	planted := 0
	err = filepath.WalkDir(filepath.Join(root, "content", "members"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(canary)) {
			planted++
		}
		return err
	})
	if err != nil || planted < 2 {
		t.Fatalf("canary planted in %d members-only files (%v), want every members-only module", planted, err)
	}

	public, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(public, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(public, p)
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s contains members-only text (%s)", rel, canary)
		}
		if strings.HasSuffix(rel, "members-manifest.json") {
			t.Errorf("%s: the members' manifest is in the public build", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("public build has only %d files", files)
	}
}

type manifestEntry struct {
	Path   string   `json:"path"`
	File   string   `json:"file"`
	Lang   string   `json:"lang"`
	Title  string   `json:"title"`
	Module string   `json:"module"`
	Lesson string   `json:"lesson"`
	Kind   string   `json:"kind"`
	Access []string `json:"access"`
	TLP    string   `json:"tlp"`
}

// TestMembersBuild builds the members environment into a folder of its own
// and checks its manifest: every page of every members-only module, with the
// module's access groups and TLP label, and nothing public.
func TestMembersBuild(t *testing.T) {
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stderr bytes.Buffer
	if err := site.Build(context.Background(), site.BuildOptions{Root: root, Destination: out, Environment: "members", Stderr: &stderr, Stdout: &stderr}); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "members-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []manifestEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}

	want := map[string]struct {
		access []string
		tlp    string
	}{
		"icse-victim-identification-workflow": {[]string{"victim-identification"}, "TLP:AMBER"},
		"annual-meeting":                      {[]string{"members"}, "TLP:GREEN"},
	}
	kinds := map[string]map[string]int{}
	listed := map[string]bool{}
	for _, e := range entries {
		w, ok := want[e.Module]
		if !ok {
			t.Errorf("manifest lists %s of module %q, which is not members-only", e.Path, e.Module)
			continue
		}
		if !slices.Equal(e.Access, w.access) || e.TLP != w.tlp {
			t.Errorf("%s: access %v %s, want %v %s", e.Path, e.Access, e.TLP, w.access, w.tlp)
		}
		if !strings.HasPrefix(e.Path, "/members/"+e.Lang+"/training/"+e.Module+"/") || e.Title == "" {
			t.Errorf("entry %+v", e)
		}
		if e.Kind == "lesson" && e.Lesson == "" {
			t.Errorf("lesson entry without lesson id: %+v", e)
		}
		k := e.Module + " (" + e.Lang + ")"
		if kinds[k] == nil {
			kinds[k] = map[string]int{}
		}
		kinds[k][e.Kind]++
		page, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(e.File)))
		if err != nil {
			t.Errorf("%s: %v", e.Path, err)
			continue
		}
		listed[e.File] = true
		if !bytes.Contains(page, []byte(w.tlp)) {
			t.Errorf("%s does not show its label %s", e.File, w.tlp)
		}
		if e.Kind == "handout" {
			for _, placeholder := range []string{"<span data-reader-name></span>", "<span data-print-date></span>", `class="handout-footer"`} {
				if !bytes.Contains(page, []byte(placeholder)) {
					t.Errorf("%s lacks %s", e.File, placeholder)
				}
			}
		}
	}
	// Every members-only module exists in English and French.
	for module := range want {
		for _, lang := range []string{"en", "fr"} {
			name := module + " (" + lang + ")"
			k := kinds[name]
			if k["module"] != 1 || k["lesson"] < 3 || k["quiz"] != 1 || k["handout"] != 1 {
				t.Errorf("%s in the manifest: %v, want the overview, its lessons, quiz and handout", name, k)
			}
		}
	}

	// Every page built from the members-only tree is in the manifest, and the
	// canary is in the members' output (so the public test can trust it).
	found := false
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		for module := range want {
			if strings.Contains(rel, "/training/"+module+"/") && strings.HasSuffix(rel, ".html") && !listed[rel] {
				t.Errorf("%s is not in the manifest", rel)
			}
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(canary)) {
			found = true
			// Readers never see it: outside its attribute, the page
			// does not hold it.
			if bytes.Contains(bytes.ReplaceAll(b, []byte(`data-canary="`+canary+`"`), nil), []byte(canary)) {
				t.Errorf("%s shows the canary to readers, outside its data-canary attribute", rel)
			}
		}
		switch {
		case strings.HasSuffix(rel, "search-feed.json"), strings.HasSuffix(rel, "sitemap.xml"), rel == "robots.txt":
			t.Errorf("members build writes %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Error("the canary is not in the members build: is the members-only content built?")
	}
}

// TestPublicBuildRefusesMembersOnlyModule: a members-only module copied into
// the public tree fails the public build (the training templates' guard,
// beside `portal training lint`).
func TestPublicBuildRefusesMembersOnlyModule(t *testing.T) {
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// The site itself, and go.mod for `go tool hugo` when $HUGO is not set.
	for _, name := range []string{"site", "go.mod", "go.sum"} {
		if err := os.Symlink(filepath.Join(root, name), filepath.Join(tmp, name)); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	content := filepath.Join(tmp, "content")
	if err := os.CopyFS(content, os.DirFS(filepath.Join(root, "content"))); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(content, "members")); err != nil {
		t.Fatal(err)
	}
	leaked := filepath.Join(content, "en", "training", "leaked")
	if err := os.CopyFS(leaked, os.DirFS(filepath.Join(root, "content", "members", "en", "training", "annual-meeting"))); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	err = site.Build(context.Background(), site.BuildOptions{Root: tmp, Destination: filepath.Join(tmp, "public"), Stdout: &log, Stderr: &log})
	if err == nil || !strings.Contains(log.String(), `members-only training module "leaked" in the public build`) {
		t.Errorf("public build with a members-only module: %v\n%s", err, log.String())
	}
}
