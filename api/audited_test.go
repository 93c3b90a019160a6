package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/portaltest"
	"portal/research"
)

// refuseAudit makes the portal's real database refuse audit entries of
// the given actions, as a full disk or a damaged file would, with a trigger
// that raises; the returned function lifts it (and the test's end does, in
// any case). Other actions, logins among them, are still written.
func refuseAudit(t *testing.T, p *portaltest.Portal, actions ...string) func() {
	t.Helper()
	return p.RefuseInserts(t, "audit_log", "action", actions...)
}

func auditCount(t *testing.T, p *portaltest.Portal, action, actor string) int {
	t.Helper()
	return len(auditEntries(t, p, audit.Filter{Action: action, Actor: actor}))
}

// auditEntries lists up to 500 entries that match f.
func auditEntries(t *testing.T, p *portaltest.Portal, f audit.Filter) []audit.Entry {
	t.Helper()
	f.Limit = 500
	entries, _, err := p.Audit.List(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// A document view, its version history and a download are served only once
// their audit entry is written: when the audit table refuses the entry, the
// answer is 503 audit_unavailable and nothing of the document. Version
// histories are audited like views.
func TestReadsFailClosedWithoutAudit(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	title := fmt.Sprintf("Synthetic unaudited read %d", clock.Now().UnixNano())
	const content = "Synthetic text that must not leave unaudited."
	resp, body := c.Upload("POST", "/api/research", docMeta(title, []string{"members"}, access.Green), "u.txt", []byte(content))
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var d docResp
	decode(t, body, &d)
	paths := map[string]string{
		research.ActionView:     "/api/research/" + d.ID,
		research.ActionVersions: "/api/research/" + d.ID + "/versions",
		research.ActionDownload: "/api/research/" + d.ID + "/download",
	}

	lift := refuseAudit(t, p, research.ActionView, research.ActionVersions, research.ActionDownload)
	for action, path := range paths {
		resp, body := c.Do("GET", path, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || portaltest.ErrorCode(t, body) != "audit_unavailable" ||
			resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s with the audit log refusing: %d %s, want 503 audit_unavailable", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), title) || strings.Contains(string(body), content) || strings.Contains(string(body), "u.txt") {
			t.Errorf("GET %s with the audit log refusing leaks the document: %s", path, body)
		}
		if n := auditCount(t, p, action, u.ID); n != 0 {
			t.Errorf("%d %s entries while the log refused them", n, action)
		}
	}

	lift()
	for action, path := range paths {
		if resp, body := c.Do("GET", path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s once the log takes entries: %d %s", path, resp.StatusCode, body)
		}
		if n := auditCount(t, p, action, u.ID); n != 1 {
			t.Errorf("%d %s entries after one read, want 1", n, action)
		}
	}
	if res, err := p.Audit.Verify(t.Context()); err != nil || !res.OK() {
		t.Errorf("audit chain: %+v, %v", res, err)
	}
}

// When the search audit queue cannot drain (its batches keep failing), a
// member's search answers 503 rather than running unaudited; the batch is
// retried, not dropped, so the search answered before the failure is on
// record once the log takes entries again, and searches work again.
func TestMemberSearchRefusedWhenAuditCannotDrain(t *testing.T) {
	p, clock := withAccounts(t)
	u := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	search := func() (*http.Response, []byte) { return c.Do("GET", "/api/search?q=synthetic&scope=research", nil) }

	lift := refuseAudit(t, p, research.ActionSearch)
	answered := 0 // searches answered 200: each must end up on record
	if resp, body := search(); resp.StatusCode != http.StatusOK {
		t.Fatalf("the first search, queued before any write failed: %d %s", resp.StatusCode, body)
	}
	answered++
	// The queued entry fails and is retried; past the stall limit (5 s)
	// searches are refused.
	var resp *http.Response
	var body []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if resp, body = search(); resp.StatusCode != http.StatusOK {
			break
		}
		answered++
	}
	if resp.StatusCode != http.StatusServiceUnavailable || portaltest.ErrorCode(t, body) != "audit_unavailable" {
		t.Fatalf("search while the audit queue cannot drain: %d %s, want 503 audit_unavailable", resp.StatusCode, body)
	}
	if n := auditCount(t, p, research.ActionSearch, u.ID); n != 0 {
		t.Fatalf("%d search entries written while the log refused them", n)
	}

	lift()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, _ = search(); resp.StatusCode == http.StatusOK {
			answered++
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search once the log takes entries again: %d", resp.StatusCode)
	}
	// Every search that was answered is on record, the retried ones from
	// before the refusal included; the refused ones are not.
	var n int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n = auditCount(t, p, research.ActionSearch, u.ID); n >= answered {
			break
		}
	}
	if n != answered {
		t.Errorf("%d search entries on record, want %d: one for each search answered", n, answered)
	}
	if res, err := p.Audit.Verify(t.Context()); err != nil || !res.OK() {
		t.Errorf("audit chain: %+v, %v", res, err)
	}
}

// The serving portal writes the audit log's head to its structured log at
// start and after each admin act, so that log shipping keeps a copy off the
// machine; the head written after an act covers that act's entry.
func TestAdminActsWriteTheAuditHead(t *testing.T) {
	var logs portaltest.LogBuffer
	p := portaltest.Start(t, portaltest.Options{Logs: &logs, SecretRate: 1000})
	admin := p.SeedUser(t, account.RoleAdmin)
	member := p.SeedUser(t, account.RoleMember)
	c := p.NewClient(t)
	c.Login(admin.Email, admin.Password, admin.TOTPSecret, time.Now())
	heads := func(reason string) []audit.Head {
		var out []audit.Head
		for line := range strings.Lines(logs.String()) {
			var l struct {
				Msg, Reason, MAC string
				ID               int64
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "audit head" && l.Reason == reason {
				out = append(out, audit.Head{ID: l.ID, MAC: l.MAC})
			}
		}
		return out
	}
	resp, body := c.Do("POST", "/api/admin/users/"+member.ID+"/unlock", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unlock: %d %s", resp.StatusCode, body)
	}
	acts, _, err := p.Audit.List(t.Context(), audit.Filter{Action: audit.ActionUserUnlock})
	if err != nil || len(acts) != 1 {
		t.Fatalf("unlock audit: %+v, %v", acts, err)
	}
	var got []audit.Head
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = heads("admin act"); len(got) > 0 && got[len(got)-1].ID >= acts[0].ID {
			break
		}
	}
	if len(got) == 0 || got[len(got)-1].ID < acts[0].ID {
		t.Fatalf("heads after the admin act: %v; want one at or after entry %d", got, acts[0].ID)
	}
	if len(heads("start")) != 1 {
		t.Errorf("heads written at start: %v, want one", heads("start"))
	}
	if res, err := p.Audit.VerifyHead(t.Context(), got[len(got)-1]); err != nil || !res.OK() {
		t.Errorf("the head from the log does not verify: %+v, %v", res, err)
	}
}
