package api_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/attest"
	"portal/portaltest"
)

func groupNames(id string) map[string]any {
	return map[string]any{
		"id": id,
		"names": map[string]string{"en": "Synthetic unit " + id, "fr": "Unité synthétique " + id,
			"es": "Unidad sintética " + id, "ar": "وحدة اصطناعية " + id},
		"descriptions": map[string]string{"en": "A synthetic group for tests."},
	}
}

type groupResp struct {
	ID, Name string
	Lead     bool
	Archived bool
	Leads    []string
}

func auditActions(t *testing.T, a *portaltest.Client, actor string) []string {
	t.Helper()
	var page struct {
		Entries []struct{ Action string }
	}
	a.JSON("GET", "/api/admin/audit?actor="+actor, nil, 200, &page)
	var out []string
	for _, e := range page.Entries {
		out = append(out, e.Action)
	}
	return out
}

// TestGroupLeadPowersAreLimitedToTheGroup: an admin creates a group with
// a lead; the lead adds and removes members of that group, audited and
// mailed, and can do nothing else an admin can: not another group, not
// themselves, not the group itself, not a member's account. Archived
// groups are no longer joined or granted; names show in the reader's
// language.
func TestGroupLeadPowersAreLimitedToTheGroup(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	lead := p.SeedNamedUser(t, "Group Lead (synthetic)", account.RoleMember)
	member := p.SeedNamedUser(t, "Colleague (synthetic)", account.RoleMember)
	a, l := p.NewClient(t), p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	l.Login(lead.Email, lead.Password, lead.TOTPSecret, clock.Now())
	id := fmt.Sprintf("unit-%d", clock.Now().UnixNano()%1e9)

	if resp, body := l.Do("POST", "/api/admin/groups", groupNames(id)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a member creates a group: %d %s", resp.StatusCode, body)
	}
	bad := groupNames(id)
	delete(bad["names"].(map[string]string), "ar")
	if resp, body := a.Do("POST", "/api/admin/groups", bad); resp.StatusCode != 400 || portaltest.ErrorCode(t, body) != "invalid_input" {
		t.Errorf("a group without an Arabic name: %d %s, want 400", resp.StatusCode, body)
	}
	in := groupNames(id)
	in["leads"] = []string{lead.ID}
	var g groupResp
	a.JSON("POST", "/api/admin/groups", in, 201, &g)
	if !slices.Equal(g.Leads, []string{lead.ID}) {
		t.Fatalf("created group: %+v", g)
	}
	if resp, _ := a.Do("POST", "/api/admin/groups", in); resp.StatusCode != http.StatusConflict {
		t.Errorf("the same id twice: %d, want 409", resp.StatusCode)
	}

	// Forms and filters read names, in the reader's language.
	for lang, want := range map[string]string{"fr": "Unité synthétique " + id, "ar": "وحدة اصطناعية " + id, "en": "Synthetic unit " + id} {
		var list struct{ Groups []groupResp }
		l.JSON("GET", "/api/groups?lang="+lang, nil, 200, &list)
		i := slices.IndexFunc(list.Groups, func(x groupResp) bool { return x.ID == id })
		if i < 0 || list.Groups[i].Name != want || !list.Groups[i].Lead || list.Groups[i].Leads != nil {
			t.Errorf("GET /api/groups?lang=%s: %+v, want name %q, lead, no leads list", lang, list.Groups, want)
		}
		j := slices.IndexFunc(list.Groups, func(x groupResp) bool { return x.ID == "members" })
		if j < 0 || list.Groups[j].Lead {
			t.Errorf("the seeded members group: %+v", list.Groups)
		}
	}

	// The lead adds a colleague by address, and removes them.
	var out struct {
		ID      string
		InGroup bool
		Groups  []string
	}
	l.JSON("POST", "/api/groups/"+id+"/members", map[string]string{"member": member.Email}, 200, &out)
	if out.ID != member.ID || !out.InGroup || out.Groups != nil {
		t.Fatalf("answer to the lead's addition: %+v, want the member in the group and nothing of their other groups", out)
	}
	if got := p.Mail(t, member.Email); !slices.ContainsFunc(got, func(m portaltest.Mail) bool {
		return m.Subject == "Your role or groups changed" && strings.Contains(m.Text, id)
	}) {
		t.Errorf("the member was not mailed the change: %+v", got)
	}
	// The lead's report of the group lists the colleague.
	var rep struct {
		Members []struct{ ID string }
	}
	l.JSON("GET", "/api/reports/groups/"+id, nil, 200, &rep)
	if !slices.ContainsFunc(rep.Members, func(m struct{ ID string }) bool { return m.ID == member.ID }) {
		t.Errorf("the group report lacks the member: %+v", rep)
	}

	// Nothing beyond the group.
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/groups/victim-identification/members", map[string]string{"member": member.Email}},
		{"DELETE", "/api/groups/victim-identification/members/" + admin.ID, nil},
		{"POST", "/api/groups/" + id + "/members", map[string]string{"member": lead.Email}},
		{"PATCH", "/api/admin/groups/" + id, map[string]any{"archived": true}},
		{"PATCH", "/api/admin/users/" + member.ID, map[string]any{"groups": []string{id}}},
		{"POST", "/api/admin/users/" + member.ID + "/disable", nil},
		{"GET", "/api/admin/users", nil},
		{"GET", "/api/reports/groups/victim-identification", nil},
	} {
		if resp, body := l.Do(r.method, r.path, r.body); resp.StatusCode != http.StatusForbidden {
			t.Errorf("lead %s %s: %d %s, want 403", r.method, r.path, resp.StatusCode, body)
		}
	}
	l.JSON("DELETE", "/api/groups/"+id+"/members/"+member.ID, nil, 200, &out)
	if out.InGroup {
		t.Errorf("answer to the lead's removal: %+v", out)
	}
	// Removing someone who is not in the group tells nothing of the
	// account: the same 404 as an address nobody has.
	for _, who := range []string{member.ID, admin.Email, "nobody@example.org"} {
		if resp, body := l.Do("DELETE", "/api/groups/"+id+"/members/"+who, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("lead removes %s, not in the group: %d %s, want 404", who, resp.StatusCode, body)
		}
	}
	actions := auditActions(t, a, lead.ID)
	for _, want := range []string{account.ActionGroupMemberAdd, account.ActionGroupMemberRemove, "access.denied"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the lead's audit trail lacks %s: %v", want, actions)
		}
	}

	// Archived: not joined, not granted; the members group is never archived.
	a.JSON("PATCH", "/api/admin/groups/"+id, map[string]any{"archived": true}, 200, &g)
	if !g.Archived {
		t.Errorf("after archiving: %+v", g)
	}
	if resp, body := l.Do("POST", "/api/groups/"+id+"/members", map[string]string{"member": member.Email}); resp.StatusCode != 400 {
		t.Errorf("joining an archived group: %d %s, want 400", resp.StatusCode, body)
	}
	for _, gs := range [][]string{{id}, {"no-such-group"}} {
		resp, body := l.Upload("POST", "/api/research", docMeta("Synthetic grant test", gs, access.Green), "g.txt", []byte("Synthetic text."))
		if resp.StatusCode != 400 || !strings.Contains(string(body), gs[0]) {
			t.Errorf("upload to %v: %d %s, want 400 naming the group", gs, resp.StatusCode, body)
		}
	}
	if resp, body := a.Do("POST", "/api/invitations", map[string]any{"email": "x-" + rand8() + "@test.invalid", "role": "member", "groups": []string{id}}); resp.StatusCode != 400 {
		t.Errorf("invitation into an archived group: %d %s, want 400", resp.StatusCode, body)
	}
	if resp, body := a.Do("PATCH", "/api/admin/groups/members", map[string]any{"archived": true}); resp.StatusCode != http.StatusConflict {
		t.Errorf("archiving the members group: %d %s, want 409", resp.StatusCode, body)
	}

	// A lead no more is a member like any other.
	a.JSON("PATCH", "/api/admin/groups/"+id, map[string]any{"archived": false, "leads": []string{}}, 200, &g)
	if resp, body := l.Do("POST", "/api/groups/"+id+"/members", map[string]string{"member": member.Email}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a former lead adds a member: %d %s, want 403", resp.StatusCode, body)
	}
}

