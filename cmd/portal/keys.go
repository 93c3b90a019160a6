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

const keysHelp = `Creates or renews the portal's two Meilisearch keys with MEILI_MASTER_KEY and prints them
as environment lines for portal serve (MEILI_SEARCH_KEY) and portal index (MEILI_ADMIN_KEY).`

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
	searchKey, adminKey, err := provisionKeys(ctx, search.NewClient(cfg.MeiliURL, cfg.MeiliMasterKey))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "MEILI_SEARCH_KEY=%s\nMEILI_ADMIN_KEY=%s\n", searchKey, adminKey)
	return nil
}

func provisionKeys(ctx context.Context, master searchClient) (searchKey, adminKey string, err error) {
	now := time.Now()
	if searchKey, err = search.ProvisionKey(ctx, master, search.SearchKey(), now); err != nil {
		return "", "", err
	}
	if adminKey, err = search.ProvisionKey(ctx, master, search.AdminKey(), now); err != nil {
		return "", "", err
	}
	return searchKey, adminKey, nil
}
