package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The equivalence check keeps the raw side honest: for a sample of the mix,
// the portal's answer and Meilisearch's answer to the raw request must
// hold the same total, the same hits in the same order and the same facet
// counts. A mismatch means the raw request is not the one the portal sends.

type portalAnswer struct {
	Total int `json:"total"`
	Hits  []struct {
		ID string `json:"id"`
	} `json:"hits"`
	Facets map[string][]struct {
		Value string `json:"value"`
		Count int    `json:"count"`
	} `json:"facets"`
	Suggestions []struct {
		ID string `json:"id"`
	} `json:"suggestions"`
}

type rawAnswer struct {
	TotalHits          *int                      `json:"totalHits"`
	EstimatedTotalHits *int                      `json:"estimatedTotalHits"`
	Hits               []map[string]any          `json:"hits"`
	FacetDistribution  map[string]map[string]int `json:"facetDistribution"`
}

// Mismatch describes a query whose two answers differ.
type Mismatch struct {
	Query  string
	Reason string
}

// Sizes sums the answers' sizes by kind of query.
type Sizes map[string]*Size

// Size is the sum of answer sizes of one kind, with the first answers.
type Size struct {
	N, Portal, Raw          int
	PortalSample, RawSample []byte
}

// CheckEquivalence compares the answers to queries[i] for i in sample.
func CheckEquivalence(ctx context.Context, c *http.Client, qs []Query, sample []int, portalURL, meiliURL string, members []Member, searchKey string, sizes Sizes) ([]Mismatch, error) {
	portalT, rawT := Targets(qs, portalURL, meiliURL, members, searchKey)
	var out []Mismatch
	for _, i := range sample {
		pb, err := fetch(ctx, c, portalT[i].Method, portalT[i].URL, portalT[i].Header, nil)
		if err != nil {
			return nil, fmt.Errorf("portal %s: %w", qs[i].PortalURL, err)
		}
		rb, err := fetch(ctx, c, rawT[i].Method, rawT[i].URL, rawT[i].Header, rawT[i].Body)
		if err != nil {
			return nil, fmt.Errorf("raw %s: %w", qs[i].PortalURL, err)
		}
		if sizes != nil {
			sz := sizes[qs[i].Kind]
			if sz == nil {
				sz = &Size{PortalSample: pb, RawSample: rb}
				sizes[qs[i].Kind] = sz
			}
			sz.N++
			sz.Portal += len(pb)
			sz.Raw += len(rb)
		}
		if reason := compareAnswers(qs[i].Kind, pb, rb); reason != "" {
			out = append(out, Mismatch{Query: qs[i].PortalURL, Reason: reason})
		}
	}
	return out, nil
}

func fetch(ctx context.Context, c *http.Client, method, url string, h http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

func compareAnswers(kind string, portalBody, rawBody []byte) string {
	var p portalAnswer
	var r rawAnswer
	if err := json.Unmarshal(portalBody, &p); err != nil {
		return "portal answer: " + err.Error()
	}
	if err := json.Unmarshal(rawBody, &r); err != nil {
		return "raw answer: " + err.Error()
	}
	if strings.HasSuffix(kind, "-suggest") {
		// A suggestion answer holds titles only: the same ones, in the
		// same order.
		var pids []string
		for _, sg := range p.Suggestions {
			pids = append(pids, sg.ID)
		}
		if rids := rawIDs(r); !slices.Equal(pids, rids) {
			return fmt.Sprintf("suggestions %v (portal) vs %v (raw)", pids, rids)
		}
		return ""
	}
	total := -1
	if r.TotalHits != nil {
		total = *r.TotalHits
	} else if r.EstimatedTotalHits != nil {
		total = *r.EstimatedTotalHits
	}
	if total != p.Total {
		return fmt.Sprintf("total %d (portal) vs %d (raw)", p.Total, total)
	}
	var pids []string
	for _, h := range p.Hits {
		pids = append(pids, h.ID)
	}
	if rids := rawIDs(r); !slices.Equal(pids, rids) {
		return fmt.Sprintf("hits %v (portal) vs %v (raw)", head(pids), head(rids))
	}
	fields := []string{"topics", "countries", "regions", "type", "language", "tlp"}
	if kind == "public" {
		fields = []string{"section"}
	}
	for _, f := range fields {
		want := r.FacetDistribution[f]
		got := map[string]int{}
		for _, v := range p.Facets[f] {
			got[v.Value] = v.Count
		}
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !maps.Equal(want, got) {
			return fmt.Sprintf("facet %s: %d values (portal) vs %d (raw)", f, len(got), len(want))
		}
	}
	return ""
}

// rawIDs are the record (research) or page IDs of Meilisearch's hits.
func rawIDs(r rawAnswer) []string {
	var ids []string
	for _, h := range r.Hits {
		id, _ := h["doc_id"].(string)
		if id == "" {
			id, _ = h["id"].(string)
		}
		ids = append(ids, id)
	}
	return ids
}

func head(ids []string) string {
	if len(ids) > 3 {
		return strings.Join(ids[:3], ",") + ",…"
	}
	return strings.Join(ids, ",")
}
