package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/extract/extracttest"
	"portal/portaltest"
)

func docMeta(title string, groups []string, tlp access.TLP) map[string]any {
	return map[string]any{
		"title": title, "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record for tests.", "year": 2020, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": groups, "tlp": tlp,
	}
}

type docResp struct {
	ID         string
	IndexState string
	Versions   []struct{ Number int }
}

type memberSearch struct {
	Total int
	Hits  []struct {
		ID, Kind, Title, Snippet, TLP string
		Page                          int
		Access                        []string
	}
	Facets map[string][]struct {
		Value string
		Count int
	}
}

// A multi-page PDF and a DOCX are extracted, indexed and found by a phrase,
// with the page the phrase is on.
func TestUploadIsFoundByItsText(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())

	pdf := extracttest.PDF(t, []string{"Synthetic page one about cooperation.", "Synthetic page two about procedures.",
		"Synthetic page three mentions the quartzite harbour protocol.", "Synthetic page four."})
	var d docResp
	resp, body := c.Upload("POST", "/api/research", docMeta("Synthetic PDF study", []string{"victim-identification"}, access.Amber), "study.pdf", pdf)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	decode(t, body, &d)
	if d.IndexState != "indexed" {
		t.Errorf("index state %q, want indexed", d.IndexState)
	}
	var res memberSearch
	c.JSON("GET", "/api/search?"+url.Values{"q": {"quartzite harbour protocol"}, "scope": {"research"}}.Encode(), nil, 200, &res)
	if len(res.Hits) == 0 || res.Hits[0].ID != d.ID || res.Hits[0].Page != 3 || !strings.Contains(res.Hits[0].Snippet, "<mark>") {
		t.Fatalf("search by a phrase of page 3: %+v", res.Hits)
	}

	docx := extracttest.DOCX(t, "Synthetic DOCX", []string{"First synthetic paragraph.", "The obsidian lantern agreement is described here."})
	resp, body = c.Upload("POST", "/api/research", docMeta("Synthetic DOCX briefing", []string{"members"}, access.Green), "briefing.docx", docx)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("docx upload: %d %s", resp.StatusCode, body)
	}
	decode(t, body, &d)
	c.JSON("GET", "/api/search?"+url.Values{"q": {"obsidian lantern agreement"}}.Encode(), nil, 200, &res)
	if len(res.Hits) == 0 || res.Hits[0].ID != d.ID || res.Hits[0].Kind != "research" {
		t.Errorf("search for the DOCX phrase: %+v", res.Hits)
	}

	// The download is the original, as an attachment that no browser renders.
	resp, body = c.Do("GET", "/api/research/"+d.ID+"/download", nil)
	if resp.StatusCode != 200 || string(body) != string(docx) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
	}
	for h, want := range map[string]string{
		"Content-Type":            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"Content-Security-Policy": "sandbox; default-src 'none'",
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("download %s = %q, want %q", h, got, want)
		}
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("Content-Disposition %q", cd)
	}
}

// Files that are too big, hostile or unreadable are refused with a clear
// error and leave nothing behind: no blob, no record, no index entry.
func TestBadUploadsLeaveNothing(t *testing.T) {
	p := portaltest.Start(t, portaltest.Options{MaxUploadBytes: 256 << 10, SecretRate: 1000})
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, portaltestNow())
	meta := docMeta("Synthetic bad upload", []string{"members"}, access.Green)
	pdf := extracttest.PDF(t, []string{"Synthetic page one.", "Synthetic page two."})
	cases := []struct {
		name    string
		file    string
		content []byte
		status  int
		code    string
	}{
		{"too large", "big.txt", []byte(strings.Repeat("synthetic text ", 20000)), 413, "too_large"},
		{"html named pdf", "evil.pdf", []byte("<!doctype html><html><script>alert(1)</script></html>"), 415, "unsupported_file_type"},
		{"svg", "x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 415, "unsupported_file_type"},
		{"nul bytes", "x.md", []byte("text\x00with nul"), 415, "unsupported_file_type"},
		{"truncated pdf", "cut.pdf", pdf[:len(pdf)/2], 422, "unreadable_file"},
		{"zip bomb", "bomb.docx", zipBomb(t), 422, ""},
	}
	for _, tc := range cases {
		resp, body := c.Upload("POST", "/api/research", meta, tc.file, tc.content)
		if resp.StatusCode != tc.status || (tc.code != "" && portaltest.ErrorCode(t, body) != tc.code) {
			if !(tc.name == "zip bomb" && (resp.StatusCode == 413 || resp.StatusCode == 422)) {
				t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.status, tc.code)
			}
		}
	}
	if n, err := p.Research.Count(t.Context()); err != nil || n != 0 {
		t.Errorf("records after refused uploads: %d (%v)", n, err)
	}
	if files := countFiles(t, p.BlobDir()); files != 0 {
		t.Errorf("%d blob files left after refused uploads", files)
	}
	st, err := p.Indexer.ResearchContents(t.Context())
	if err != nil || st.Documents != 0 {
		t.Errorf("index holds %d documents after refused uploads (%v)", st.Documents, err)
	}
}

