package api_test

import (
	"encoding/json"
	"net/http"
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