// TestWhoCanSeeReportsOverHTTP: the uploader and the group's lead see who
// can read a record; an outsider does not; the CSV exports defuse
// formulas; the lead sees what a member of the group can read.
func TestWhoCanSeeReportsOverHTTP(t *testing.T) {
	p, clock := withAccounts(t)
	admin := p.SeedUser(t, account.RoleAdmin)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	id := fmt.Sprintf("desk-%d", clock.Now().UnixNano()%1e9)
	lead := p.SeedNamedUser(t, "Desk Lead (synthetic)", account.RoleMember)
	in := groupNames(id)
	in["leads"] = []string{lead.ID}
	a.JSON("POST", "/api/admin/groups", in, 201, nil)
	uploader := p.SeedNamedUser(t, "Desk Uploader (synthetic)", account.RoleMember)
	reader := p.SeedNamedUser(t, "Desk Reader (synthetic)", account.RoleMember)
	outsider := p.SeedNamedUser(t, "Outsider (synthetic)", account.RoleMember)
	for _, u := range []portaltest.User{uploader, reader, lead} {
		a.JSON("PATCH", "/api/admin/users/"+u.ID, map[string]any{"groups": []string{id}}, 200, nil)
	}
	login := func(u portaltest.User) *portaltest.Client {
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	uc, lc, oc := login(uploader), login(lead), login(outsider)
	title := "=1+1 Synthetic desk record " + id
	resp, body := uc.Upload("POST", "/api/research", docMeta(title, []string{id}, access.Red), "d.txt", []byte("Synthetic desk text."))
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var d docResp
	decode(t, body, &d)

	var rep struct {
		Record  struct{ Title string }
		Readers []struct{ ID, DisplayName string }
		ByGroup map[string][]string
	}
	for _, c := range []*portaltest.Client{uc, lc} {
		c.JSON("GET", "/api/reports/records/"+d.ID+"?lang=fr", nil, 200, &rep)
		var got []string
		for _, r := range rep.Readers {
			got = append(got, r.ID)
		}
		slices.Sort(got)
		want := []string{uploader.ID, reader.ID, lead.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) || rep.Record.Title != title || len(rep.ByGroup[id]) != 3 {
			t.Errorf("readers of a TLP:RED record of %s: %+v, want %v", id, rep, want)
		}
	}
	if resp, body := oc.Do("GET", "/api/reports/records/"+d.ID, nil); resp.StatusCode != 404 || strings.Contains(string(body), id) {
		t.Errorf("an outsider asks who reads the record: %d %s, want 404", resp.StatusCode, body)
	}
	if resp, body := oc.Do("GET", "/api/reports/members/"+reader.ID, nil); resp.StatusCode != 403 {
		t.Errorf("an outsider asks what a member reads: %d %s, want 403", resp.StatusCode, body)
	}
	resp, body = lc.Do("GET", "/api/reports/records/"+d.ID+"?format=csv", nil)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if resp.StatusCode != 200 || err != nil || len(rows) != 4 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("record report CSV: %d %v %q", resp.StatusCode, err, body)
	}
	resp, body = lc.Do("GET", "/api/reports/members/"+reader.ID+"?format=csv&lang=es", nil)
	rows, err = csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("member report CSV: %d %v %s", resp.StatusCode, err, body)
	}
	found := false
	for _, row := range rows[1:] {
		for _, cell := range row {
			if strings.ContainsAny(cell[:min(1, len(cell))], "=+-@") {
				t.Errorf("CSV cell %q starts a formula", cell)
			}
		}
		if row[0] == "record" && row[5] == "'"+title && row[1] == "Unidad sintética "+id {
			found = true
		}
	}
	if !found {
		t.Errorf("member report CSV lacks the record, quoted and with the group's Spanish name: %q", rows)
	}
	resp, _ = lc.Do("GET", "/api/reports/members/"+reader.ID+"?format=xml", nil)
	if resp.StatusCode != 400 {
		t.Errorf("format=xml: %d, want 400", resp.StatusCode)
	}
}

