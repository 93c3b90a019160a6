// Package e2e drives the real portal in Debian's Chromium: the pages as a
// reader sees them, with JavaScript, and axe-core's accessibility checks.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
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
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs the steps in the test's tab, in order, and stops the test at the
// first that fails.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// run runs one action that reads something from the tab and returns it.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// call sends one DevTools protocol command to the tab and returns its result.
func call[P, R any](t *testing.T, ctx context.Context, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	res, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Method, err)
	}
	return res
}

func TestHomePagesRender(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	for _, lang := range []string{"en", "fr", "es", "ar"} {
		do(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/"),
			chromedp.WaitVisible(chromedp.CSS("h1")),
		)
		gotLang := run(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		dir := run(t, ctx, chromedp.Evaluate[string](`document.documentElement.dir`))
		h1 := run(t, ctx, chromedp.Text(chromedp.CSS("h1")))
		quickExit := run(t, ctx, chromedp.Text(chromedp.CSS("a.quick-exit")))
		sections := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("main a[href^='/`+lang+`/']").length`))
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
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/victim-identification/"),
		chromedp.Click(chromedp.CSS(`nav.language-switcher a[hreflang="ar"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="ar"]`)),
	)
	path := run(t, ctx, chromedp.Evaluate[string](`location.pathname`))
	lang := run(t, ctx, chromedp.Evaluate[string](`document.documentElement.dir`))
	if path != "/ar/victim-identification/" || lang != "rtl" {
		t.Errorf("after switching: %s (dir %s), want /ar/victim-identification/ rtl", path, lang)
	}
}

// interceptExit answers for the quick-exit destination, which is on the
// internet: from here on the tab's requests pause, the exit page's is
// fulfilled here and every other goes on to the portal.
func interceptExit(t *testing.T, ctx context.Context, exitURL string) {
	t.Helper()
	// Subscribed before interception starts, so no request waits unseen.
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for e, err := range paused {
			if err != nil {
				return // the test's tab has closed
			}
			if strings.HasPrefix(e.Request.URL, exitURL) {
				_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID:       e.RequestID,
					ResponseCode:    200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html"}},
					Body:            []byte("<!doctype html><title>Weather</title><h1>Weather</h1>"),
				})
				continue
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
		}
	}()
	call(t, ctx, fetch.Enable, fetch.EnableParams{})
}

func TestQuickExit(t *testing.T) {
	p := portal(t)
	for _, how := range []string{"click", "escape twice"} {
		t.Run(how, func(t *testing.T) {
			ctx := browser(t)
			do(t, ctx, chromedp.Navigate(p.URL+"/en/"))
			exitURL := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("a.quick-exit"), "href")).Value
			if !strings.HasPrefix(exitURL, "https://") {
				t.Fatalf("quick exit href %q", exitURL)
			}
			interceptExit(t, ctx, exitURL)
			trigger := chromedp.Click(chromedp.CSS("a.quick-exit"))
			if how == "escape twice" {
				trigger = chromedp.KeyEvent("\u001b\u001b")
			}
			do(t, ctx,
				chromedp.Navigate(p.URL+"/en/report/"),
				chromedp.WaitVisible(chromedp.CSS("h1")),
			)
			before := run(t, ctx, chromedp.Evaluate[int](`history.length`))
			do(t, ctx,
				trigger,
				chromedp.WaitReady(`//h1[text()="Weather"]`),
			)
			title := run(t, ctx, chromedp.Title())
			after := run(t, ctx, chromedp.Evaluate[int](`history.length`))
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
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/"),
		chromedp.SendKeys(chromedp.CSS("#site-search-q"), "victm identifcation\n"),
		chromedp.WaitVisible(chromedp.CSS(`#search-results .search-hits a`)),
	)
	href := run(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#search-results .search-hits a`), "href")).Value
	marked := run(t, ctx, chromedp.Text(chromedp.CSS(`#search-results mark`)))
	path := run(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
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
	do(t, ctx, chromedp.Evaluate[chromedp.Void](string(src)))
	type violation struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Nodes  []string `json:"nodes"`
	}
	vs := run(t, ctx, chromedp.Evaluate[[]violation](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
			.then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)})))`,
		chromedp.EvalAwaitPromise))
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
		do(t, ctx, chromedp.Navigate(p.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
		if strings.Contains(path, "?q=") {
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#search-status`)), chromedp.Sleep(300*time.Millisecond))
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("%s: %s", path, v)
		}
	}
}
