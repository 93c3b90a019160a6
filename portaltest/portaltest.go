// Package portaltest runs the real portal for integration tests: the public
// site built by the pinned Hugo, a real Meilisearch with the portal's keys
// and indexes, and the echo server over real HTTP.
package portaltest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"portal/api"
	"portal/search"
	"portal/search/meilitest"
	"portal/site"
)

var built struct {
	once sync.Once
	dir  string
	err  error
}

// BuildSite builds the public site once per test binary and returns its
// directory. RemoveSite deletes it.
func BuildSite() (string, error) {
	built.once.Do(func() {
		root, err := site.FindRoot(".")
		if err != nil {
			built.err = err
			return
		}
		dir, err := os.MkdirTemp("", "portal-site-")
		if err != nil {
			built.err = err
			return
		}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		built.dir = filepath.Join(dir, "public")
		if err := site.Build(ctx, site.BuildOptions{Root: root, Destination: built.dir, BaseURL: "/", Stdout: &out, Stderr: &out}); err != nil {
			built.err = fmt.Errorf("%w\n%s", err, out.Bytes())
		}
	})
	return built.dir, built.err
}

// RemoveSite deletes the site BuildSite made. Call it from TestMain.
func RemoveSite() {
	if built.dir != "" {
		os.RemoveAll(filepath.Dir(built.dir))
	}
}

// Portal is a running portal.
type Portal struct {
	URL       string
	SiteDir   string
	Meili     *meilitest.Instance
	SearchKey string
	AdminKey  string
	Server    *httptest.Server
	dataDir   string
}

// Options adjusts Start.
type Options struct {
	// Logs receives the server's JSON logs (nil discards them).
	Logs io.Writer
}

// Start runs a portal for one test, stopped when the test ends.
func Start(t testing.TB, opts Options) *Portal {
	t.Helper()
	p, err := Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Run builds the site (once), starts a Meilisearch, provisions the keys,
// indexes the site and serves it all on a loopback port. Close stops it.
func Run(opts Options) (*Portal, error) {
	dir, err := BuildSite()
	if err != nil {
		return nil, fmt.Errorf("build site: %w", err)
	}
	dataDir, err := os.MkdirTemp("", "portal-meili-")
	if err != nil {
		return nil, err
	}
	p := &Portal{SiteDir: dir, dataDir: dataDir}
	if p.Meili, err = meilitest.Run(dataDir); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.setUp(opts); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Portal) setUp(opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	master := search.NewClient(p.Meili.URL, p.Meili.MasterKey)
	var err error
	now := time.Now()
	if p.SearchKey, err = search.ProvisionKey(ctx, master, search.SearchKey(), now); err != nil {
		return fmt.Errorf("provision search key: %w", err)
	}
	if p.AdminKey, err = search.ProvisionKey(ctx, master, search.AdminKey(), now); err != nil {
		return fmt.Errorf("provision admin key: %w", err)
	}
	pages, err := search.ReadFeeds(p.SiteDir)
	if err != nil {
		return err
	}
	if err := search.NewIndexer(search.NewClient(p.Meili.URL, p.AdminKey), nil).IndexSite(ctx, pages); err != nil {
		return fmt.Errorf("index site: %w", err)
	}
	logs := opts.Logs
	if logs == nil {
		logs = io.Discard
	}
	e, err := api.New(api.Options{
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Search:  search.NewSearcher(search.NewClient(p.Meili.URL, p.SearchKey)),
		SiteDir: p.SiteDir,
	})
	if err != nil {
		return err
	}
	p.Server = httptest.NewServer(e)
	p.URL = p.Server.URL
	return nil
}

// Close stops the server and Meilisearch and removes Meilisearch's data.
func (p *Portal) Close() {
	if p.Server != nil {
		p.Server.Close()
	}
	if p.Meili != nil {
		_ = p.Meili.Process.Stop()
	}
	os.RemoveAll(p.dataDir)
}
