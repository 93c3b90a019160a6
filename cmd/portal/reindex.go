package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"portal/research"
	"portal/search"
)

const reindexHelp = `Rebuilds every Meilisearch index from the portal's own records: the public
pages and training from the built site's feeds (PORTAL_SITE_DIR), and the
research library from SQLite and the stored files. Each index is built beside
the live one, which keeps answering until the new one replaces it. Safe to run
again, and to kill half-way: the next run finishes the work. Needs
MEILI_ADMIN_KEY; refuses a data directory without a database.`

func reindexCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("reindex"), args); err != nil {
		return err
	}
	a, cfg, log, err := openState(ctx, "reindex", getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := openMeiliForApp(ctx, cfg, a, log); err != nil {
		return err
	}
	key := cfg.MeiliAdminKey
	if key == "" {
		key = cfg.MeiliMasterKey
	}
	client := search.NewClient(cfg.MeiliURL, key)
	if _, err := os.Stat(filepath.Join(cfg.SiteDir, "en", "search-feed.json")); err == nil {
		if err := indexSite(ctx, client, cfg.SiteDir, cfg.MembersSiteDir, stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "no built site in %s: pages and training left as they are\n", cfg.SiteDir)
	}
	if err := a.research.Reindex(ctx, progressBar(stdout, "research")); err != nil {
		return err
	}
	return checkResearchIndex(ctx, a.research, search.NewIndexer(client, nil), stdout)
}

// checkResearchIndex compares the index with the store: the same documents
// at the same versions.
func checkResearchIndex(ctx context.Context, svc *research.Service, ix *search.Indexer, out io.Writer) error {
	want, err := svc.Checksum(ctx)
	if err != nil {
		return err
	}
	st, err := ix.ResearchContents(ctx)
	if err != nil {
		return err
	}
	got := research.IndexChecksum(st.Versions)
	if got != want {
		return fmt.Errorf("research index differs from the store after reindexing (%d documents indexed)", st.Documents)
	}
	fmt.Fprintf(out, "research: %d documents indexed; index equals the store (checksum %s)\n", st.Documents, want[:12])
	return nil
}

// progressBar draws a one-line bar on w.
func progressBar(w io.Writer, what string) func(done, total int) {
	return func(done, total int) {
		if total == 0 {
			return
		}
		const width = 30
		n := done * width / total
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d", what, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