// attestPortal is a portal of its own for the re-attestation test: its
// passes suspend every lapsed member, which the shared portal's other
// tests must not see.
var attestPortal struct {
	once   sync.Once
	portal *portaltest.Portal
	clock  *portaltest.Clock
	err    error
}

// TestLapsedMemberSuspendedAndRestored walks a year: reminders 30 and 7
// days before the due date (by mail, once each), the member's statement
// and a lead's confirmation, an extension granted once, then a lapse: the
// member is suspended (sessions ended, sign-in refused naming whom to
// contact, uploads kept), listed as such, and restored by the lead's
// confirmation.
func TestLapsedMemberSuspendedAndRestored(t *testing.T) {
	attestPortal.once.Do(func() {
		attestPortal.clock = portaltest.NewClock()
		attestPortal.portal, attestPortal.err = portaltest.Run(portaltest.Options{Now: attestPortal.clock.Now, SecretRate: 1000})
	})
	if attestPortal.err != nil {
		t.Fatal(attestPortal.err)
	}
	p, clock := attestPortal.portal, attestPortal.clock
	day := 24 * time.Hour
	member := p.SeedNamedUser(t, "Attesting Member (synthetic)", account.RoleMember)
	joined := clock.Now().UTC()
	// The others join two months later, so that the passes below, which
	// look at every member, lapse the member alone.
	clock.Advance(60 * day)
	admin := p.SeedUser(t, account.RoleAdmin)
	lead := p.SeedNamedUser(t, "Attestation Lead (synthetic)", account.RoleMember)
	other := p.SeedNamedUser(t, "Other Member (synthetic)", account.RoleMember)
	a := p.NewClient(t)
	a.Login(admin.Email, admin.Password, admin.TOTPSecret, clock.Now())
	id := fmt.Sprintf("att-%d", clock.Now().UnixNano()%1e9)
	in := groupNames(id)
	in["leads"] = []string{lead.ID}
	a.JSON("POST", "/api/admin/groups", in, 201, nil)
	for _, u := range []portaltest.User{member, lead} {
		a.JSON("PATCH", "/api/admin/users/"+u.ID, map[string]any{"groups": []string{id}}, 200, nil)
	}
	login := func(u portaltest.User) *portaltest.Client {
		clock.Advance(31 * time.Second) // a new TOTP step: codes are used once
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	type me struct {
		Attestation struct {
			DueAt  time.Time
			Status string
		}
	}
	var m me
	mc := login(member)
	mc.JSON("GET", "/api/me", nil, 200, &m)
	if want := joined.Add(attest.DefaultPeriod); m.Attestation.DueAt.Sub(want).Abs() > time.Second || m.Attestation.Status != "current" {
		t.Fatalf("GET /api/me attestation %+v, want due %v", m.Attestation, want)
	}
	resp, body := mc.Upload("POST", "/api/research", docMeta("Synthetic kept upload "+id, []string{id}, access.Amber), "k.txt", []byte("Synthetic kept text."))
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var doc docResp
	decode(t, body, &doc)
	due := m.Attestation.DueAt
	run := func(at time.Time) attest.Summary {
		t.Helper()
		sum, err := p.Attest.Run(t.Context(), at)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	mails := func(subject string) int {
		n := 0
		for _, x := range p.Mail(t, member.Email) {
			if x.Subject == subject {
				n++
			}
		}
		return n
	}

	// Reminders: 30 days before, then 7, each once.
	run(due.Add(-31 * day))
	if n := mails("Your yearly attestation is due"); n != 0 {
		t.Fatalf("%d reminders 31 days before", n)
	}
	run(due.Add(-30 * day))
	run(due.Add(-29 * day))
	if n := mails("Your yearly attestation is due"); n != 1 {
		t.Errorf("%d reminders after the 30-day mark, want 1", n)
	}
	run(due.Add(-7 * day))
	run(due.Add(-6 * day))
	got := p.Mail(t, member.Email)
	if n := mails("Your yearly attestation is due"); n != 2 || !strings.Contains(got[len(got)-1].Text, due.Format("2 January 2006")) {
		t.Errorf("%d reminders after the 7-day mark, want 2 naming the due date: %+v", n, got[len(got)-1])
	}

	// Lapse: the pass at the due date suspends.
	clock.Advance(due.Sub(clock.Now()) - time.Hour)
	mc = login(member)
	if sum := run(due); sum.Suspended != 1 {
		t.Errorf("pass at the due date: %+v, want one suspension", sum)
	}
	if resp, _ := mc.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the suspended member's session: %d, want 401", resp.StatusCode)
	}
	clock.Advance(31 * time.Second)
	again := p.NewClient(t)
	again.RefreshCSRF()
	resp, body = again.Do("POST", "/api/session", map[string]string{"email": member.Email, "password": member.Password})
	// A right password alone, before any second factor: told of the
	// suspension, but of nobody's name or address; the notice mailed to
	// the member names the lead.
	if resp.StatusCode != http.StatusForbidden || portaltest.ErrorCode(t, body) != "membership_suspended" ||
		strings.Contains(string(body), lead.Email) || strings.Contains(string(body), lead.DisplayName) {
		t.Errorf("suspended sign-in: %d %s, want 403 naming nobody", resp.StatusCode, body)
	}
	resp, body = again.Do("POST", "/api/session", map[string]string{"email": member.Email, "password": "a wrong password value"})
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "suspended") {
		t.Errorf("a wrong password on a suspended account: %d %s, want the usual 401", resp.StatusCode, body)
	}
	if mails("Your membership is suspended") != 1 {
		t.Errorf("no suspension notice: %+v", p.Mail(t, member.Email))
	} else if got := p.Mail(t, member.Email); !slices.ContainsFunc(got, func(m portaltest.Mail) bool {
		return m.Subject == "Your membership is suspended" && strings.Contains(m.Text, lead.Email)
	}) {
		t.Errorf("the suspension notice does not name the lead: %+v", got)
	}
	// Uploads are kept.
	lc := login(lead)
	var rec struct{ Title string }
	lc.JSON("GET", "/api/research/"+doc.ID, nil, 200, &rec)
	if rec.Title != "Synthetic kept upload "+id {
		t.Errorf("the suspended member's upload: %+v", rec)
	}
	// The lead sees the suspension; someone outside the member's groups
	// cannot restore them.
	var list struct {
		Attestations []struct{ UserID, Status string }
	}
	lc.JSON("GET", "/api/attestations", nil, 200, &list)
	if i := slices.IndexFunc(list.Attestations, func(x struct{ UserID, Status string }) bool { return x.UserID == member.ID }); i < 0 ||
		list.Attestations[i].Status != "suspended" || len(list.Attestations) != 1 {
		t.Errorf("the lead's list: %+v, want the member, suspended", list)
	}
	oc := login(other)
	if resp, body := oc.Do("POST", "/api/attestations/"+member.ID+"/confirm", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an unrelated member confirms: %d %s, want 403", resp.StatusCode, body)
	}
	var v struct {
		Status string
		DueAt  time.Time
	}
	lc.JSON("POST", "/api/attestations/"+member.ID+"/confirm", nil, 200, &v)
	if v.Status != "current" || !v.DueAt.After(due) {
		t.Errorf("after the lead's confirmation: %+v", v)
	}
	mc = login(member)
	mc.JSON("GET", "/api/me", nil, 200, &m)
	if m.Attestation.Status != "current" || m.Attestation.DueAt.Sub(clock.Now().Add(attest.DefaultPeriod)).Abs() > time.Minute {
		t.Errorf("restored member's attestation: %+v", m.Attestation)
	}

	// The member attests; the lead confirms; an extension is granted once.
	if resp, body := mc.Do("POST", "/api/me/attestation", map[string]any{"serving": true, "organisation": "Synthetic Police", "role": "Analyst", "country": "france"}); resp.StatusCode != 400 {
		t.Errorf("a country that is no code: %d %s, want 400", resp.StatusCode, body)
	}
	mc.JSON("POST", "/api/me/attestation", map[string]any{"serving": true, "organisation": "Synthetic Police", "role": "Analyst", "country": "FR"}, 200, nil)
	lc.JSON("POST", "/api/attestations/"+member.ID+"/confirm", nil, 200, &v)
	lc.JSON("POST", "/api/attestations/"+member.ID+"/extend", map[string]string{"reason": "on a synthetic secondment"}, 200, &v)
	if resp, body := lc.Do("POST", "/api/attestations/"+member.ID+"/extend", map[string]string{"reason": "again"}); resp.StatusCode != http.StatusConflict {
		t.Errorf("a second extension: %d %s, want 409", resp.StatusCode, body)
	}
	mc.JSON("POST", "/api/me/attestation", map[string]any{"serving": false, "organisation": "Synthetic Ministry", "role": "Adviser", "country": "FR"}, 200, nil)
	if resp, body := lc.Do("POST", "/api/attestations/"+member.ID+"/confirm", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("confirming a member who no longer serves: %d %s, want 409", resp.StatusCode, body)
	}
	a = login(admin)
	actions := auditActions(t, a, lead.ID)
	for _, want := range []string{attest.ActionConfirm, attest.ActionExtend} {
		if !slices.Contains(actions, want) {
			t.Errorf("the lead's audit trail lacks %s: %v", want, actions)
		}
	}
	var sys struct {
		Entries []struct{ Action, Target string }
	}
	a.JSON("GET", "/api/admin/audit?action="+attest.ActionSuspend, nil, 200, &sys)
	if !slices.ContainsFunc(sys.Entries, func(e struct{ Action, Target string }) bool { return e.Target == member.ID }) {
		t.Errorf("the suspension is not audited: %+v", sys)
	}
}
