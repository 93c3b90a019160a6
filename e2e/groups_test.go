package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/account"
	"portal/groups"
)

// TestGroupsAndAttestationPages: a member whose attestation is due sees
// the banner on the members' pages and attests on My account; the lead of
// their group sees the group by its name, its members and the attestation
// to follow; an admin sees the form that creates groups. axe-core checks
// each page in English, French, Spanish and Arabic.
func TestGroupsAndAttestationPages(t *testing.T) {
	p := portal(t)
	admin := p.SeedNamedUser(t, "Pages Admin (synthetic)", account.RoleAdmin)
	lead := p.SeedNamedUser(t, "Pages Lead (synthetic)", account.RoleMember)
	member := p.SeedNamedUser(t, "Pages Member (synthetic)", account.RoleMember)
	colleague := p.SeedNamedUser(t, "Pages Colleague (synthetic)", account.RoleMember)
	id := fmt.Sprintf("pages-%d", time.Now().UnixNano()%1e9)
	leads := []string{lead.ID}
	g, err := p.Groups.Create(t.Context(), &admin.User, groups.Input{ID: id,
		Names: map[string]string{"en": "Synthetic desk", "fr": "Bureau synthétique", "es": "Oficina sintética", "ar": "مكتب اصطناعي"},
		Leads: &leads}, account.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Accounts.SetGroupMember(t.Context(), &admin.User, member.ID, g.ID, true, account.Client{}); err != nil {
		t.Fatal(err)
	}
	// The member joined eleven months ago: the attestation is due.
	rec, err := p.DB.Attestations().AttestationRecord(t.Context(), member.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Since = time.Now().Add(-340 * 24 * time.Hour)
	if err := p.DB.Attestations().SaveAttestation(t.Context(), &rec); err != nil {
		t.Fatal(err)
	}
	langs := []string{"en", "fr", "es", "ar"}

	ctx := browser(t)
	loginInBrowser(t, ctx, p, member, "/en/account/")
	for _, lang := range langs {
		do(t, ctx,
			chromedp.Navigate(p.URL+"/"+lang+"/account/"),
			chromedp.WaitVisible(chromedp.CSS("#attestation-banner")),
			chromedp.WaitVisible(chromedp.CSS("#attest-form")),
			chromedp.Poll[chromedp.Void](`document.querySelector('[data-value="attestationDue"]').textContent.trim() !== ""`, chromedp.WithPollingTimeout(5*time.Second)),
		)
		if groupsShown := run(t, ctx, chromedp.Text(chromedp.CSS(`#account-details [data-value="groups"]`))); !strings.Contains(groupsShown, g.Name(lang)) {
			t.Errorf("%s account page shows the groups as %q, want the name %q", lang, groupsShown, g.Name(lang))
		}
		checkAxe(t, ctx, lang+" account page with the attestation banner")
	}
	do(t, ctx,
		chromedp.Navigate(p.URL+"/fr/research/"),
		chromedp.WaitVisible(chromedp.CSS("#attestation-banner")),
	)
	checkAxe(t, ctx, "fr research page with the attestation banner")
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/account/"),
		chromedp.WaitVisible(chromedp.CSS("#attest-form")),
		chromedp.Click(chromedp.CSS("#attest-serving")),
		chromedp.SendKeys(chromedp.CSS("#attest-organisation"), "Synthetic Police"),
		chromedp.SendKeys(chromedp.CSS("#attest-role"), "Analyst"),
		chromedp.SendKeys(chromedp.CSS("#attest-country"), "fr"),
		chromedp.Click(chromedp.CSS(`#attest-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#attest-pending")),
	)
	checkAxe(t, ctx, "account page after attesting")

	lctx := browser(t)
	loginInBrowser(t, lctx, p, lead, "/en/account/groups/")
	for i, lang := range langs {
		name := g.Name(lang)
		do(t, lctx,
			chromedp.Navigate(p.URL+"/"+lang+"/account/groups/"),
			chromedp.WaitVisible(chromedp.CSS("#groups-body tr")),
			chromedp.WaitVisible(chromedp.CSS("#attestations-body tr")),
		)
		body := run(t, lctx, chromedp.Text(chromedp.CSS("#groups-body")))
		if !strings.Contains(body, name) || strings.Contains(body, id) {
			t.Errorf("%s groups page: %q, want the group's name %q and not its id", lang, body, name)
		}
		statement := run(t, lctx, chromedp.Text(chromedp.CSS("#attestations-body")))
		if !strings.Contains(statement, "Synthetic Police") {
			t.Errorf("%s groups page: the member's statement is not shown: %q", lang, statement)
		}
		if create := run(t, lctx, chromedp.Evaluate[bool](`document.querySelector("#group-create-form").hidden`)); !create {
			t.Errorf("%s: a lead is shown the form that creates groups", lang)
		}
		do(t, lctx,
			chromedp.Click(chromedp.CSS("#groups-body button")),
			chromedp.WaitVisible(chromedp.CSS("#group-members-list li button")),
		)
		if i == 0 {
			members := run(t, lctx, chromedp.Text(chromedp.CSS("#group-members-list")))
			if !strings.Contains(members, member.DisplayName) {
				t.Errorf("group members: %q", members)
			}
			// The lead adds a colleague by address, then removes them.
			do(t, lctx,
				chromedp.SendKeys(chromedp.CSS("#group-add-email"), colleague.Email),
				chromedp.Click(chromedp.CSS(`#group-add-form button[type="submit"]`)),
				chromedp.Poll[chromedp.Void](`document.querySelector("#group-members-list").textContent.includes(`+jsString(colleague.DisplayName)+`)`,
					chromedp.WithPollingTimeout(10*time.Second)),
			)
			checkAxe(t, lctx, "groups page after the lead added a member")
			if u, err := p.Accounts.GetUser(t.Context(), &admin.User, colleague.ID); err != nil || !slices.Contains(u.Groups, id) {
				t.Errorf("after the lead's addition: %v %v", u.Groups, err)
			}
			do(t, lctx,
				chromedp.Click(chromedp.CSS(`#group-members-list button[aria-label$=`+jsString(colleague.DisplayName)+`]`)),
				chromedp.Poll[chromedp.Void](`!document.querySelector("#group-members-list").textContent.includes(`+jsString(colleague.DisplayName)+`)`,
					chromedp.WithPollingTimeout(10*time.Second)),
			)
		}
		checkAxe(t, lctx, lang+" groups page of a lead")
	}

	// A suspended member's sign-in says whom to contact: here the lead.
	suspended := p.SeedNamedUser(t, "Suspended Member (synthetic)", account.RoleMember)
	if _, err := p.Accounts.SetGroupMember(t.Context(), &admin.User, suspended.ID, g.ID, true, account.Client{}); err != nil {
		t.Fatal(err)
	}
	srec, err := p.DB.Attestations().AttestationRecord(t.Context(), suspended.ID)
	if err != nil {
		t.Fatal(err)
	}
	snext := srec
	snext.SuspendedAt = time.Now()
	if ok, _, err := p.DB.Attestations().SwapAttestation(t.Context(), &srec, &snext); err != nil || !ok {
		t.Fatal(ok, err)
	}
	sctx := browser(t)
	do(t, sctx,
		chromedp.Navigate(p.URL+"/ar/account/login/"),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), suspended.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), suspended.Password+"\n"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#app-alert").textContent.includes("suspended")`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	// Told before any second factor: the page points to the notice mailed
	// to the member, which names the lead; it names nobody itself.
	if alert := run(t, sctx, chromedp.Text(chromedp.CSS("#app-alert"))); strings.Contains(alert, lead.Email) ||
		!strings.Contains(alert, "notice mailed to you") {
		t.Errorf("suspended sign-in: %q, want the pointer to the mailed notice and no address", alert)
	}
	checkAxe(t, sctx, "ar login page refusing a suspended member")

	actx := browser(t)
	loginInBrowser(t, actx, p, admin, "/en/account/groups/")
	for _, lang := range langs {
		do(t, actx,
			chromedp.Navigate(p.URL+"/"+lang+"/account/groups/"),
			chromedp.WaitVisible(chromedp.CSS("#group-create-form")),
			chromedp.WaitVisible(chromedp.CSS("#groups-body tr")),
		)
		checkAxe(t, actx, lang+" groups page of an admin")
	}
}

// jsString quotes s for a JavaScript expression or a CSS attribute value.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
