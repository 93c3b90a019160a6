package alerts_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/alerts"
	"portal/audit"
	"portal/portaltest"
	"portal/research"
)

// The package's rules, driven without HTTP over the real store, the real
// member search (Meilisearch) and the real mail outbox and Mailpit.

type fixture struct {
	p     *portaltest.Portal
	clock *portaltest.Clock
	tag   string
	up    portaltest.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := portaltest.NewClock()
	p := portaltest.Start(t, portaltest.Options{Now: clock.Now})
	return &fixture{p: p, clock: clock, tag: fmt.Sprintf("sedge%d", time.Now().UnixNano()%1e6),
		up: p.SeedUser(t, account.RoleMember, "victim-identification")}
}

func (f *fixture) upload(t *testing.T, name string, tlp access.TLP) string {
	t.Helper()
	meta := research.Metadata{Title: f.tag + " " + name, Authors: []string{"Synthetic Author"},
		Organisation: "Test Organisation (synthetic)", Abstract: "Synthetic record.", Year: 2022, Language: "en",
		Type: "study", Topics: []string{"victim-identification"}, Countries: []string{"FR"}, Regions: []string{"europe"},
		AccessGroups: []string{"victim-identification"}, TLP: tlp}
	d, err := f.p.Research.Upload(t.Context(), &f.up.User, meta, "r.txt",
		strings.NewReader("Synthetic text "+f.tag+" "+name+"."), account.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func (f *fixture) inbox(t *testing.T, u portaltest.User) []string {
	t.Helper()
	in, err := f.p.Alerts.Notifications(t.Context(), &u.User)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range in.Items {
		out = append(out, string(it.Kind)+" "+strings.TrimPrefix(it.Record.Title, f.tag+" "))
	}
	slices.Sort(out)
	return out
}

// A saved search's filters are the member search's: a search narrowed to
// TLP:GREEN hears only of TLP:GREEN records. Daily and weekly searches are
// due after their periods; a pass moves each window, so nothing is told
// twice; a disabled member hears nothing.
func TestSendFollowsFiltersAndPeriods(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m := f.p.SeedUser(t, account.RoleMember, "victim-identification")
	disabled := f.p.SeedUser(t, account.RoleMember, "victim-identification")
	green := alerts.Query{Text: f.tag, TLPs: []string{string(access.Green)}}
	if _, err := f.p.Alerts.SaveSearch(ctx, &m.User, "Synthetic green only", green, alerts.Daily); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Alerts.SaveSearch(ctx, &m.User, "Synthetic weekly", alerts.Query{Text: f.tag}, alerts.Weekly); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Alerts.SaveSearch(ctx, &disabled.User, "Synthetic", alerts.Query{Text: f.tag}, alerts.Daily); err != nil {
		t.Fatal(err)
	}
	admin := f.p.SeedUser(t, account.RoleAdmin)
	if _, err := f.p.Accounts.SetDisabled(ctx, &admin.User, disabled.ID, true, account.Client{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	f.upload(t, "green", access.Green)
	f.upload(t, "amber", access.Amber)

	rep, err := f.p.Alerts.Send(ctx, f.clock.Now().Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Searches != 2 || rep.Notifications != 1 || rep.Mails != 1 {
		t.Errorf("first pass: %+v, want 2 searches (the weekly one is not due), 1 notification, 1 mail", rep)
	}
	if got := f.inbox(t, m); !slices.Equal(got, []string{"match green"}) {
		t.Errorf("inbox after the daily pass: %v", got)
	}
	if got := f.inbox(t, disabled); len(got) != 0 {
		t.Errorf("a disabled member's inbox: %v", got)
	}

	rep, err = f.p.Alerts.Send(ctx, f.clock.Now().Add(26*time.Hour))
	if err != nil || rep.Searches != 0 || rep.Notifications != 0 {
		t.Errorf("a pass an hour later: %+v, %v; want nothing due", rep, err)
	}
	rep, err = f.p.Alerts.Send(ctx, f.clock.Now().Add(8*24*time.Hour))
	if err != nil || rep.Notifications != 2 {
		t.Errorf("the weekly pass: %+v, %v; want the weekly search's two records", rep, err)
	}
	want := []string{"match amber", "match green", "match green"}
	if got := f.inbox(t, m); !slices.Equal(got, want) {
		t.Errorf("inbox after the weekly pass: %v, want %v", got, want)
	}
	for _, mail := range f.p.Mail(t, m.Email) {
		if strings.Contains(mail.Text, f.tag+" amber") {
			t.Errorf("a mail names the TLP:AMBER record:\n%s", mail.Text)
		}
	}
	if mails := f.p.Mail(t, disabled.Email); slices.ContainsFunc(mails, func(m portaltest.Mail) bool { return strings.Contains(m.Text, f.tag) }) {
		t.Errorf("a disabled member was mailed a digest")
	}
}

// An unsubscribe token turns off its own search only, and a token altered
// in any way, or for a search that no longer exists, does nothing.
func TestUnsubscribeToken(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m := f.p.SeedUser(t, account.RoleMember)
	a, err := f.p.Alerts.SaveSearch(ctx, &m.User, "Synthetic a", alerts.Query{Text: "a"}, alerts.Daily)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.p.Alerts.SaveSearch(ctx, &m.User, "Synthetic b", alerts.Query{Text: "b"}, alerts.Weekly)
	if err != nil {
		t.Fatal(err)
	}
	tok := f.p.Alerts.UnsubscribeToken(a.ID)
	for _, bad := range []string{"", tok[:len(tok)-1], b.ID + tok[32:], strings.ToUpper(tok[:32]) + tok[32:], tok + "x"} {
		if _, err := f.p.Alerts.Unsubscribe(ctx, bad, account.Client{}); err != alerts.ErrNotFound {
			t.Errorf("token %q: %v, want ErrNotFound", bad, err)
		}
	}
	done, err := f.p.Alerts.Unsubscribe(ctx, tok, account.Client{IP: "192.0.2.7"})
	if err != nil || done.Kind != "search" || done.Name != "Synthetic a" {
		t.Fatalf("unsubscribe: %+v, %v", done, err)
	}
	// No session did it: the audit log names the member the link was
	// mailed to, the search and the address.
	entries, _, err := f.p.Audit.List(ctx, audit.Filter{Actor: m.ID, Action: alerts.ActionUnsubscribe})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Target != a.ID || entries[0].IP != "192.0.2.7" {
		t.Errorf("audit entries of the unsubscribe: %+v", entries)
	}
	// A search's token is not a follow's, though both are IDs signed
	// with the same key.
	if _, err := f.p.Alerts.Unsubscribe(ctx, f.p.Alerts.UnfollowToken(b.ID), account.Client{}); err != alerts.ErrNotFound {
		t.Errorf("a follow token for a search ID: %v, want ErrNotFound", err)
	}
	list, err := f.p.Alerts.Searches(ctx, &m.User)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]alerts.Frequency{}
	for _, ss := range list {
		got[ss.Name] = ss.Alert
	}
	if got["Synthetic a"] != alerts.Off || got["Synthetic b"] != alerts.Weekly {
		t.Errorf("after unsubscribing a: %v", got)
	}
}
