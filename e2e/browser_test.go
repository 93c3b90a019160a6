// Package e2e drives the real portal in Debian's Chromium: the pages as a
// reader sees them, with JavaScript, and axe-core's accessibility checks.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"portal/portaltest"
	"portal/site"
)

var shared struct {
	once   sync.Once
	portal *portaltest.Portal
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.portal != nil {
		shared.portal.Close()
	}
	portaltest.RemoveSite()
	os.Exit(code)
}

func portal(t *testing.T) *portaltest.Portal {
	t.Helper()
	shared.once.Do(func() { shared.portal, shared.err = portaltest.Run(portaltest.Options{}) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.portal
}

// browser starts a headless Chromium for one test. The flags keep it off the
// network: this machine has none, and the portal makes no third-party
// requests anyway.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed (make test installs it): %v", err)
	}
	// Not t.TempDir: Chromium may still be flushing its profile when the
	// test ends, and a failed removal must not fail the test.
	profile, err := os.MkdirTemp("", "portal-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The site scrolls smoothly unless the reader asks for reduced
		// motion; a click computed while a scroll is still moving lands
		// beside its target.
		chromedp.Flag("force-prefers-reduced-motion", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); os.RemoveAll(profile) })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func TestHomePagesRender(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	for _, lang := range []string{"en", "fr", "es", "ar"} {
		var gotLang, dir, h1, quickExit string
		var sections int
		run(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/"),
			chromedp.WaitVisible("h1", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.lang`, &gotLang),
			chromedp.Evaluate(`document.documentElement.dir`, &dir),
			chromedp.Text("h1", &h1, chromedp.ByQuery),
			chromedp.Text("a.quick-exit", &quickExit, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("main a[href^='/`+lang+`/']").length`, &sections),
		)
		wantDir := "ltr"
		if lang == "ar" {
			wantDir = "rtl"
		}
		if gotLang != lang || dir != wantDir || strings.TrimSpace(h1) == "" || strings.TrimSpace(quickExit) == "" {
			t.Errorf("%s home: lang=%q dir=%q h1=%q quick exit=%q", lang, gotLang, dir, h1, quickExit)
		}
		if sections < 9 {
			t.Errorf("%s home links to %d pages, want every subject", lang, sections)
		}
	}
}

func TestLanguageSwitchKeepsThePage(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	var path, lang string
	run(t, ctx,
		chromedp.Navigate(p.URL+"/en/victim-identification/"),
		chromedp.Click(`nav.language-switcher a[hreflang="ar"]`, chromedp.ByQuery),
		chromedp.WaitReady(`html[lang="ar"]`, chromedp.ByQuery),
		chromedp.Evaluate(`location.pathname`, &path),
		chromedp.Evaluate(`document.documentElement.dir`, &lang),
	)
	if path != "/ar/victim-identification/" || lang != "rtl" {
		t.Errorf("after switching: %s (dir %s), want /ar/victim-identification/ rtl", path, lang)
	}
}

// exitPage answers for the quick-exit destination, which is on the internet:
// the browser's request is intercepted and fulfilled here.
func interceptExit(ctx context.Context, exitURL string) {
	chromedp.ListenTarget(ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		go func() {
			c := chromedp.FromContext(ctx)
			cctx := cdpContext(ctx, c)
			if strings.HasPrefix(e.Request.URL, exitURL) {
				body := []byte("<!doctype html><title>Weather</title><h1>Weather</h1>")
				_ = fetch.FulfillRequest(e.RequestID, 200).
					WithResponseHeaders([]*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html"}}).
					WithBody(encodeBase64(body)).Do(cctx)
				return
			}
			_ = fetch.ContinueRequest(e.RequestID).Do(cctx)
		}()
	})
}

func TestQuickExit(t *testing.T) {
	p := portal(t)
	for _, how := range []string{"click", "escape twice"} {
		t.Run(how, func(t *testing.T) {
			ctx := browser(t)
			var exitURL string
			run(t, ctx,
				chromedp.Navigate(p.URL+"/en/"),
				chromedp.AttributeValue("a.quick-exit", "href", &exitURL, new(bool), chromedp.ByQuery),
			)
			if !strings.HasPrefix(exitURL, "https://") {
				t.Fatalf("quick exit href %q", exitURL)
			}
			interceptExit(ctx, exitURL)
			var before, after int
			var title string
			trigger := chromedp.Click("a.quick-exit", chromedp.ByQuery)
			if how == "escape twice" {
				trigger = chromedp.KeyEvent("\u001b\u001b")
			}
			run(t, ctx,
				fetch.Enable(),
				chromedp.Navigate(p.URL+"/en/report/"),
				chromedp.WaitVisible("h1", chromedp.ByQuery),
				chromedp.Evaluate(`history.length`, &before),
				trigger,
				chromedp.WaitReady(`//h1[text()="Weather"]`),
				chromedp.Title(&title),
				chromedp.Evaluate(`history.length`, &after),
			)
			if title != "Weather" {
				t.Errorf("quick exit landed on %q", title)
			}
			// location.replace: the portal page is not in the history, so
			// Back cannot return to it.
			if after != before {
				t.Errorf("history grew from %d to %d: Back would return to the portal", before, after)
			}
		})
	}
}

func TestSearchWithJavaScript(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	var href, marked, path string
	run(t, ctx,
		chromedp.Navigate(p.URL+"/en/"),
		chromedp.SendKeys("#site-search-q", "victm identifcation\n", chromedp.ByQuery),
		chromedp.WaitVisible(`#search-results .search-hits a`, chromedp.ByQuery),
		chromedp.AttributeValue(`#search-results .search-hits a`, "href", &href, new(bool), chromedp.ByQuery),
		chromedp.Text(`#search-results mark`, &marked, chromedp.ByQuery),
		chromedp.Evaluate(`location.pathname + location.search`, &path),
	)
	if href != "/en/victim-identification/" {
		t.Errorf("first result %q", href)
	}
	if marked == "" {
		t.Errorf("no highlighted words in the results")
	}
	if !strings.HasPrefix(path, "/en/search/?q=") {
		t.Errorf("search URL %q cannot be shared", path)
	}
}

// axe runs axe-core on the current page and returns its violations.
func axe(t *testing.T, ctx context.Context) []string {
	t.Helper()
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core not installed (make test installs it): %v", err)
	}
	var raw string
	run(t, ctx,
		chromedp.Evaluate(string(src), nil),
		chromedp.Evaluate(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
			.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)}))))`,
			&raw, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	var vs []struct {
		ID, Impact string
		Nodes      []string
	}
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s (%s) at %v", v.ID, v.Impact, v.Nodes))
	}
	return out
}

func TestAccessibility(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	// One page per template, in a left-to-right and the right-to-left
	// language, with and without results.
	for _, path := range []string{
		"/en/", "/en/access-blocking/", "/en/access-blocking/stop-page/", "/en/search/", "/en/search/?q=icse",
		"/en/search/?q=zzzzqqq", "/en/no-such-page/",
		"/ar/", "/ar/access-blocking/stop-page/", "/ar/search/?q=ICSE", "/fr/notices/", "/es/report/",
		"/en/account/login/", "/ar/account/accept/", "/en/admin/members/", "/fr/research/", "/en/training/verify/",
	} {
		run(t, ctx, chromedp.Navigate(p.URL+path), chromedp.WaitReady("main", chromedp.ByQuery))
		if strings.Contains(path, "?q=") {
			run(t, ctx, chromedp.WaitVisible(`#search-status`, chromedp.ByQuery), chromedp.Sleep(300*time.Millisecond))
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("%s: %s", path, v)
		}
	}
}
