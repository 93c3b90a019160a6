package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	jsonv2 "github.com/go-json-experiment/json"
)

// What the Searcher reads from Meilisearch (searches, health, version) goes
// through this small transport rather than through meilisearch-go, on the
// HTTP client newHTTPClient measured. The client library reads each answer
// whole, keeps a string copy of it, decodes it into maps of raw JSON and
// leaves every hit to be decoded again: on the members' search path that was
// 59% of the portal's CPU (bench/changes.md). Here an answer is decoded
// once, as it streams in, straight into the struct that needs it. Indexing
// and key management, which are not on a reader's path, still use the
// library (NewClient), on the same kind of HTTP client.

// searchRequest is one search, alone or inside a multi-search. Only the
// parameters the portal uses are here.
type searchRequest struct {
	IndexUID              string   `json:"indexUid,omitempty"`
	Q                     string   `json:"q"`
	Filter                []any    `json:"filter,omitempty"`
	AttributesToRetrieve  []string `json:"attributesToRetrieve,omitempty"`
	AttributesToCrop      []string `json:"attributesToCrop,omitempty"`
	AttributesToHighlight []string `json:"attributesToHighlight,omitempty"`
	HighlightPreTag       string   `json:"highlightPreTag,omitempty"`
	HighlightPostTag      string   `json:"highlightPostTag,omitempty"`
	CropMarker            string   `json:"cropMarker,omitempty"`
	Facets                []string `json:"facets,omitempty"`
	Sort                  []string `json:"sort,omitempty"`
	HitsPerPage           int      `json:"hitsPerPage,omitempty"`
	Page                  int      `json:"page,omitempty"`
	Limit                 int      `json:"limit,omitempty"`
	Locales               []string `json:"locales,omitempty"`
	AttributesToSearchOn  []string `json:"attributesToSearchOn,omitempty"`
	MatchingStrategy      string   `json:"matchingStrategy,omitempty"`
}

// multiSearchRequest is a federated multi-search: one ranked list over
// several indexes.
type multiSearchRequest struct {
	Federation federation      `json:"federation"`
	Queries    []searchRequest `json:"queries"`
}

type federation struct {
	Offset        int                 `json:"offset"`
	Limit         int                 `json:"limit"`
	FacetsByIndex map[string][]string `json:"facetsByIndex,omitempty"`
	MergeFacets   *mergeFacets        `json:"mergeFacets,omitempty"`
}

type mergeFacets struct {
	MaxValuesPerFacet int `json:"maxValuesPerFacet"`
}

// answer is a search answer, single or federated, with the hit fields of
// every index the portal searches: a hit fills those of its own index.
type answer struct {
	Hits               []hitDoc                  `json:"hits"`
	EstimatedTotalHits int                       `json:"estimatedTotalHits"`
	TotalHits          int                       `json:"totalHits"`
	TotalPages         int                       `json:"totalPages"`
	FacetDistribution  map[string]map[string]int `json:"facetDistribution"`
	FacetStats         map[string]facetStat      `json:"facetStats"`
}

type facetStat struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

type hitDoc struct {
	// Pages and training.
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Lang        string    `json:"lang"`
	URL         string    `json:"url"`
	Section     string    `json:"section"`
	Description string    `json:"description"`
	Original    *Original `json:"original"`
	// Research passages.
	DocID        string   `json:"doc_id"`
	TextOriginal string   `json:"text_original"`
	Page         int      `json:"page"`
	Recognised   bool     `json:"recognised"`
	Summary      string   `json:"summary"`
	Authors      []string `json:"authors"`
	Year         int      `json:"year"`
	Type         string   `json:"type"`
	Topics       []string `json:"topics"`
	// Both.
	Title     string   `json:"title"`
	Access    []string `json:"access_groups"`
	TLP       string   `json:"tlp"`
	Formatted struct {
		Content string `json:"content"` // pages and training
		Text    string `json:"text"`    // research passages
	} `json:"_formatted"`
	Federation struct {
		IndexUID string `json:"indexUid"`
	} `json:"_federation"`
}

