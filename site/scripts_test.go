package site_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portal/portaltest"
)

// TestMembersScriptOnlyOnAppPages: the members' applications are a bundle
// of their own, loaded by exactly the pages that hold one ([data-app]), so
// that an application page never lacks its script and a public page never
// carries it (the public pages' weight budget, docs/benchmarks.md). The
// list of application layouts in _partials/head.html is held to this.
func TestMembersScriptOnlyOnAppPages(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	apps := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		page := string(b)
		app := strings.Contains(page, "data-app=")
		script := strings.Contains(page, `src="/js/members-app.`)
		if app {
			apps++
		}
		if app != script {
			t.Errorf("%s: holds an application %v, loads the members' script %v", p, app, script)
		}
		if !strings.Contains(page, `src="/js/main.`) && !strings.Contains(page, "kind-redirect") {
			t.Errorf("%s does not load the site's script", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if apps < 14 {
		t.Errorf("%d application pages, want every members' page in four languages", apps)
	}
}
