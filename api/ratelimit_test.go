package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"portal/api"
	"portal/audit"
	"portal/portaltest"
)

// TestRateLimitAcrossInstances: the per-address limit on the routes that
// check secrets is counted in the database, so two servers on one
// database (two instances behind a load balancer) grant it once, not once
// each.
func TestRateLimitAcrossInstances(t *testing.T) {
	// A burst of 10 and one request a minute after it, so that the
	// window (10 minutes) outlasts the test's requests.
	p := portaltest.Start(t, portaltest.Options{SecretRate: 1.0 / 60, SecretBurst: 10})
	db, err := p.ReopenDB(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.New(db, time.Now).WithKey(audit.ChainKey(p.SecretKey))
	srv, err := api.New(api.Options{Search: p.Searcher, Accounts: p.Accounts, Audit: log, Research: p.Research,
		Training: p.Training, SecretKey: p.SecretKey, SiteDir: p.SiteDir, Database: db,
		SecretRate: 1.0 / 60, SecretBurst: 10, RateLimits: db,
		Complaints: p.Complaints, Groups: p.Groups, Attest: p.Attest, Reach: p.Reach})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	other := httptest.NewServer(srv)
	defer other.Close()

	codes := map[int]int{}
	for i := range 14 {
		base := p.URL
		if i%2 == 1 {
			base = other.URL
		}
		c := portaltest.NewClientAt(t, base)
		c.RefreshCSRF()
		resp, _ := c.Do("POST", "/api/invitations/lookup", map[string]string{"token": "not-a-token"})
		codes[resp.StatusCode]++
	}
	if codes[http.StatusTooManyRequests] != 4 {
		t.Fatalf("answers %v over two servers: want the burst of 10 granted once, then 429", codes)
	}
}
