package search

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Meilisearch's answers that the real process cannot be made to give on
// demand (overload, internal errors, a connection cut mid-answer) are
// played by a stand-in here; the real process answers every other test.
func TestTransportErrors(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		unavailable bool
		contains    string
	}{
		{"overloaded", 503, `{"message":"Too many search requests running at the same time","code":"too_many_search_requests","type":"system"}`, true, "too_many_search_requests"},
		{"internal error", 500, `{"message":"boom","code":"internal","type":"internal"}`, true, "internal"},
		{"rate limited", 429, `not json`, true, "unreadable error answer"},
		{"bad filter", 400, `{"message":"Attribute x is not filterable","code":"invalid_search_filter","type":"invalid_request"}`, false, "invalid_search_filter"},
		{"expired token", 403, `{"message":"The provided API key is invalid.","code":"invalid_api_key","type":"auth"}`, false, "invalid_api_key"},
		{"truncated answer", 200, `{"hits":[{"id":"a"`, false, "decode answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Authorization"); got != "Bearer tok" {
					t.Errorf("Authorization %q", got)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			tr := transport{url: srv.URL, http: newHTTPClient()}
			var ans answer
			err := tr.search(t.Context(), "tok", "/multi-search", multiSearchRequest{}, &ans, "search")
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrUnavailable); got != tc.unavailable {
				t.Errorf("unavailable = %v, want %v (%v)", got, tc.unavailable, err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func TestTransportUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	tr := transport{url: "http://" + addr, http: newHTTPClient()}
	var ans answer
	if err := tr.search(t.Context(), "tok", "/multi-search", multiSearchRequest{}, &ans, "search"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("connection refused: %v, want ErrUnavailable", err)
	}

	// A Meilisearch that accepts but never answers in time.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer hang.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	tr = transport{url: hang.URL, http: newHTTPClient()}
	if err := tr.search(ctx, "tok", "/multi-search", multiSearchRequest{}, &ans, "search"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("timeout: %v, want ErrUnavailable", err)
	}
}
