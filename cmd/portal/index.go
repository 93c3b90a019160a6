package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"portal/config"
	"portal/search"
)

func indexCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if _, err := parseFlags("index site", "Indexes the built site's search feeds (PORTAL_SITE_DIR/<lang>/search-feed.json)\ninto the pages and training indexes, with MEILI_ADMIN_KEY.", args, stderr, config.Usage()); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	key := cfg.MeiliAdminKey
	if key == "" {
		key = cfg.MeiliMasterKey
	}
	if cfg.MeiliURL == "" || key == "" {
		return errors.New("portal index site needs MEILI_URL and MEILI_ADMIN_KEY")
	}
	return indexSite(ctx, search.NewClient(cfg.MeiliURL, key), cfg.SiteDir, stdout)
}

func indexSite(ctx context.Context, client searchClient, siteDir string, progress io.Writer) error {
	pages, err := search.ReadFeeds(siteDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "indexing %d pages from %s\n", len(pages), siteDir)
	return search.NewIndexer(client, progress).IndexSite(ctx, pages)
}