// TestLeaks is the leak suite: a canary document for every access group and
// TLP label, and every kind of user querying every route that shows
// documents. Each canary appears exactly where access.CanSee says. Admins
// are rows like the others: an admin in no named group sees no TLP:RED
// canary and no group's canary by any route, search or facet, and an admin
// in a group sees exactly what a member of it sees.
func TestLeaks(t *testing.T) {
	p, clock := withAccounts(t)
	login := func(u portaltest.User) *portaltest.Client {
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	// The canaries come from a member of every group, as in real use: an
	// admin is not needed to create them.
	uploader := p.SeedUser(t, account.RoleMember, "victim-identification", "access-blocking", "trainers")
	uc := login(uploader)
	tag := fmt.Sprintf("leakcanary%d", clock.Now().UnixNano()%1e9)
	type canary struct {
		id, title string
		obj       access.Object
	}
	var canaries []canary
	for _, g := range [][]string{{"members"}, {"victim-identification"}, {"access-blocking"}, {"trainers", "victim-identification"}} {
		for _, tlp := range access.Labels() {
			if tlp == access.Red && slices.Equal(g, []string{"members"}) {
				continue // refused: TLP:RED must name its groups
			}
			title := fmt.Sprintf("%s %s %s", tag, strings.Join(g, "+"), tlp)
			var d docResp
			resp, body := uc.Upload("POST", "/api/research", docMeta(title, g, tlp), "c.txt", []byte("Synthetic canary text "+tag+"."))
			if resp.StatusCode != 201 {
				t.Fatalf("upload canary: %d %s", resp.StatusCode, body)
			}
			decode(t, body, &d)
			canaries = append(canaries, canary{d.ID, title, access.Object{Groups: g, TLP: tlp}})
		}
	}
	users := map[string]*portaltest.Client{}
	subjects := map[string]access.Subject{}
	emails := map[string]string{}
	for name, who := range map[string]struct {
		role   account.Role
		groups []string
	}{
		"member": {account.RoleMember, nil}, "vi": {account.RoleMember, []string{"victim-identification"}},
		"ab":       {account.RoleMember, []string{"access-blocking"}},
		"trainer":  {account.RoleTrainer, []string{"trainers"}},
		"admin":    {account.RoleAdmin, nil}, // in "members" only: no named group
		"vi admin": {account.RoleAdmin, []string{"victim-identification"}},
	} {
		u := p.SeedUser(t, who.role, who.groups...)
		users[name], subjects[name] = login(u), access.Subject{Groups: u.Groups}
		emails[name] = u.Email
	}
	// The rows the issue names, stated outright rather than only through
	// CanSee: the admin without a group sees no RED canary and nothing of a
	// named group.
	for _, k := range canaries {
		if access.CanSee(subjects["admin"], k.obj) && (k.obj.TLP == access.Red || !slices.Equal(k.obj.Groups, []string{"members"})) {
			t.Fatalf("access.CanSee lets an admin without groups see %s", k.title)
		}
	}

	for name, c := range users {
		var want []string
		for _, k := range canaries {
			if access.CanSee(subjects[name], k.obj) {
				want = append(want, k.title)
			}
			status := 404
			if access.CanSee(subjects[name], k.obj) {
				status = 200
			}
			for _, path := range []string{"/api/research/" + k.id, "/api/research/" + k.id + "/versions", "/api/research/" + k.id + "/download"} {
				if resp, body := c.Do("GET", path, nil); resp.StatusCode != status {
					t.Errorf("%s GET %s (%s): %d %s, want %d", name, path, k.title, resp.StatusCode, body, status)
				}
			}
			// Who can read a record is for its uploader, its groups'
			// leads and admins; the report names it by title only to a
			// reader who can read it.
			reportStatus := 404
			if strings.Contains(name, "admin") {
				reportStatus = 200
			}
			resp, body := c.Do("GET", "/api/reports/records/"+k.id, nil)
			if resp.StatusCode != reportStatus || strings.Contains(string(body), k.title) != (reportStatus == 200 && status == 200) {
				t.Errorf("%s GET report of %s: %d %s, want %d with the title only when readable", name, k.title, resp.StatusCode, body, reportStatus)
			}
			// Following a record shows it exists: only for who may see it.
			follow := map[int]int{200: http.StatusCreated, 404: http.StatusNotFound}[status]
			if resp, body := c.Do("POST", "/api/me/follows", map[string]string{"docId": k.id}); resp.StatusCode != follow || strings.Contains(string(body), tag) {
				t.Errorf("%s POST /api/me/follows (%s): %d %s, want %d", name, k.title, resp.StatusCode, body, follow)
			}
			if status == 200 {
				continue
			}
			// The changing routes answer as for a record that does not
			// exist, to admins too: changing a record would show it.
			for _, ch := range []struct {
				method, path string
				body         any
			}{
				{"PATCH", "/api/research/" + k.id, map[string]any{"year": 2021}},
				{"POST", "/api/research/" + k.id + "/withdraw", nil},
				{"POST", "/api/research/" + k.id + "/restore", nil},
			} {
				if resp, body := c.Do(ch.method, ch.path, ch.body); resp.StatusCode != 404 || strings.Contains(string(body), tag) {
					t.Errorf("%s %s %s (%s): %d %s, want 404", name, ch.method, ch.path, k.title, resp.StatusCode, body)
				}
			}
			// A page image is no capability: any page or width guessed
			// answers as for a record that does not exist.
			for _, path := range []string{"/pages/1", "/pages/1/preview?width=800", "/pages/1/preview?width=1234", "/pages/7/preview?width=1600"} {
				if resp, body := c.Do("GET", "/api/research/"+k.id+path, nil); resp.StatusCode != 404 {
					t.Errorf("%s GET %s (%s): %d %s, want 404", name, path, k.title, resp.StatusCode, body)
				}
			}
			if resp, body := c.Upload("POST", "/api/research/"+k.id+"/versions", nil, "v2.txt", []byte("Synthetic replacement.")); resp.StatusCode != 404 {
				t.Errorf("%s POST versions (%s): %d %s, want 404", name, k.title, resp.StatusCode, body)
			}
		}
		sort.Strings(want)
		// What the uploader can read: admins see the list, with titles
		// only of what they read themselves; others are refused.
		resp, body := c.Do("GET", "/api/reports/members/"+uploader.ID, nil)
		switch {
		case strings.Contains(name, "admin"):
			if resp.StatusCode != 200 {
				t.Errorf("%s GET the uploader's report: %d %s", name, resp.StatusCode, body)
			}
			for _, k := range canaries {
				if strings.Contains(string(body), k.title) != access.CanSee(subjects[name], k.obj) {
					t.Errorf("%s GET the uploader's report: title of %s shown=%t", name, k.title, strings.Contains(string(body), k.title))
				}
			}
		case resp.StatusCode != 403 || strings.Contains(string(body), tag):
			t.Errorf("%s GET the uploader's report: %d %s, want 403", name, resp.StatusCode, body)
		}
		// A group's report, likewise: admins see its records, with titles
		// only of what they read; nobody here leads the group.
		resp, body = c.Do("GET", "/api/reports/groups/victim-identification", nil)
		switch {
		case strings.Contains(name, "admin"):
			for _, k := range canaries {
				inGroup := slices.Contains(k.obj.Groups, "victim-identification")
				if resp.StatusCode != 200 || strings.Contains(string(body), k.id) != inGroup ||
					strings.Contains(string(body), k.title) != (inGroup && access.CanSee(subjects[name], k.obj)) {
					t.Errorf("%s GET the group report: %d, %s listed=%t titled=%t", name, resp.StatusCode, k.title,
						strings.Contains(string(body), k.id), strings.Contains(string(body), k.title))
				}
			}
		case resp.StatusCode != 403 || strings.Contains(string(body), tag):
			t.Errorf("%s GET the group report: %d %s, want 403", name, resp.StatusCode, body)
		}
		queries := []url.Values{
			{"q": {tag}}, {"q": {tag}, "scope": {"research"}}, {"q": {tag}, "sort": {"newest"}},
			{"q": {tag}, "topics": {"victim-identification"}}, {"q": {tag}, "countries": {"FR"}},
		}
		for _, q := range queries {
			var res memberSearch
			c.JSON("GET", "/api/search?"+q.Encode(), nil, 200, &res)
			var got []string
			for _, h := range res.Hits {
				if h.Kind == "research" {
					got = append(got, h.Title)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s search %v:\n got  %v\n want %v", name, q, got, want)
			}
			// Every canary has one value of each facet, so each facet's
			// counts sum to the canaries the user may see: a hidden one
			// would show in any of them.
			for _, facet := range []string{"tlp", "topics", "countries", "regions", "type", "language"} {
				n := 0
				for _, f := range res.Facets[facet] {
					n += f.Count
					if facet == "tlp" && f.Value == string(access.Red) && f.Count > 0 && len(subjects[name].Groups) == 1 {
						t.Errorf("%s search %v: the TLP:RED facet counts %d for a user in no named group", name, q, f.Count)
					}
				}
				if n != len(want) {
					t.Errorf("%s search %v: %s facet counts sum to %d, want %d", name, q, facet, n, len(want))
				}
			}
		}
		// Typeahead: every research title suggested is one the user may
		// see (at most eight are suggested, of more canaries).
		for _, typed := range []string{tag, tag[:len(tag)-1]} {
			var sug suggestResp
			c.JSON("GET", "/api/suggest?"+url.Values{"q": {typed}}.Encode(), nil, 200, &sug)
			n := 0
			for _, s := range sug.Suggestions {
				if s.Kind != "research" {
					continue
				}
				n++
				if !slices.Contains(want, s.Title) {
					t.Errorf("%s suggest %q: %q, which the user may not see", name, typed, s.Title)
				}
			}
			if n != min(len(want), 8) {
				t.Errorf("%s suggest %q: %d research titles, want %d", name, typed, n, min(len(want), 8))
			}
		}
		for _, tlp := range access.Labels() {
			var res memberSearch
			c.JSON("GET", "/api/search?"+url.Values{"q": {tag}, "tlp": {string(tlp)}}.Encode(), nil, 200, &res)
			for _, h := range res.Hits {
				if h.TLP != string(tlp) {
					t.Errorf("%s: tlp filter %s returned %s", name, tlp, h.TLP)
				}
			}
		}
	}
	// The complaints queue: a case's personal data reaches the members of
	// the handling group ("ab") and nobody else, admins included.
	complaintEmail := fmt.Sprintf("%s@example.org", tag)
	number, _ := openCase(t, p, tag+".example", complaintEmail)
	for name, c := range users {
		for _, path := range []string{"/api/complaints/queue", "/api/complaints/cases/" + number} {
			resp, body := c.Do("GET", path, nil)
			if name == "ab" {
				if resp.StatusCode != 200 || !strings.Contains(string(body), complaintEmail) {
					t.Errorf("%s GET %s: %d, want the case", name, path, resp.StatusCode)
				}
				continue
			}
			if resp.StatusCode != 403 || strings.Contains(string(body), tag) {
				t.Errorf("%s GET %s: %d %s, want 403", name, path, resp.StatusCode, body)
			}
		}
	}
	// Every user follows what they may see (above); a new version of every
	// canary then reaches each follower's inbox for exactly those, and
	// their mail names only the TLP:CLEAR and TLP:GREEN ones among them.
	clock.Advance(time.Second)
	for _, k := range canaries {
		if resp, body := uc.Upload("POST", "/api/research/"+k.id+"/versions", nil, "v2.txt", []byte("Synthetic canary text, second version "+tag+".")); resp.StatusCode != 200 {
			t.Fatalf("new version of %s: %d %s", k.title, resp.StatusCode, body)
		}
	}
	if _, err := p.Alerts.Send(t.Context(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	for name, c := range users {
		var want, named []string
		for _, k := range canaries {
			if access.CanSee(subjects[name], k.obj) {
				want = append(want, k.title)
				if k.obj.TLP == access.Clear || k.obj.TLP == access.Green {
					named = append(named, k.title)
				}
			}
		}
		var in struct {
			Items []struct {
				Kind   string
				Record struct{ Title string }
			}
		}
		c.JSON("GET", "/api/me/notifications", nil, 200, &in)
		var got []string
		for _, it := range in.Items {
			if it.Kind == "version" && strings.HasPrefix(it.Record.Title, tag) {
				got = append(got, it.Record.Title)
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s inbox:\n got  %v\n want %v", name, got, want)
		}
		var text string
		for _, m := range p.Mail(t, emails[name]) {
			text += m.Text
		}
		for _, k := range canaries {
			if strings.Contains(text, k.title) != slices.Contains(named, k.title) {
				t.Errorf("%s mail names %s: %v, want %v", name, k.title, !slices.Contains(named, k.title), slices.Contains(named, k.title))
			}
		}
	}

	// Anonymous readers reach no research at all.
	anon := p.NewClient(t)
	for _, k := range canaries {
		if resp, _ := anon.Do("GET", "/api/research/"+k.id, nil); resp.StatusCode != 401 {
			t.Errorf("anonymous GET document: %d, want 401", resp.StatusCode)
		}
	}
	var pub struct{ Total int }
	anon.JSON("GET", "/api/search?q="+tag, nil, 200, &pub)
	if pub.Total != 0 {
		t.Errorf("anonymous search found %d canaries", pub.Total)
	}
	for _, path := range []string{"/api/complaints/queue", "/api/complaints/cases/" + number} {
		if resp, body := anon.Do("GET", path, nil); resp.StatusCode != 401 || strings.Contains(string(body), tag) {
			t.Errorf("anonymous GET %s: %d, want 401", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/api/complaints/statistics", "/en/complaints/statistics/"} {
		if resp, body := anon.Do("GET", path, nil); resp.StatusCode != 200 || strings.Contains(string(body), tag) {
			t.Errorf("anonymous GET %s: %d; the statistics must hold numbers only", path, resp.StatusCode)
		}
	}
	var sug suggestResp
	anon.JSON("GET", "/api/suggest?q="+tag, nil, 200, &sug)
	if len(sug.Suggestions) != 0 {
		t.Errorf("anonymous suggestions for the canaries: %v", sug.Suggestions)
	}
}

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := jsonUnmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// A record narrowed a moment ago leaves search at once, even while the
// index still holds its old access groups: hits are checked against the
// store before they are shown.
func TestSearchHitsAreRecheckedAgainstTheStore(t *testing.T) {
	p, clock := withAccounts(t)
	owner := p.SeedUser(t, account.RoleMember, "victim-identification")
	oc := p.NewClient(t)
	oc.Login(owner.Email, owner.Password, owner.TOTPSecret, clock.Now())
	word := fmt.Sprintf("staleindex%d", clock.Now().UnixNano()%1e9)
	var d docResp
	resp, body := oc.Upload("POST", "/api/research", docMeta("Synthetic "+word, []string{"members"}, access.Green), "s.txt", []byte("Synthetic "+word+" text."))
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	decode(t, body, &d)
	other := p.SeedUser(t, account.RoleMember)
	mc := p.NewClient(t)
	mc.Login(other.Email, other.Password, other.TOTPSecret, clock.Now())
	var res memberSearch
	mc.JSON("GET", "/api/search?q="+word, nil, 200, &res)
	if res.Total != 1 {
		t.Fatalf("before narrowing: %d hits", res.Total)
	}
	// Narrow the record in the store only, as if the index update were
	// still in flight.
	if err := p.DB.ExecRaw(t.Context(), `UPDATE research_documents SET access_groups = '["victim-identification"]' WHERE id = ?`, d.ID); err != nil {
		t.Fatal(err)
	}
	mc.JSON("GET", "/api/search?q="+word, nil, 200, &res)
	if res.Total != 0 || len(res.Hits) != 0 {
		t.Errorf("after narrowing in the store: %d hits, want 0", res.Total)
	}
}
