package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"portal/account"
	"portal/api"
	"portal/portaltest"
)

// One portal serves the read-only tests of this package; tests that stop
// Meilisearch start their own.
var shared struct {
	once   sync.Once
	portal *portaltest.Portal
	err    error
}

func portal(t *testing.T) *portaltest.Portal {
	t.Helper()
	shared.once.Do(func() { shared.portal, shared.err = portaltest.Run(portaltest.Options{}) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.portal
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.portal != nil {
		shared.portal.Close()
	}
	portaltest.RemoveSite()
	os.Exit(code)
}

type searchResponse struct {
	Query      string `json:"query"`
	Lang       string `json:"lang"`
	Page       int    `json:"page"`
	TotalPages int    `json:"totalPages"`
	Total      int    `json:"total"`
	Hits       []struct {
		ID, Kind, Lang, Title, URL, Section, Snippet string
	} `json:"hits"`
	Facets map[string][]struct {
		Value string `json:"value"`
		Count int    `json:"count"`
	} `json:"facets"`
}

type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func get(t *testing.T, rawURL string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func searchAPI(t *testing.T, p *portaltest.Portal, params url.Values) searchResponse {
	t.Helper()
	resp, body := get(t, p.URL+"/api/search?"+params.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search %v: status %d, body %s", params, resp.StatusCode, body)
	}
	var r searchResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return r
}

func TestSearchIsTypoTolerant(t *testing.T) {
	p := portal(t)
	r := searchAPI(t, p, url.Values{"q": {"victm identifcation"}, "lang": {"en"}})
	if len(r.Hits) == 0 {
		t.Fatal("no hits for a misspelt query")
	}
	if got, want := r.Hits[0].URL, "/en/victim-identification/"; got != want {
		t.Errorf("first hit = %s, want %s", got, want)
	}
	h := r.Hits[0]
	if h.Title == "" || h.Lang != "en" || h.Kind != "page" || h.Section == "" {
		t.Errorf("hit lacks fields: %+v", h)
	}
	if !strings.Contains(r.Hits[0].Snippet, "<mark>") {
		t.Errorf("snippet has no highlight: %q", r.Hits[0].Snippet)
	}
}

func TestSearchUsesSynonyms(t *testing.T) {
	p := portal(t)
	// No page says "CSEM"; the synonym list maps it to child sexual abuse
	// material, which many pages say.
	if r := searchAPI(t, p, url.Values{"q": {"csem"}, "lang": {"en"}}); r.Total == 0 {
		t.Errorf("csem: no hits; synonyms not applied")
	}
	r := searchAPI(t, p, url.Values{"q": {"ICSE"}, "lang": {"en"}})
	found := false
	for _, h := range r.Hits {
		found = found || h.URL == "/en/victim-identification/"
	}
	if !found {
		t.Errorf("ICSE: victim identification page not among %d hits", len(r.Hits))
	}
}

func TestSearchStaysInItsLanguage(t *testing.T) {
	p := portal(t)
	for _, lang := range []string{"en", "fr", "es", "ar"} {
		r := searchAPI(t, p, url.Values{"q": {"ICSE"}, "lang": {lang}})
		if r.Total == 0 {
			t.Errorf("%s: no hits for ICSE", lang)
		}
		for _, h := range r.Hits {
			if h.Lang != lang || !strings.HasPrefix(h.URL, "/"+lang+"/") {
				t.Errorf("%s search returned %s (%s)", lang, h.URL, h.Lang)
			}
		}
	}
}

func TestSearchFacetsAndSectionFilter(t *testing.T) {
	p := portal(t)
	all := searchAPI(t, p, url.Values{"q": {"access blocking"}, "lang": {"en"}})
	sections := all.Facets["section"]
	if len(sections) < 2 {
		t.Fatalf("want several sections in facets, got %+v", sections)
	}
	pick := sections[0]
	r := searchAPI(t, p, url.Values{"q": {"access blocking"}, "lang": {"en"}, "section": {pick.Value}})
	if r.Total != pick.Count {
		t.Errorf("section %q: total %d, facet said %d", pick.Value, r.Total, pick.Count)
	}
	for _, h := range r.Hits {
		if h.Section != pick.Value {
			t.Errorf("section filter %q let through %s in %q", pick.Value, h.URL, h.Section)
		}
	}
	// The facet list does not shrink to the chosen section.
	if len(r.Facets["section"]) != len(sections) {
		t.Errorf("facets with a section chosen: %d values, want %d", len(r.Facets["section"]), len(sections))
	}
}

func TestSearchHostileFilterValuesMatchNothing(t *testing.T) {
	p := portal(t)
	for _, v := range []string{
		`x" OR lang = "fr`, `x" OR lang EXISTS OR kind = "`, `") OR (lang = "es`, `\`, `\"`, `NOT`, `a\" OR \"b`,
	} {
		r := searchAPI(t, p, url.Values{"q": {""}, "lang": {"en"}, "section": {v}})
		if r.Total != 0 || len(r.Hits) != 0 {
			t.Errorf("section %q: %d hits, want 0", v, r.Total)
		}
	}
}

func TestSearchPaginates(t *testing.T) {
	p := portal(t)
	first := searchAPI(t, p, url.Values{"q": {""}, "lang": {"en"}})
	if first.TotalPages < 2 {
		t.Fatalf("placeholder search: %d pages, want at least 2", first.TotalPages)
	}
	second := searchAPI(t, p, url.Values{"q": {""}, "lang": {"en"}, "page": {"2"}})
	if second.Page != 2 || len(second.Hits) == 0 || second.Hits[0].ID == first.Hits[0].ID {
		t.Errorf("page 2 = %+v", second)
	}
}

func TestErrorsHaveOneShape(t *testing.T) {
	p := portal(t)
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/search?page=0", 400, "invalid_parameter"},
		{"GET", "/api/search?page=abc", 400, "invalid_parameter"},
		{"GET", "/api/search?page=101", 400, "invalid_parameter"},
		{"GET", "/api/search?lang=de", 400, "invalid_parameter"},
		{"GET", "/api/search?q=a&q=b", 400, "invalid_parameter"},
		{"GET", "/api/search?q=" + strings.Repeat("x", 513), 400, "invalid_query"},
		{"GET", "/api/search?q=%ff%fe", 400, "invalid_query"},
		{"GET", "/api/search?section=%00", 400, "invalid_parameter"},
		{"GET", "/api/nope", 404, "not_found"},
		{"GET", "/api/", 404, "not_found"},
		{"POST", "/api/search", 405, "method_not_allowed"},
		{"DELETE", "/api/health", 405, "method_not_allowed"},
		{"POST", "/en/", 405, "method_not_allowed"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, p.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e errorResponse
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("%s %s: body is not the JSON error shape: %s", c.method, c.path, body)
			continue
		}
		if resp.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" {
			t.Errorf("%s %s = %d %+v, want %d %s", c.method, c.path, resp.StatusCode, e, c.status, c.code)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
	}
}

// Health tells anyone whether the portal can search, and only admins
// which Meilisearch it runs and whether that is outdated.
func TestHealthBodiesByRole(t *testing.T) {
	p, clock := withAccounts(t)
	login := func(role account.Role) *portaltest.Client {
		u := p.SeedUser(t, role)
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	for name, c := range map[string]*portaltest.Client{"anonymous": p.NewClient(t), "member": login(account.RoleMember),
		"trainer": login(account.RoleTrainer)} {
		resp, body := c.Do("GET", "/api/health", nil)
		if resp.StatusCode != http.StatusOK || string(bytes.TrimSpace(body)) != `{"status":"ok"}` {
			t.Errorf("%s: health = %d %s, want the status alone", name, resp.StatusCode, body)
		}
	}
	resp, body := login(account.RoleAdmin).Do("GET", "/api/health", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin: health: %d %s", resp.StatusCode, body)
	}
	var h struct {
		Status      string `json:"status"`
		Meilisearch struct {
			Status, Version, MinimumVersion string
			Outdated                        bool
		} `json:"meilisearch"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	// The development build is 1.21.0, older than the newest release with
	// security fixes, so health tells the admin so.
	if h.Meilisearch.Status != "available" || h.Meilisearch.Version != "1.21.0" || !h.Meilisearch.Outdated ||
		h.Meilisearch.MinimumVersion != "1.48.2" || h.Status != "degraded" {
		t.Errorf("admin: health = %s", body)
	}
}

func TestEveryResponseCarriesSecurityHeaders(t *testing.T) {
	p := portal(t)
	for _, path := range []string{"/", "/en/", "/ar/notices/", "/api/health", "/api/search?q=x", "/api/search?page=0",
		"/api/nope", "/en/no-such-page/", "/robots.txt", "/en/search/?q=icse", "/en/search-feed.json"} {
		resp, _ := get(t, p.URL+path)
		for _, h := range api.SecurityHeaders() {
			if h.Name == "Strict-Transport-Security" {
				continue // only over HTTPS; see TestHSTSOnlyOverHTTPS
			}
			if got := resp.Header.Get(h.Name); got != h.Value {
				t.Errorf("%s: %s = %q, want %q", path, h.Name, got, h.Value)
			}
		}
		if strings.HasPrefix(path, "/api/") && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, resp.Header.Get("Cache-Control"))
		}
	}
}

func TestSitePages(t *testing.T) {
	p := portal(t)
	resp, body := get(t, p.URL+"/fr/no-such-page/")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `lang="fr"`) {
		t.Errorf("missing French page: %d, want the French 404 page", resp.StatusCode)
	}
	for _, path := range []string{"/..%2f..%2fetc/passwd", "/en/..%2f..%2f..%2fgo.mod", "/%2e%2e/%2e%2e/etc/passwd"} {
		resp, body := get(t, p.URL+path)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "root:") || strings.Contains(string(body), "module portal") {
			t.Errorf("%s: %d, want 404 without the file", path, resp.StatusCode)
		}
	}
	resp, _ = get(t, p.URL+"/en")
	if resp.Request.URL.Path != "/en/" {
		t.Errorf("/en redirected to %s, want /en/", resp.Request.URL.Path)
	}
	resp, _ = get(t, p.URL+"/en/")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestSearchPageWorksWithoutJavaScript(t *testing.T) {
	p := portal(t)
	resp, body := get(t, p.URL+"/en/search/?q=victim+identification")
	page := string(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(page, `href="/en/victim-identification/"`) || !strings.Contains(page, "<mark>") {
		t.Errorf("search page lacks the rendered results")
	}
	if strings.Contains(page, "<!--portal:search-results-->") {
		t.Errorf("marker left in the page")
	}
	resp, body = get(t, p.URL+"/en/search/?q=%3Cscript%3Ealert(1)%3C/script%3E")
	if strings.Contains(string(body), "<script>alert(1)") {
		t.Errorf("query echoed unescaped")
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}
