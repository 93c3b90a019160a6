package e2e

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"portal/portaltest"
	"portal/site"
)

// unzip extracts an archive into dir.
func unzip(t *testing.T, archive, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
			t.Fatalf("archive entry outside its folder: %s", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// offlineTab cuts the tab off the network: navigator.onLine is false and
// every request that is not for a file fails (and is counted).
func offlineTab(t *testing.T, ctx context.Context) *[]string {
	t.Helper()
	var mu sync.Mutex
	blocked := &[]string{}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for e, err := range paused {
			if err != nil {
				return
			}
			if strings.HasPrefix(e.Request.URL, "file:") {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
				continue
			}
			mu.Lock()
			*blocked = append(*blocked, e.Request.URL)
			mu.Unlock()
			_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonInternetDisconnected})
		}
	}()
	call(t, ctx, network.Enable, network.EnableParams{})
	call(t, ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	call(t, ctx, fetch.Enable, fetch.EnableParams{})
	return blocked
}

// TestOfflineArchiveFromFiles unpacks a self-check module's archive (French)
// and the graded module's (Arabic), opens them from file:// with the network
// cut, and walks every lesson with the pager: each page styled, every
// relative link on it leading to a file in the archive; the self-check quiz
// runs, the graded quiz says it needs a connection.
func TestOfflineArchiveFromFiles(t *testing.T) {
	public, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ module, lang string }{{"recognising-and-reporting", "fr"}, {"travel-and-tourism", "ar"}} {
		t.Run(tc.module+" "+tc.lang, func(t *testing.T) {
			var cat struct {
				Modules []struct {
					ID, URL string
					Graded  bool
					Lessons []struct{ URL, Title string }
				}
			}
			b, err := os.ReadFile(filepath.Join(public, tc.lang, "training-catalogue.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &cat); err != nil {
				t.Fatal(err)
			}
			var lessons []struct{ URL, Title string }
			graded := false
			var moduleURL string
			for _, m := range cat.Modules {
				if m.ID == tc.module {
					lessons, graded, moduleURL = m.Lessons, m.Graded, m.URL
				}
			}
			dir := t.TempDir()
			unzip(t, filepath.Join(public, filepath.FromSlash(moduleURL), site.ArchiveName(tc.module, tc.lang)), dir)

			ctx := browser(t)
			blocked := offlineTab(t, ctx)
			start := "file://" + filepath.ToSlash(dir) + "/index.html"
			do(t, ctx,
				chromedp.Navigate(start),
				chromedp.WaitVisible(chromedp.CSS(".training-start a")),
			)
			checkPage := func(what string) {
				t.Helper()
				styled := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.documentElement).getPropertyValue("--c-text").trim()`))
				if styled == "" {
					t.Errorf("%s: the stylesheet did not load", what)
				}
				links := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("main a[href]")).map(a => a.href).filter(h => h.startsWith("file:"))`))
				for _, l := range links {
					u, err := url.Parse(l)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := os.Stat(u.Path); err != nil {
						t.Errorf("%s: link %s leads nowhere in the archive", what, l)
					}
				}
			}
			checkPage("module page")
			// Follows a link as the reader would, waiting for the page it opens.
			follow := func(sel string) {
				t.Helper()
				href := run(t, ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).href`))
				if !strings.HasPrefix(href, "file:") {
					t.Fatalf("%s leads to %s, not into the archive", sel, href)
				}
				do(t, ctx, chromedp.Navigate(href), chromedp.WaitReady(chromedp.CSS("main h1")))
			}
			follow(".training-start a")
			for i, l := range lessons {
				title := run(t, ctx, chromedp.Text(chromedp.CSS("main h1")))
				if strings.TrimSpace(title) != l.Title {
					t.Errorf("lesson %d: %q, want %q", i+1, title, l.Title)
				}
				checkPage("lesson " + l.Title)
				if i < len(lessons)-1 {
					follow("a.pager-next")
				}
			}
			// From the last lesson to the quiz.
			follow("a.pager-next")
			if graded {
				do(t, ctx, chromedp.WaitVisible(chromedp.CSS("[data-offline-note]")))
			} else {
				// The training script ran offline: it shows the quiz's buttons.
				do(t, ctx, chromedp.WaitVisible(chromedp.CSS("form[data-quiz] button[type=submit]")))
			}
			checkPage("quiz page")
			if len(*blocked) > 0 {
				t.Errorf("requests left the file system: %v", *blocked)
			}
		})
	}
}