// meiliError is an error answer of Meilisearch.
type meiliError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (e *meiliError) Error() string {
	return fmt.Sprintf("meilisearch: %d %s: %s", e.Status, e.Code, e.Message)
}

// unavailable reports whether the error is Meilisearch's own trouble
// (overload or an internal error) rather than a fault in the request.
func (e *meiliError) unavailable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Code == "too_many_search_requests"
}

// maxAnswerBytes bounds what the portal reads of one answer: a page of 20
// cropped hits and the facets is a few tens of kilobytes.
const maxAnswerBytes = 8 << 20

// transport sends the Searcher's requests to one Meilisearch.
type transport struct {
	url  string
	http *http.Client
}

// search posts req to path with key as the bearer and decodes the answer
// into out. doing names the search in errors.
func (t *transport) search(ctx context.Context, key, path string, req, out any, doing string) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", doing, err)
	}
	return t.do(ctx, http.MethodPost, key, path, bytes.NewReader(body), out, doing)
}

// get reads path with key as the bearer and decodes the answer into out.
func (t *transport) get(ctx context.Context, key, path string, out any, doing string) error {
	return t.do(ctx, http.MethodGet, key, path, nil, out, doing)
}

// do sends one request (body nil for none) and decodes the answer into
// out, telling Meilisearch's unavailability (ErrUnavailable) apart from
// faults.
func (t *transport) do(ctx context.Context, method, key, path string, body io.Reader, out any, doing string) error {
	hreq, err := http.NewRequestWithContext(ctx, method, t.url+path, body)
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq.Header.Set("Authorization", "Bearer "+key)
	resp, err := t.http.Do(hreq)
	if err != nil {
		// Refused, reset, timed out or cancelled: Meilisearch cannot answer.
		return fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
	}()
	r := &answerReader{r: resp.Body, left: maxAnswerBytes}
	if resp.StatusCode != http.StatusOK {
		me := &meiliError{Status: resp.StatusCode}
		if err := json.NewDecoder(r).Decode(me); err != nil {
			me.Message = "unreadable error answer"
		}
		return classify(me, doing)
	}
	// json/v2 (already in the module graph, through chromedp) decodes in
	// one pass where encoding/json's Decoder scans the input twice: a 33 KB
	// member answer took 0.27 ms instead of 0.72 in a Go benchmark here,
	// on the path of every search.
	if err := jsonv2.UnmarshalRead(r, out); err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, context.Cause(ctx))
		case r.tooLarge:
			return fmt.Errorf("%s: answer larger than %d bytes", doing, maxAnswerBytes)
		case r.err != nil:
			// Cut off mid-answer (reset, or Meilisearch stopped): as
			// unavailable as if it had not answered at all.
			return fmt.Errorf("%s: %w: read answer: %w", doing, ErrUnavailable, r.err)
		}
		return fmt.Errorf("%s: decode answer: %w", doing, err)
	}
	return nil
}

// answerReader reads at most left bytes of an answer, and tells a failed
// read of the connection and an oversized answer apart from a malformed
// one: the first means Meilisearch is unavailable (503), the others are
// faults (500).
type answerReader struct {
	r        io.Reader
	left     int64
	tooLarge bool
	err      error // the first read error other than io.EOF
}

func (a *answerReader) Read(p []byte) (int, error) {
	// Reading up to one byte beyond the limit shows whether the answer
	// goes on past it.
	if int64(len(p)) > a.left+1 {
		p = p[:a.left+1]
	}
	n, err := a.r.Read(p)
	if int64(n) > a.left {
		n, a.left, a.tooLarge = int(a.left), 0, true
		return n, errors.New("answer too large")
	}
	a.left -= int64(n)
	if err != nil && err != io.EOF && a.err == nil {
		a.err = err
	}
	return n, err
}
