package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/portaltest"
)

type savedSearchResp struct {
	ID, Name, Text, Alert string
}

type inboxResp struct {
	Unread int
	Items  []struct {
		ID     int64
		Kind   string
		Read   bool
		Search *struct{ ID, Name string }
		Record struct {
			ID, Title, TLP string
			Version        int
		}
	}
}

func (in inboxResp) titles() []string {
	var out []string
	for _, it := range in.Items {
		out = append(out, it.Kind+" "+it.Record.Title)
	}
	slices.Sort(out)
	return out
}

// alertsFixture is a portal with an uploader in two groups and a way to
// upload synthetic records whose text carries a tag of the test's own.
type alertsFixture struct {
	p        *portaltest.Portal
	clock    *portaltest.Clock
	tag      string
	uploader portaltest.User
	up       *portaltest.Client
	// logins are the clients send logs in again after moving the clock.
	logins []login
}

type login struct {
	c *portaltest.Client
	u portaltest.User
}

func newAlertsFixture(t *testing.T) *alertsFixture {
	p, clock := withAccounts(t)
	f := &alertsFixture{p: p, clock: clock, tag: fmt.Sprintf("alertcanary%d", time.Now().UnixNano()%1e9)}
	f.uploader = p.SeedUser(t, account.RoleMember, "victim-identification", "access-blocking")
	f.up = f.login(t, f.uploader)
	return f
}

func (f *alertsFixture) login(t *testing.T, u portaltest.User) *portaltest.Client {
	c := f.p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, f.clock.Now())
	f.logins = append(f.logins, login{c, u})
	return c
}

// upload adds a record titled "<tag> <name>" whose text holds the tag.
func (f *alertsFixture) upload(t *testing.T, name string, groups []string, tlp access.TLP) string {
	t.Helper()
	resp, body := f.up.Upload("POST", "/api/research", docMeta(f.tag+" "+name, groups, tlp), "r.txt",
		[]byte("Synthetic record for the alerts tests: "+f.tag+" "+name+"."))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", name, resp.StatusCode, body)
	}
	var d docResp
	decode(t, body, &d)
	return d.ID
}

func (f *alertsFixture) save(t *testing.T, c *portaltest.Client, name, alert string) savedSearchResp {
	t.Helper()
	var ss savedSearchResp
	c.JSON("POST", "/api/me/saved-searches", map[string]any{"name": name, "text": f.tag, "alert": alert,
		"filters": map[string]any{"topics": []string{"victim-identification"}}}, http.StatusCreated, &ss)
	// The shared clock stands still; what is uploaded next must come
	// after the search's window opened.
	f.clock.Advance(time.Second)
	return ss
}

