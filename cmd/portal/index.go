package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"portal/config"
	"portal/search"
)

const indexHelp = `Indexes the built site's search feeds (PORTAL_SITE_DIR/<lang>/search-feed.json)
and the members' build's training pages (PORTAL_MEMBERS_SITE_DIR/members-search.json,
with their access groups) into the pages and training indexes, with MEILI_ADMIN_KEY; creates
and configures every index the portal uses, the research index included.`

func indexCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("index site"), args); err != nil {
		return err
	}
	cfg, err := config.LoadFor("index site", getenv)
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
	client := search.NewClient(cfg.MeiliURL, key)
	// Every index, research too: portal serve feeds research with a key
	// that cannot create it.
	if err := search.NewIndexer(client, nil).EnsureIndexes(ctx); err != nil {
		return err
	}
	if err := indexSite(ctx, client, cfg.SiteDir, cfg.MembersSiteDir, stdout); err != nil {
		return err
	}
	return bumpPublicGeneration(ctx, cfg)
}

// bumpPublicGeneration tells the running instances, through the database
// they share (PostgreSQL with several instances), that the public indexes
// changed, so that each drops its cached public answers within a second.
// Without a SQLite database yet (the site indexed before the first start)
// there is no instance to tell.
func bumpPublicGeneration(ctx context.Context, cfg config.Config) error {
	if cfg.DatabaseURL == "" {
		if _, err := os.Stat(dbPath(cfg)); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.BumpGeneration(ctx, search.PublicGeneration); err != nil {
		return err
	}
	return nil
}

// indexSite indexes the public build's pages and, when membersDir is set,
// the members build's members-only training pages with their access groups.
func indexSite(ctx context.Context, client searchClient, siteDir, membersDir string, progress io.Writer) error {
	pages, err := search.ReadFeeds(siteDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "indexing %d pages from %s\n", len(pages), siteDir)
	if membersDir != "" {
		members, err := search.ReadMembersFeed(membersDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "indexing %d members-only pages from %s\n", len(members), membersDir)
		pages = append(pages, members...)
	}
	return search.NewIndexer(client, progress).IndexSite(ctx, pages)
}
