package site_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"portal/portaltest"
)

// TestAppScripts: each members' application is a bundle of its own,
// assets/js/apps/<name>.js, loaded by exactly the pages that hold that
// application ([data-app="<name>"]), so that an application page never lacks
// its script, never carries another application's, and a public page never
// carries any (the pages' weight budget, docs/benchmarks.md). The map of
// application layouts in _partials/head.html is held to this; every page but
// the redirects also loads the site's script, and every script is deferred
// and carries its integrity.
func TestAppScripts(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("assets/js/apps")
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]int{} // application -> pages that hold it
	for _, rel := range htmlPages(t, root) {
		doc := loadDoc(t, root, rel)
		var apps, appScripts []string
		for _, n := range all(doc, func(n *html.Node) bool { _, ok := attr(n, "data-app"); return ok }) {
			v, _ := attr(n, "data-app")
			apps = append(apps, v)
		}
		site := false
		for _, s := range all(doc, tag("script")) {
			src, _ := attr(s, "src")
			switch {
			case strings.HasPrefix(src, "/js/apps/"):
				appScripts = append(appScripts, src)
			case strings.HasPrefix(src, "/js/main."):
				site = true
			}
			if _, ok := attr(s, "defer"); !ok {
				t.Errorf("%s: script %s is not deferred", rel, src)
			}
			if v, _ := attr(s, "integrity"); !strings.HasPrefix(v, "sha384-") {
				t.Errorf("%s: script %s has no integrity", rel, src)
			}
		}
		switch len(apps) {
		case 0:
			if len(appScripts) > 0 {
				t.Errorf("%s: holds no application, loads %v", rel, appScripts)
			}
		case 1:
			pages[apps[0]]++
			if len(appScripts) != 1 || !strings.HasPrefix(appScripts[0], "/js/apps/"+apps[0]+".") {
				t.Errorf("%s: holds application %q, loads %v", rel, apps[0], appScripts)
			}
		default:
			t.Errorf("%s: holds applications %v, one a page", rel, apps)
		}
		body := all(doc, tag("body"))
		if !site && !(len(body) == 1 && hasClass(body[0], "kind-redirect")) {
			t.Errorf("%s does not load the site's script", rel)
		}
	}
	if len(entries) < 14 {
		t.Errorf("%d application bundles, want every members' application", len(entries))
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".js")
		if n := pages[name]; n < 4 {
			t.Errorf("apps/%s: %d pages hold the application, want one in each of four languages", e.Name(), n)
		}
	}
}