// send moves the shared clock by days of 25 hours, runs a digest pass
// then, and logs the fixture's clients in again (their sessions ended
// meanwhile).
func (f *alertsFixture) send(t *testing.T, days int) {
	t.Helper()
	f.clock.Advance(time.Duration(days) * 25 * time.Hour)
	if _, err := f.p.Alerts.Send(t.Context(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	for _, l := range f.logins {
		l.c.Login(l.u.Email, l.u.Password, l.u.TOTPSecret, f.clock.Now())
	}
}

// digests returns the digest mails to u.
func (f *alertsFixture) digests(t *testing.T, u portaltest.User) []portaltest.Mail {
	var out []portaltest.Mail
	for _, m := range f.p.Mail(t, u.Email) {
		if m.Subject == "New research in your saved searches" || m.Subject == "Records you follow have changed" {
			out = append(out, m)
		}
	}
	return out
}

// The digest is decided at sending time: a member who lost a group between
// saving the search and the digest hears nothing of that group's records;
// withdrawn records are never listed; TLP:AMBER, AMBER+STRICT and RED
// records are only counted in the mail, never named, while the inbox
// lists them all.
func TestDigestDecidesAccessAtSendingTime(t *testing.T) {
	f := newAlertsFixture(t)
	p := f.p
	stays := p.SeedUser(t, account.RoleMember, "victim-identification")
	leaves := p.SeedUser(t, account.RoleMember, "victim-identification")
	cs, cl := f.login(t, stays), f.login(t, leaves)
	f.save(t, cs, "Synthetic VI alerts", "daily")
	f.save(t, cl, "Synthetic VI alerts", "daily")
	offSearch := f.p.SeedUser(t, account.RoleMember, "victim-identification")
	f.save(t, f.login(t, offSearch), "Synthetic no alert", "off")

	vi := []string{"victim-identification"}
	f.upload(t, "green", vi, access.Green)
	f.upload(t, "clear", vi, access.Clear)
	f.upload(t, "amber", vi, access.Amber)
	f.upload(t, "amberstrict", vi, access.AmberStrict)
	f.upload(t, "red", vi, access.Red)
	f.upload(t, "other group", []string{"access-blocking"}, access.Green)
	gone := f.upload(t, "withdrawn", vi, access.Green)
	var d docResp
	f.up.JSON("POST", "/api/research/"+gone+"/withdraw", nil, http.StatusOK, &d)
	// The uploader's own records are not news to the uploader.
	f.save(t, f.up, "Synthetic own uploads", "daily")

	// Access changes between saving and sending.
	admin := p.SeedUser(t, account.RoleAdmin)
	groups := []string{"members"}
	if _, err := p.Accounts.UpdateUser(t.Context(), &admin.User, leaves.ID, nil, &groups, account.Client{}); err != nil {
		t.Fatal(err)
	}

	f.send(t, 1)

	mails := f.digests(t, stays)
	if len(mails) != 1 {
		t.Fatalf("%d digest mails for the member who kept access, want 1", len(mails))
	}
	body := mails[0].Text
	for _, name := range []string{"green", "clear"} {
		if !strings.Contains(body, f.tag+" "+name) {
			t.Errorf("the mail does not name the TLP:%s record:\n%s", strings.ToUpper(name), body)
		}
	}
	for _, name := range []string{"amber", "red", "other group", "withdrawn"} {
		if strings.Contains(body, f.tag+" "+name) {
			t.Errorf("the mail names %q:\n%s", name, body)
		}
	}
	if !strings.Contains(body, "3 records labelled TLP:AMBER, TLP:AMBER+STRICT or TLP:RED") ||
		!strings.Contains(body, portaltest.PublicURL+"/en/account/notifications/") {
		t.Errorf("the mail does not count the restricted records with a link into the portal:\n%s", body)
	}
	if !strings.Contains(body, `Saved search "Synthetic VI alerts": 5 new or updated records`) {
		t.Errorf("the mail does not say which search matched:\n%s", body)
	}
	if !strings.Contains(body, portaltest.PublicURL+"/en/account/unsubscribe/#token=") {
		t.Errorf("the mail has no unsubscribe link:\n%s", body)
	}

	var in inboxResp
	cs.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	want := []string{"match " + f.tag + " amber", "match " + f.tag + " amberstrict", "match " + f.tag + " clear",
		"match " + f.tag + " green", "match " + f.tag + " red"}
	if got := in.titles(); !slices.Equal(got, want) || in.Unread != 5 {
		t.Errorf("inbox: %v (unread %d), want %v (unread 5)", got, in.Unread, want)
	}

	// Access lost since saving: nothing sent, nothing in the inbox.
	if m := f.digests(t, leaves); len(m) != 0 {
		t.Errorf("the member who left the group got %d mails: %s", len(m), m[0].Text)
	}
	cl.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if len(in.Items) != 0 || in.Unread != 0 {
		t.Errorf("the member who left the group has notifications: %v", in.titles())
	}
	// An alert that is off sends nothing; the uploader hears nothing of
	// their own uploads.
	for _, who := range []portaltest.User{offSearch, f.uploader} {
		if m := f.digests(t, who); len(m) != 0 {
			t.Errorf("%s got %d mails, want none: %s", who.Email, len(m), m[0].Text)
		}
	}

	// A pass the next day finds nothing new, so nothing is sent.
	f.send(t, 1)
	if m := f.digests(t, stays); len(m) != 1 {
		t.Errorf("%d mails after passes with nothing new, want 1", len(m))
	}
}

// The mailed link turns off that one search's alert without a session;
// a forged or altered token does nothing.
func TestUnsubscribeWithoutLogin(t *testing.T) {
	f := newAlertsFixture(t)
	m := f.p.SeedUser(t, account.RoleMember, "victim-identification")
	c := f.login(t, m)
	first := f.save(t, c, "Synthetic first", "daily")
	second := f.save(t, c, "Synthetic second", "weekly")
	f.upload(t, "green", []string{"victim-identification"}, access.Green)
	f.send(t, 8)
	mails := f.digests(t, m)
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	tokens := regexp.MustCompile(`/en/account/unsubscribe/#token=([0-9a-f]{32}\.[A-Za-z0-9_-]+)`).FindAllStringSubmatch(mails[0].Text, -1)
	if len(tokens) != 2 {
		t.Fatalf("%d unsubscribe links, want one per search:\n%s", len(tokens), mails[0].Text)
	}
	var token string
	for _, tk := range tokens {
		if strings.HasPrefix(tk[1], first.ID+".") {
			token = tk[1]
		}
	}
	if token == "" {
		t.Fatalf("no link for the first search:\n%s", mails[0].Text)
	}

	anon := f.p.NewClient(t)
	anon.RefreshCSRF()
	for _, bad := range []string{"", "x", second.ID + token[32:], token[:len(token)-2] + "AA"} {
		resp, body := anon.Do("POST", "/api/alerts/unsubscribe", map[string]string{"token": bad})
		if resp.StatusCode != http.StatusNotFound || portaltest.ErrorCode(t, body) != "invalid_token" {
			t.Errorf("token %q: %d %s, want 404 invalid_token", bad, resp.StatusCode, body)
		}
	}
	var out struct{ Kind, Name string }
	anon.JSON("POST", "/api/alerts/unsubscribe", map[string]string{"token": token}, http.StatusOK, &out)
	if out.Name != "Synthetic first" || out.Kind != "search" {
		t.Errorf("unsubscribe answered %+v", out)
	}
	var list struct{ Searches []savedSearchResp }
	c.JSON("GET", "/api/me/saved-searches", nil, http.StatusOK, &list)
	alerts := map[string]string{}
	for _, ss := range list.Searches {
		alerts[ss.Name] = ss.Alert
	}
	if alerts["Synthetic first"] != "off" || alerts["Synthetic second"] != "weekly" {
		t.Errorf("alerts after unsubscribing the first search: %v", alerts)
	}
	// A deleted search's link no longer works.
	c.JSON("DELETE", "/api/me/saved-searches/"+first.ID, nil, http.StatusNoContent, nil)
	if resp, body := anon.Do("POST", "/api/alerts/unsubscribe", map[string]string{"token": token}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("link of a deleted search: %d %s", resp.StatusCode, body)
	}
}

// The inbox is checked when read: after a withdrawal the record's
// notification is no longer listed (nor counted), though it was written.
// A followed record's new version and withdrawal are told to its
// follower.
func TestInboxRecheckedAfterWithdrawal(t *testing.T) {
	f := newAlertsFixture(t)
	m := f.p.SeedUser(t, account.RoleMember, "victim-identification")
	c := f.login(t, m)
	f.save(t, c, "Synthetic inbox", "daily")
	vi := []string{"victim-identification"}
	kept := f.upload(t, "kept", vi, access.Green)
	dropped := f.upload(t, "dropped", vi, access.Amber)
	f.send(t, 1)
	var in inboxResp
	c.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if len(in.Items) != 2 || in.Unread != 2 {
		t.Fatalf("inbox before the withdrawal: %v (unread %d)", in.titles(), in.Unread)
	}

	var d docResp
	f.up.JSON("POST", "/api/research/"+dropped+"/withdraw", nil, http.StatusOK, &d)
	c.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if got := in.titles(); !slices.Equal(got, []string{"match " + f.tag + " kept"}) || in.Unread != 1 {
		t.Errorf("inbox after the withdrawal: %v (unread %d)", got, in.Unread)
	}
	// Marking read.
	c.JSON("POST", "/api/me/notifications/read", map[string]int64{"id": in.Items[0].ID}, http.StatusNoContent, nil)
	c.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if in.Unread != 0 || !in.Items[0].Read {
		t.Errorf("after marking read: unread %d, %+v", in.Unread, in.Items)
	}
	if resp, body := c.Do("POST", "/api/me/notifications/read", map[string]int64{"id": 999999999}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("marking another's or no notification: %d %s", resp.StatusCode, body)
	}

	// Following: a new version, then the withdrawal.
	var fl struct{ DocID string }
	c.JSON("POST", "/api/me/follows", map[string]string{"docId": kept}, http.StatusCreated, &fl)
	f.clock.Advance(time.Second)
	if resp, _ := c.Do("POST", "/api/me/follows", map[string]string{"docId": kept}); resp.StatusCode != http.StatusConflict {
		t.Errorf("following twice: %d, want 409", resp.StatusCode)
	}
	if resp, body := f.up.Upload("POST", "/api/research/"+kept+"/versions", nil, "v2.txt", []byte("Synthetic second version "+f.tag+".")); resp.StatusCode != http.StatusOK {
		t.Fatalf("new version: %d %s", resp.StatusCode, body)
	}
	f.send(t, 1)
	c.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if in.Items[0].Kind != "version" || in.Items[0].Record.ID != kept || in.Items[0].Record.Version != 2 {
		t.Errorf("newest notification after a new version: %+v", in.Items[0])
	}
	f.up.JSON("POST", "/api/research/"+kept+"/withdraw", nil, http.StatusOK, &d)
	f.send(t, 1)
	c.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if got := in.titles(); !slices.Equal(got, []string{"withdrawn " + f.tag + " kept"}) {
		t.Errorf("inbox after the followed record's withdrawal: %v", got)
	}
	mails := f.digests(t, m)
	last := mails[len(mails)-1]
	if !strings.Contains(last.Text, f.tag+" kept (TLP:GREEN) was withdrawn") || last.Subject != "Records you follow have changed" {
		t.Errorf("the last mail does not tell the withdrawal: %s\n%s", last.Subject, last.Text)
	}
	// Its link stops the follow without a session.
	tok := regexp.MustCompile(`/en/account/unsubscribe/#token=(\S+)`).FindStringSubmatch(last.Text)
	if tok == nil {
		t.Fatalf("no unfollow link:\n%s", last.Text)
	}
	anon := f.p.NewClient(t)
	anon.RefreshCSRF()
	var out struct{ Kind, Name string }
	anon.JSON("POST", "/api/alerts/unsubscribe", map[string]string{"token": tok[1]}, http.StatusOK, &out)
	var follows struct{ Follows []struct{ DocID string } }
	c.JSON("GET", "/api/me/follows", nil, http.StatusOK, &follows)
	if out.Kind != "follow" || out.Name != "" || len(follows.Follows) != 0 {
		t.Errorf("unfollow link: %+v, follows left %v", out, follows.Follows)
	}
}

// Saved searches take the member search's filters by its rules, names are
// unique per member, and one member cannot reach another's.
func TestSavedSearchesValidated(t *testing.T) {
	f := newAlertsFixture(t)
	a := f.login(t, f.p.SeedUser(t, account.RoleMember))
	b := f.login(t, f.p.SeedUser(t, account.RoleMember))
	for _, tc := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"name": "x", "filters": map[string]any{"tlp": []string{"TLP:BLUE"}}}, "invalid_parameter"},
		{map[string]any{"name": "x", "filters": map[string]any{"year_from": 2020, "year_to": 2010}}, "invalid_parameter"},
		{map[string]any{"name": "x", "filters": map[string]any{"countries": []string{"France"}}}, "invalid_parameter"},
		{map[string]any{"name": "", "text": "x"}, "invalid_parameter"},
		{map[string]any{"name": "bad\u202ename"}, "invalid_parameter"},
		{map[string]any{"name": strings.Repeat("n", 101)}, "invalid_parameter"},
		{map[string]any{"name": "x", "alert": "hourly"}, "invalid_parameter"},
		{map[string]any{"name": "x", "unknown": 1}, "invalid_json"},
	} {
		if resp, body := a.Do("POST", "/api/me/saved-searches", tc.body); resp.StatusCode != http.StatusBadRequest || portaltest.ErrorCode(t, body) != tc.code {
			t.Errorf("%v: %d %s, want 400 %s", tc.body, resp.StatusCode, body, tc.code)
		}
	}
	var ss savedSearchResp
	a.JSON("POST", "/api/me/saved-searches", map[string]any{"name": "Synthetic", "text": "cooperation",
		"filters": map[string]any{"tlp": []string{"TLP:GREEN"}, "year_from": 2019}}, http.StatusCreated, &ss)
	if ss.Alert != "off" || ss.Text != "cooperation" {
		t.Errorf("saved: %+v", ss)
	}
	if resp, _ := a.Do("POST", "/api/me/saved-searches", map[string]any{"name": "Synthetic"}); resp.StatusCode != http.StatusConflict {
		t.Errorf("same name twice: %d, want 409", resp.StatusCode)
	}
	a.JSON("PATCH", "/api/me/saved-searches/"+ss.ID, map[string]any{"alert": "weekly", "text": "procedures"}, http.StatusOK, &ss)
	if ss.Alert != "weekly" || ss.Text != "procedures" {
		t.Errorf("patched: %+v", ss)
	}
	for _, method := range []string{"PATCH", "DELETE"} {
		if resp, _ := b.Do(method, "/api/me/saved-searches/"+ss.ID, map[string]any{"alert": "off"}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s of another member's search: %d, want 404", method, resp.StatusCode)
		}
	}
	var list struct{ Searches []savedSearchResp }
	b.JSON("GET", "/api/me/saved-searches", nil, http.StatusOK, &list)
	if len(list.Searches) != 0 {
		t.Errorf("another member lists %v", list.Searches)
	}
}
