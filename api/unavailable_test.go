package api_test

import (
	"encoding/json"
	"net/http"
	"portal/access"
	"portal/account"
	"portal/research"
	"strings"
	"testing"
	"time"

	"portal/portaltest"
)

// With Meilisearch gone, search answers 503 in the JSON error shape, the
// failure is logged, and the static site keeps working.
func TestMeilisearchDown(t *testing.T) {
	var logs portaltest.LogBuffer
	p := portaltest.Start(t, portaltest.Options{Logs: &logs})
	p.Meili.Process.Kill()

	for _, path := range []string{"/api/search?q=icse", "/api/health"} {
		resp, body := get(t, p.URL+path)
		var e errorResponse
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("%s: %s", path, body)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || e.Error.Code != "search_unavailable" {
			t.Errorf("%s = %d %s, want 503 search_unavailable", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "meilisearch") {
			t.Errorf("%s: error leaks internals: %s", path, body)
		}
	}
	resp, body := get(t, p.URL+"/en/search/?q=icse")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "<html") {
		t.Errorf("no-script search page: %d, want 503 with the HTML page", resp.StatusCode)
	}
	if resp, _ := get(t, p.URL+"/en/victim-identification/"); resp.StatusCode != http.StatusOK {
		t.Errorf("static page: %d", resp.StatusCode)
	}
	// The log line follows the response; give the server a moment.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(logs.String(), `"code":"search_unavailable"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"code":"search_unavailable"`) {
		t.Errorf("503 not logged:\n%s", logs.String())
	}
}

// With Meilisearch down, members' search answers 503 while documents and
// downloads still come from SQLite and the blob store; uploads are kept and
// reach the index once it is back; reindex leaves the index equal to the
// store.
func TestResearchSurvivesMeilisearchOutage(t *testing.T) {
	p := portaltest.Start(t, portaltest.Options{SecretRate: 1000})
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, time.Now())
	var d docResp
	resp, body := c.Upload("POST", "/api/research", docMeta("Synthetic outage study", []string{"members"}, access.Green), "o.txt", []byte("Synthetic text on cooperation."))
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	decode(t, body, &d)

	p.Meili.Process.Kill()
	resp, body = c.Do("GET", "/api/search?q=cooperation", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || portaltest.ErrorCode(t, body) != "search_unavailable" {
		t.Errorf("member search with Meilisearch down: %d %s", resp.StatusCode, body)
	}
	c.JSON("GET", "/api/research/"+d.ID, nil, 200, nil)
	if resp, _ := c.Do("GET", "/api/research/"+d.ID+"/download", nil); resp.StatusCode != 200 {
		t.Errorf("download with Meilisearch down: %d", resp.StatusCode)
	}
	// An upload while it is down is kept, pending.
	var pending docResp
	resp, body = c.Upload("POST", "/api/research", docMeta("Synthetic pending study", []string{"members"}, access.Green), "p.txt", []byte("Synthetic text written during the outage."))
	if resp.StatusCode != 201 {
		t.Fatalf("upload during the outage: %d %s", resp.StatusCode, body)
	}
	decode(t, body, &pending)
	if pending.IndexState != "pending" {
		t.Errorf("index state during the outage %q, want pending", pending.IndexState)
	}

	if err := p.Meili.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := p.Research.Reindex(t.Context(), nil); err != nil {
		t.Fatalf("reindex: %v", err)
	}
	want, err := p.Research.Checksum(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Indexer.ResearchContents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Research.Count(t.Context()); st.Documents != n || research.IndexChecksum(st.Versions) != want {
		t.Errorf("after reindex the index holds %d documents (store %d), checksums %s vs %s",
			st.Documents, n, research.IndexChecksum(st.Versions), want)
	}
	var res memberSearch
	c.JSON("GET", "/api/search?q=written&scope=research", nil, 200, &res)
	if res.Total != 1 || res.Hits[0].ID != pending.ID {
		t.Errorf("the upload made during the outage is not searchable: %+v", res.Hits)
	}
}

// The probes: live answers whatever Meilisearch does; ready follows
// Meilisearch down and back up, and answers within about a second either
// way, so that it can be polled every second. The client checks every
// answer against api/openapi.json.
func TestHealthProbes(t *testing.T) {
	p := portaltest.Start(t, portaltest.Options{})
	c := p.NewClient(t)
	probe := func(path string, want int) {
		t.Helper()
		start := time.Now()
		resp, body := c.Do("GET", path, nil)
		if took := time.Since(start); took > 1500*time.Millisecond {
			t.Errorf("%s took %v", path, took)
		}
		if resp.StatusCode != want {
			t.Errorf("%s = %d %s, want %d", path, resp.StatusCode, body, want)
		}
		if want == http.StatusServiceUnavailable {
			if code := portaltest.ErrorCode(t, body); code != "not_ready" || !strings.Contains(string(body), "Meilisearch") {
				t.Errorf("%s: %s, want not_ready naming Meilisearch", path, body)
			}
		}
	}
	probe("/api/health/live", http.StatusOK)
	probe("/api/health/ready", http.StatusOK)

	p.Meili.Process.Kill()
	probe("/api/health/live", http.StatusOK)
	probe("/api/health/ready", http.StatusServiceUnavailable)

	if err := p.Meili.Restart(); err != nil {
		t.Fatal(err)
	}
	probe("/api/health/ready", http.StatusOK)
	probe("/api/health/live", http.StatusOK)
}
