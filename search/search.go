// Package search holds everything the portal does with Meilisearch: index
// names and settings (kept as data in indexes.json and synonyms.json), the
// documents the site feed produces, the indexer, the filter builder, and the
// searches the API runs.
package search

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// Index names.
const (
	IndexPages    = "pages"
	IndexTraining = "training"
)

// ErrUnavailable means Meilisearch could not be reached or did not answer in
// time. The API turns it into 503.
var ErrUnavailable = errors.New("search service unavailable")

// NewClient returns a Meilisearch client for url authenticated with key.
//
// The transport is tuned on purpose. Go's default transport asks for gzip,
// and Meilisearch then compresses its answers, which was measured here to add
// about 44 ms to most searches on a kept-alive connection; compression is
// pointless on loopback or a private network anyway. Retries are off so that
// a Meilisearch outage becomes a quick 503 instead of a slow one.
func NewClient(url, key string) meilisearch.ServiceManager {
	return meilisearch.New(url,
		meilisearch.WithAPIKey(key),
		meilisearch.WithCustomClient(newHTTPClient()),
		meilisearch.DisableRetries(),
	)
}

func newHTTPClient() *http.Client {
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		DisableCompression:    true,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: transport}
}

// classify maps a client error to ErrUnavailable when Meilisearch itself is
// down, overloaded or slow, and wraps it with what was being done otherwise.
func classify(err error, doing string) error {
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[*meiliError](err); ok && ae.unavailable() {
		return fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, err)
	}
	var me *meilisearch.Error
	if errors.As(err, &me) {
		switch {
		case me.ErrCode == meilisearch.CommunicationError,
			me.ErrCode == meilisearch.TimeoutError,
			me.ErrCode == meilisearch.MaxRetriesExceeded,
			me.StatusCode >= 500,
			me.APIError.Code == meilisearch.APIErrCodeTooManySearchRequests:
			return fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
