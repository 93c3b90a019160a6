package api

import (
	"context"
	"errors"
	"time"

	"portal/access"
	"portal/metrics"
	"portal/search"
)

// observedSearcher times every search by kind and counts Meilisearch's
// failures, for the metrics listener.
type observedSearcher struct {
	Searcher
	m *metrics.Metrics
}

func (o observedSearcher) Public(ctx context.Context, q search.PublicQuery) (*search.Results, error) {
	start := time.Now()
	res, err := o.Searcher.Public(ctx, q)
	o.m.ObserveSearch(metrics.SearchPublic, time.Since(start))
	o.meili(ctx, err)
	return res, err
}

func (o observedSearcher) Member(ctx context.Context, subj access.Subject, q search.MemberQuery) (*search.MemberResults, error) {
	start := time.Now()
	res, err := o.Searcher.Member(ctx, subj, q)
	kind := metrics.SearchMember
	if (res != nil && res.Scope == "research") || (res == nil && q.Scope == "research") {
		kind = metrics.SearchResearch
	}
	o.m.ObserveSearch(kind, time.Since(start))
	o.meili(ctx, err)
	return res, err
}

func (o observedSearcher) Health(ctx context.Context) (search.Status, error) {
	st, err := o.Searcher.Health(ctx)
	o.meili(ctx, err)
	if err == nil {
		o.m.MeiliVersion(st.Version, st.Outdated)
	}
	return st, err
}

// meili records what a call says of Meilisearch. A call its client
// cancelled says nothing, and a filter the portal refused never reached it.
func (o observedSearcher) meili(ctx context.Context, err error) {
	if errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, search.ErrFilter) {
		return
	}
	o.m.ObserveMeili(err, errors.Is(err, search.ErrUnavailable))
}
