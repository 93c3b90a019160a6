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
		{"malformed answer", 200, `{"hits":[{"id":1}]}`, false, "decode answer"},
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

// An answer cut off mid-way is Meilisearch failing (503); one larger than
// the portal reads is a fault of its own (500), and says so.
func TestTransportCutAndOversizedAnswers(t *testing.T) {
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"hits\":[{\"id\":\"a\"")
		_ = buf.Flush()
	}))
	defer cut.Close()
	tr := transport{url: cut.URL, http: newHTTPClient()}
	var ans answer
	if err := tr.search(t.Context(), "tok", "/multi-search", multiSearchRequest{}, &ans, "search"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("cut answer: %v, want ErrUnavailable", err)
	}

	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"hits":[{"id":"`))
		_, _ = w.Write([]byte(strings.Repeat("a", maxAnswerBytes)))
		_, _ = w.Write([]byte(`"}]}`))
	}))
	defer huge.Close()
	tr = transport{url: huge.URL, http: newHTTPClient()}
	err := tr.search(t.Context(), "tok", "/multi-search", multiSearchRequest{}, &ans, "search")
	if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized answer: %v, want a fault naming the size", err)
	}

	// Exactly at the limit is read whole.
	exact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		head, tail := `{"hits":[{"id":"`, `"}]}`
		_, _ = w.Write([]byte(head + strings.Repeat("b", maxAnswerBytes-len(head)-len(tail)) + tail))
	}))
	defer exact.Close()
	tr = transport{url: exact.URL, http: newHTTPClient()}
	if err := tr.search(t.Context(), "tok", "/multi-search", multiSearchRequest{}, &ans, "search"); err != nil || len(ans.Hits) != 1 {
		t.Errorf("answer of exactly the limit: %v (%d hits)", err, len(ans.Hits))
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
