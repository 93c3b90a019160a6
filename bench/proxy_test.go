package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The proxy alternates per request, passes the request through unchanged
// (path, query, cookie) and names the client in X-Forwarded-For, and says
// when a backend does not answer.
func TestProxyRoundRobin(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	backend := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, name+" "+r.URL.RequestURI()+" "+r.Header.Get("Cookie")+" "+r.Header.Get("X-Forwarded-For"))
			io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := backend("a"), backend("b")
	p, err := StartProxy([]string{a.URL, b.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := NewHTTPClient(1)
	for range 4 {
		req, _ := http.NewRequest(http.MethodGet, p.URL+"/api/search?q=x", nil)
		req.Header.Set("Cookie", "s=1")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	mu.Lock()
	want := []string{"a /api/search?q=x s=1 127.0.0.1", "b /api/search?q=x s=1 127.0.0.1", "a /api/search?q=x s=1 127.0.0.1", "b /api/search?q=x s=1 127.0.0.1"}
	if !slices.Equal(seen, want) {
		t.Errorf("backends saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	mu.Unlock()
	if got := p.Served(); !slices.Equal(got, []int64{2, 2}) || p.Failed() != 0 {
		t.Errorf("served %v, failed %d", got, p.Failed())
	}

	b.Close()
	for range 2 {
		resp, err := c.Get(p.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if p.Failed() != 1 {
		t.Errorf("%d failures counted with one backend down, want 1", p.Failed())
	}
}
