package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"portal/config"
	"portal/search"
)

type searchClient = meilisearch.ServiceManager

const keysHelp = `Creates or renews the portal's three Meilisearch keys with MEILI_MASTER_KEY and prints
them as environment lines: MEILI_SEARCH_KEY and MEILI_INDEXING_KEY for portal serve (search;
adding and deleting research documents), MEILI_ADMIN_KEY for portal index and portal reindex
(creating, configuring, swapping and deleting indexes).`

func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseArgs(newFlags("meili keys"), args); err != nil {
		return err
	}
	cfg, err := config.LoadFor("meili keys", getenv)
	if err != nil {
		return err
	}
	if cfg.MeiliURL == "" || cfg.MeiliMasterKey == "" {
		return errors.New("portal meili keys needs MEILI_URL and MEILI_MASTER_KEY")
	}
	k, err := provisionKeys(ctx, search.NewClient(cfg.MeiliURL, cfg.MeiliMasterKey))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "MEILI_SEARCH_KEY=%s\nMEILI_INDEXING_KEY=%s\nMEILI_ADMIN_KEY=%s\n", k.search, k.indexing, k.admin)
	return nil
}

// meiliKeys are the secrets of the keys provisionKeys makes.
type meiliKeys struct {
	search, indexing, admin string
}

func provisionKeys(ctx context.Context, master searchClient) (meiliKeys, error) {
	now := time.Now()
	var k meiliKeys
	for _, p := range []struct {
		spec search.KeySpec
		dst  *string
	}{{search.SearchKey(), &k.search}, {search.IndexingKey(), &k.indexing}, {search.AdminKey(), &k.admin}} {
		secret, err := search.ProvisionKey(ctx, master, p.spec, now)
		if err != nil {
			return meiliKeys{}, err
		}
		*p.dst = secret
	}
	return k, nil
}
