package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/complaints"
	"portal/groups"
	"portal/portaltest"
)

// The complaints tests run on a portal of their own: they move its clock
// by days and spend the rate limits of the loopback address.
var complaintsPortal struct {
	once   sync.Once
	portal *portaltest.Portal
	clock  *portaltest.Clock
	err    error
}

func withComplaints(t *testing.T) (*portaltest.Portal, *portaltest.Clock) {
	t.Helper()
	complaintsPortal.once.Do(func() {
		complaintsPortal.clock = portaltest.NewClock()
		complaintsPortal.portal, complaintsPortal.err = portaltest.Run(portaltest.Options{
			Now: complaintsPortal.clock.Now, SecretRate: 1000})
	})
	if complaintsPortal.err != nil {
		t.Fatal(complaintsPortal.err)
	}
	t.Cleanup(func() {
		// The next test starts with fresh rate-limit windows.
		complaintsPortal.clock.Advance(49 * time.Hour)
	})
	return complaintsPortal.portal, complaintsPortal.clock
}

var (
	confirmLinkRE = regexp.MustCompile(`https://portal\.example/(en|fr|es|ar)/complaints/confirm/\?token=([A-Za-z0-9_-]{43})`)
	statusLinkRE  = regexp.MustCompile(`https://portal\.example/(en|fr|es|ar)/complaints/status/\?token=([A-Za-z0-9_-]{43})`)
)

var mailSeq struct {
	sync.Mutex
	n int
}

// complainant returns a fresh address, so that each case's mail is its own.
func complainant(t *testing.T) string {
	mailSeq.Lock()
	defer mailSeq.Unlock()
	mailSeq.n++
	return fmt.Sprintf("owner%d-%d@example.org", mailSeq.n, time.Now().UnixNano()%1e9)
}

// lastToken finds the token of the newest link re matches in the mails to
// addr.
func lastToken(t *testing.T, p *portaltest.Portal, addr string, re *regexp.Regexp) string {
	t.Helper()
	mails := p.Mail(t, addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(mails[i].Text); m != nil {
			return m[2]
		}
	}
	t.Fatalf("no link matching %s in the %d mails to %s", re, len(mails), addr)
	return ""
}

func complaintBody(domain, email string) map[string]any {
	return map[string]any{"lang": "en", "domain": domain, "name": "Sam Synthetic", "organisation": "Synthetic Hosting Ltd",
		"email": email, "relation": "owner",
		"explanation": "Synthetic test complaint: the domain " + domain + " changed hands and now serves a small shop."}
}

// openCase files a complaint through the API and follows the mailed link;
// it returns the case number and the status token.
func openCase(t *testing.T, p *portaltest.Portal, domain, email string) (string, string) {
	t.Helper()
	c := p.NewClient(t)
	c.RefreshCSRF()
	c.JSON("POST", "/api/complaints", complaintBody(domain, email), http.StatusAccepted, nil)
	token := lastToken(t, p, email, confirmLinkRE)
	var opened struct{ Number string }
	c.JSON("POST", "/api/complaints/confirm", map[string]string{"token": token}, http.StatusCreated, &opened)
	return opened.Number, lastToken(t, p, email, statusLinkRE)
}

type caseDetail struct {
	Number, State, Domain, Email, AssigneeID, Outcome, Reason string
	Overdue                                                   []string
	Proposed                                                  *struct{ Outcome, Reason, By string }
	Entries                                                   []struct{ Kind, Text string }
}

type complaintStatus struct {
	Number, State string
	Open          bool
	Stages        []struct {
		Stage string
		At    *time.Time
	}
	Messages []struct{ From, Text string }
	Outcome  *struct{ Code, Label string }
	Reason   *struct{ Code, Label string }
}

func loginAs(t *testing.T, p *portaltest.Portal, clock *portaltest.Clock, u portaltest.User) *portaltest.Client {
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	return c
}

// TestComplaintCase: a complaint filed, confirmed through the mailed link,
// reviewed, answered, decided by two reviewers and seen as decided, with a
// mail at each change and an audit entry for each act.
func TestComplaintCase(t *testing.T) {
	p, clock := withComplaints(t)
	email := complainant(t)
	anon := p.NewClient(t)
	anon.RefreshCSRF()
	body := complaintBody("HTTPS://Bücher.Example/shop", email)
	body["explanation"] = "Synthetic test complaint: bücher.example changed hands in 2025 and now sells books."
	anon.JSON("POST", "/api/complaints", body, http.StatusAccepted, nil)
	confirm := lastToken(t, p, email, confirmLinkRE)
	var opened struct{ Number string }
	anon.JSON("POST", "/api/complaints/confirm", map[string]string{"token": confirm}, http.StatusCreated, &opened)
	if !regexp.MustCompile(`^CP-\d{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}$`).MatchString(opened.Number) {
		t.Errorf("case number %q", opened.Number)
	}
	// The confirmation link works once.
	if resp, body := anon.Do("POST", "/api/complaints/confirm", map[string]string{"token": confirm}); resp.StatusCode != 404 || portaltest.ErrorCode(t, body) != "invalid_token" {
		t.Errorf("reused confirmation: %d %s", resp.StatusCode, body)
	}
	status := lastToken(t, p, email, statusLinkRE)
	var st complaintStatus
	anon.JSON("POST", "/api/complaints/status", map[string]string{"token": status}, 200, &st)
	if st.Number != opened.Number || st.State != "new" || !st.Open || st.Stages[0].At == nil || st.Stages[1].At != nil {
		t.Errorf("new case status: %+v", st)
	}
	for _, wrong := range []string{"", "x", strings.Repeat("A", 43), confirm} {
		if resp, body := anon.Do("POST", "/api/complaints/status", map[string]string{"token": wrong}); resp.StatusCode != 404 || portaltest.ErrorCode(t, body) != "invalid_token" {
			t.Errorf("status with a wrong token %q: %d %s", wrong, resp.StatusCode, body)
		}
	}

	first := loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	secondUser := p.SeedUser(t, account.RoleMember, "access-blocking")
	second := loginAs(t, p, clock, secondUser)
	var queue struct{ Cases []caseDetail }
	first.JSON("GET", "/api/complaints/queue?state=new&sort=oldest", nil, 200, &queue)
	if !slices.ContainsFunc(queue.Cases, func(c caseDetail) bool {
		return c.Number == opened.Number && c.Domain == "xn--bcher-kva.example" && c.Email == email
	}) {
		t.Fatalf("queue of new cases lacks %s: %+v", opened.Number, queue.Cases)
	}
	path := "/api/complaints/cases/" + opened.Number
	var d caseDetail
	first.JSON("POST", path+"/assign", map[string]string{}, 200, &d)
	if d.State != "assigned" || d.AssigneeID == "" {
		t.Errorf("after assignment: %+v", d)
	}
	if resp, body := first.Do("POST", path+"/assign", map[string]string{"assignee": "no-such-user"}); resp.StatusCode != 400 {
		t.Errorf("assignment outside the group: %d %s", resp.StatusCode, body)
	}
	const note = "Internal note: synthetic check of the registration record."
	first.JSON("POST", path+"/notes", map[string]string{"text": note}, 200, nil)
	first.JSON("POST", path+"/messages", map[string]string{"template": "request-information", "text": "Since when does the new owner hold the domain?"}, 200, &d)
	if d.State != "awaiting-information" {
		t.Errorf("after asking for information: %s", d.State)
	}
	anon.JSON("POST", "/api/complaints/messages", map[string]string{"token": status, "text": "Since March 2025, as the registry record shows."}, 200, &st)
	first.JSON("GET", path, nil, 200, &d)
	if d.State != "assigned" || len(d.Entries) != 3 {
		t.Errorf("after the answer: %s, %d entries", d.State, len(d.Entries))
	}

	first.JSON("POST", path+"/decision", map[string]string{"outcome": "upheld", "reason": "new-owner", "text": "The registry confirms the change of owner."}, 200, &d)
	if d.State != "awaiting-confirmation" || d.Proposed == nil || d.Outcome != "" {
		t.Errorf("after the first reviewer's decision: %+v", d)
	}
	if resp, body := first.Do("POST", path+"/decision/confirm", nil); resp.StatusCode != 409 || portaltest.ErrorCode(t, body) != "second_reviewer_required" {
		t.Errorf("the same reviewer confirming: %d %s", resp.StatusCode, body)
	}
	second.JSON("POST", path+"/decision/confirm", nil, 200, &d)
	if d.State != "decided" || d.Outcome != "upheld" || d.Reason != "new-owner" {
		t.Errorf("after confirmation: %+v", d)
	}

	anon.JSON("POST", "/api/complaints/status", map[string]string{"token": status}, 200, &st)
	if st.State != "decided" || st.Open || st.Outcome == nil || st.Outcome.Code != "upheld" || st.Reason.Code != "new-owner" || st.Stages[3].At == nil {
		t.Errorf("decided case as the complainant sees it: %+v", st)
	}
	raw := fmt.Sprint(st)
	if strings.Contains(raw, note) || len(st.Messages) != 2 {
		t.Errorf("the complainant sees %d messages (%s), want 2 and no note", len(st.Messages), raw)
	}
	if resp, body := anon.Do("POST", "/api/complaints/messages", map[string]string{"token": status, "text": "One more thing."}); resp.StatusCode != 409 {
		t.Errorf("message on a closed case: %d %s", resp.StatusCode, body)
	}

	// A mail at each change: confirmation, opening, under review, message,
	// decision.
	mails := p.Mail(t, email)
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Subject)
	}
	if len(mails) != 5 || !strings.Contains(mails[4].Text, "Upheld") || strings.Contains(mails[4].Text, note) {
		t.Errorf("mails to the complainant: %q", subjects)
	}
	entries, _, err := p.Audit.List(t.Context(), audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	acts := map[string]bool{}
	for _, e := range entries {
		if e.Target == opened.Number {
			acts[e.Action] = true
		}
		if strings.Contains(e.ActorEmail+e.Detail+e.Target, email) {
			t.Errorf("the audit log holds the complainant's address: %+v", e)
		}
	}
	for _, a := range []string{"complaint.open", "complaint.assign", "complaint.note", "complaint.message", "complaint.decide", "complaint.confirm_decision"} {
		if !acts[a] {
			t.Errorf("no audit entry %s for %s", a, opened.Number)
		}
	}
}

// TestComplaintRefusals: what the desk does not take, with the error that
// says why; nothing is kept and nothing mailed.
func TestComplaintRefusals(t *testing.T) {
	p, clock := withComplaints(t)
	c := p.NewClient(t)
	c.RefreshCSRF()
	email := complainant(t)
	refuse := func(what string, body any, status int, code string) {
		t.Helper()
		resp, b := c.Do("POST", "/api/complaints", body)
		if resp.StatusCode != status || portaltest.ErrorCode(t, b) != code {
			t.Errorf("%s: %d %s, want %d %s", what, resp.StatusCode, b, status, code)
		}
	}
	with := func(k string, v any) map[string]any {
		b := complaintBody("refused.example", email)
		b[k] = v
		return b
	}
	refuse("attachments", with("attachments", []string{"cGhvdG8="}), 400, "attachment_refused")
	refuse("a URL in the explanation", with("explanation", "The shop is fine, see https://other.example/proof for yourself."), 400, "url_in_text")
	refuse("another domain in the explanation", with("explanation", "This domain is a copy of mirror-site.example, which is clean."), 400, "url_in_text")
	refuse("an invalid domain", with("domain", "not a domain"), 400, "invalid_domain")
	refuse("an address instead of a domain", with("domain", "http://192.0.2.7/"), 400, "invalid_domain")
	refuse("an invalid address", with("email", "nobody"), 400, "invalid_email")
	refuse("an overlong explanation", with("explanation", strings.Repeat("long words ", 401)), 400, "explanation_too_long")
	refuse("an overlong name", with("name", strings.Repeat("n", 201)), 400, "invalid_name")
	refuse("an unknown relation", with("relation", "neighbour"), 400, "invalid_relation")
	refuse("an unknown field", with("photo", "x"), 400, "invalid_json")
	refuse("a body over the limit", with("explanation", strings.Repeat("x", 70<<10)), 413, "too_large")
	resp, body := c.Upload("POST", "/api/complaints", complaintBody("refused.example", email), "evidence.jpg", []byte("synthetic bytes"))
	if resp.StatusCode != 400 || portaltest.ErrorCode(t, body) != "attachment_refused" {
		t.Errorf("multipart upload: %d %s", resp.StatusCode, body)
	}
	if n := len(p.Mail(t, email)); n != 0 {
		t.Errorf("%d mails sent for refused complaints", n)
	}

	// Per domain: 3 a day, whoever files.
	for i := range 3 {
		c.JSON("POST", "/api/complaints", complaintBody("busy.example", complainant(t)), 202, nil)
		_ = i
	}
	refuse("a fourth complaint about a domain in a day", complaintBody("busy.example", complainant(t)), 429, "rate_limited")
	// Per address: 5 an hour.
	c.JSON("POST", "/api/complaints", complaintBody("one.example", complainant(t)), 202, nil)
	c.JSON("POST", "/api/complaints", complaintBody("two.example", complainant(t)), 202, nil)
	refuse("a sixth complaint from an address in an hour", complaintBody("three.example", complainant(t)), 429, "rate_limited")
	clock.Advance(25 * time.Hour)
	c.JSON("POST", "/api/complaints", complaintBody("three.example", complainant(t)), 202, nil)

	// Open cases (and pending ones) per e-mail address: 3.
	clock.Advance(25 * time.Hour)
	capped := complainant(t)
	openCase(t, p, "first.example", capped)
	openCase(t, p, "second.example", capped)
	c.JSON("POST", "/api/complaints", complaintBody("third.example", capped), 202, nil) // pending counts too
	refuse("a fourth open complaint from one address", complaintBody("fourth.example", capped), 429, "too_many_open")
}

// TestComplaintPagesWithoutJavaScript: the form posts back to its page; a
// post without the page's token, or with a file, is refused there.
func TestComplaintPagesWithoutJavaScript(t *testing.T) {
	p, _ := withComplaints(t)
	for _, lang := range []string{"en", "fr", "es", "ar"} {
		resp, body := get(t, p.URL+"/"+lang+"/complaints/")
		page := string(body)
		if resp.StatusCode != 200 || !strings.Contains(page, `name="csrf" value="`) || strings.Contains(page, "portal:page") ||
			!strings.Contains(page, "complaint-warning") || !strings.Contains(page, " 12 ") {
			t.Errorf("%s form page: %d", lang, resp.StatusCode)
		}
	}
	c := p.NewClient(t)
	resp, body := c.Do("GET", "/fr/complaints/", nil)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if resp.StatusCode != 200 || csrf == nil || c.Cookie("__Host-portal_csrf") == "" {
		t.Fatalf("form page: %d, token %v", resp.StatusCode, csrf)
	}
	email := complainant(t)
	form := url.Values{"domain": {"page.example"}, "name": {"Camille Synthétique"}, "email": {email}, "relation": {"owner"},
		"explanation": {"Réclamation de test synthétique : le domaine page.example a changé de propriétaire."}}
	post := func(values url.Values, cookie string) (int, string) {
		req, _ := http.NewRequest("POST", p.URL+"/fr/complaints/", strings.NewReader(values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "__Host-portal_csrf", Value: cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, page := post(form, c.Cookie("__Host-portal_csrf")); code != 403 || !strings.Contains(page, "Le formulaire avait expiré") {
		t.Errorf("post without the page's token: %d", code)
	}
	form.Set("csrf", csrf[1])
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("explanation", "Voyez http://page.example/preuve pour les détails, merci.")
	if code, page := post(bad, c.Cookie("__Host-portal_csrf")); code != 400 || !strings.Contains(page, "Retirez les adresses web") ||
		!strings.Contains(page, `aria-invalid="true"`) || !strings.Contains(page, "Camille Synthétique") {
		t.Errorf("post with a link: %d", code)
	}
	if code, page := post(form, c.Cookie("__Host-portal_csrf")); code != 200 || !strings.Contains(page, "Consultez votre messagerie") {
		t.Errorf("post of a valid complaint: %d", code)
	}
	mails := p.Mail(t, email)
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "/fr/complaints/confirm/?token=") || mails[0].Subject != "Confirmez votre réclamation" {
		t.Errorf("confirmation mail: %+v", mails)
	}
	c.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body = c.Upload("POST", "/fr/complaints/", nil, "capture.png", []byte("synthetic"))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Les pièces jointes ne sont pas acceptées") {
		t.Errorf("form posted with a file: %d", resp.StatusCode)
	}
}

// TestComplaintStatisticsMatchTheStore: the published figures are the
// cases in the store, counted here apart from the package that publishes
// them; the page shows the same figures as the JSON, and no domain.
func TestComplaintStatisticsMatchTheStore(t *testing.T) {
	p, clock := withComplaints(t)
	reviewer := loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	confirmer := loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	decide := func(number, outcome, reason string) {
		path := "/api/complaints/cases/" + number
		reviewer.JSON("POST", path+"/decision", map[string]string{"outcome": outcome, "reason": reason}, 200, nil)
		if outcome != "no-longer-listed" {
			confirmer.JSON("POST", path+"/decision/confirm", nil, 200, nil)
		}
	}
	a, _ := openCase(t, p, "stats-a.example", complainant(t))
	b, _ := openCase(t, p, "stats-b.example", complainant(t))
	reviewer.JSON("POST", "/api/complaints/cases/"+b+"/assign", map[string]string{}, 200, nil)
	clock.Advance(40 * 24 * time.Hour) // into another month
	reviewer = loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	confirmer = loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	decide(a, "rejected", "criteria-still-met")
	decide(b, "upheld", "material-removed")
	c, _ := openCase(t, p, "stats-c.example", complainant(t))
	decide(c, "no-longer-listed", "already-removed")
	openCase(t, p, "stats-d.example", complainant(t))

	cases, err := p.DB.Complaints().ListCases(t.Context(), complaints.Filter{Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ opened, decided, upheld, rejected, open int }
	want := map[string]*row{}
	month := func(t time.Time) string { return t.UTC().Format("2006-01") }
	for _, k := range cases {
		at := func(m string) *row {
			if want[m] == nil {
				want[m] = &row{}
			}
			return want[m]
		}
		at(month(k.OpenedAt)).opened++
		if !k.DecidedAt.IsZero() {
			r := at(month(k.DecidedAt))
			r.decided++
			if k.Outcome == "upheld" {
				r.upheld++
			}
			if k.Outcome == "rejected" {
				r.rejected++
			}
		}
	}
	var stats struct {
		Months []struct {
			Month                                             string
			Opened, Decided, Upheld, Rejected                 int
			OpenAtMonthEnd                                    int
			MedianDaysToAcknowledgement, MedianDaysToDecision *float64
		}
	}
	anon := p.NewClient(t)
	resp, body := anon.Do("GET", "/api/complaints/statistics", nil)
	if resp.StatusCode != 200 || strings.Contains(string(body), "stats-a.example") || strings.Contains(string(body), "@") {
		t.Fatalf("statistics: %d %s", resp.StatusCode, body)
	}
	decode(t, body, &stats)
	seen := 0
	for _, m := range stats.Months {
		w := want[m.Month]
		if w == nil {
			w = &row{}
		}
		monthEnd, _ := time.Parse("2006-01", m.Month)
		monthEnd = monthEnd.AddDate(0, 1, 0)
		for _, k := range cases {
			if k.OpenedAt.Before(monthEnd) && (k.ClosedAt.IsZero() || !k.ClosedAt.Before(monthEnd)) {
				w.open++
			}
		}
		if m.Opened != w.opened || m.Decided != w.decided || m.Upheld != w.upheld || m.Rejected != w.rejected || m.OpenAtMonthEnd != w.open {
			t.Errorf("%s: published %+v, store %+v", m.Month, m, *w)
		}
		if want[m.Month] != nil {
			seen++
		}
	}
	if seen != len(want) {
		t.Errorf("published months cover %d of the %d months with cases", seen, len(want))
	}
	last := stats.Months[len(stats.Months)-1]
	resp, body = get(t, p.URL+"/es/complaints/statistics/")
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "<svg role=\"img\"") || !strings.Contains(page, "<time datetime=\""+last.Month+"\">") ||
		!strings.Contains(page, fmt.Sprintf("<td>%d</td>", last.Opened)) || strings.Contains(page, "stats-a.example") {
		t.Errorf("statistics page: %d", resp.StatusCode)
	}
}

// TestComplaintRetention: on the settable clock, a case closed longer ago
// than the retention period loses its personal data, messages and status
// link; its number, dates and decision stay, and so do the statistics. An
// open case keeps everything.
func TestComplaintRetention(t *testing.T) {
	p, clock := withComplaints(t)
	reviewer := loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	closedEmail, openEmail := complainant(t), complainant(t)
	closed, closedToken := openCase(t, p, "retained.example", closedEmail)
	open, openToken := openCase(t, p, "still-open.example", openEmail)
	reviewer.JSON("POST", "/api/complaints/cases/"+closed+"/messages", map[string]string{"template": "acknowledgement"}, 200, nil)
	reviewer.JSON("POST", "/api/complaints/cases/"+closed+"/decision", map[string]string{"outcome": "no-longer-listed", "reason": "already-removed"}, 200, nil)
	statsBefore, _ := p.Complaints.Statistics(t.Context())

	clock.Advance(complaints.DefaultRetention - time.Hour)
	if _, err := p.Complaints.EraseExpired(t.Context()); err != nil {
		t.Fatal(err)
	}
	if k, _ := p.DB.Complaints().CaseByNumber(t.Context(), closed); k.Email != closedEmail {
		t.Fatalf("erased before the retention period ended: %+v", k)
	}
	clock.Advance(2 * time.Hour)
	n, err := p.Complaints.EraseExpired(t.Context())
	if err != nil || n < 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	k, err := p.DB.Complaints().CaseByNumber(t.Context(), closed)
	if err != nil {
		t.Fatal(err)
	}
	if k.Email != "" || k.Name != "" || k.Organisation != "" || k.Domain != "" || k.Explanation != "" || k.ErasedAt.IsZero() ||
		k.Outcome != "no-longer-listed" || k.Reason != "already-removed" || k.OpenedAt.IsZero() || k.DecidedAt.IsZero() {
		t.Errorf("after erasure: %+v", k)
	}
	if entries, _ := p.DB.Complaints().Entries(t.Context(), k.ID); len(entries) != 0 {
		t.Errorf("%d messages kept after erasure", len(entries))
	}
	c := p.NewClient(t)
	c.RefreshCSRF()
	if resp, _ := c.Do("POST", "/api/complaints/status", map[string]string{"token": closedToken}); resp.StatusCode != 404 {
		t.Errorf("status link of an erased case: %d", resp.StatusCode)
	}
	var st complaintStatus
	c.JSON("POST", "/api/complaints/status", map[string]string{"token": openToken}, 200, &st)
	if st.Number != open || !st.Open {
		t.Errorf("open case after the pass: %+v", st)
	}
	statsAfter, _ := p.Complaints.Statistics(t.Context())
	for i, m := range statsBefore {
		if a := statsAfter[i]; a.Opened != m.Opened || a.Decided != m.Decided || a.Upheld != m.Upheld || a.Rejected != m.Rejected {
			t.Errorf("statistics changed by erasure: %+v, then %+v", m, a)
		}
	}
}

// TestComplaintOverdue: a case nobody acknowledged is highlighted in the
// queue and mailed to the leads once, however many passes run.
func TestComplaintOverdue(t *testing.T) {
	p, clock := withComplaints(t)
	lead := p.SeedUser(t, account.RoleAdmin)
	number, _ := openCase(t, p, "late.example", complainant(t))
	clock.Advance(5 * 24 * time.Hour) // two working days have passed, whatever today is
	reviewer := loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	var d caseDetail
	reviewer.JSON("GET", "/api/complaints/cases/"+number, nil, 200, &d)
	if !slices.Equal(d.Overdue, []string{"acknowledgement"}) {
		t.Errorf("overdue: %v", d.Overdue)
	}
	if _, err := p.Complaints.Overdue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Complaints.Overdue(t.Context()); err != nil || n != 0 {
		t.Errorf("second pass: %d, %v; want nothing new", n, err)
	}
	mails := p.Mail(t, lead.Email)
	found := 0
	for _, m := range mails {
		found += strings.Count(m.Text, number+": acknowledgement")
	}
	if found != 1 {
		t.Errorf("the lead was told %d times about %s", found, number)
	}

	// Once the handling group has a lead, the lead is told, not the admins.
	groupLead := p.SeedUser(t, account.RoleMember, "access-blocking")
	setLeads := func(ids []string) {
		t.Helper()
		if _, err := p.Groups.Update(context.Background(), &lead.User, "access-blocking", groups.Input{Leads: &ids}, account.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	setLeads([]string{groupLead.ID})
	t.Cleanup(func() { setLeads([]string{}) })
	later, _ := openCase(t, p, "later.example", complainant(t))
	clock.Advance(5 * 24 * time.Hour)
	if _, err := p.Complaints.Overdue(t.Context()); err != nil {
		t.Fatal(err)
	}
	told := func(email string) int {
		n := 0
		for _, m := range p.Mail(t, email) {
			n += strings.Count(m.Text, later+": acknowledgement")
		}
		return n
	}
	if told(groupLead.Email) != 1 || told(lead.Email) != 0 {
		t.Errorf("about %s: the group's lead was told %d times, an admin %d; want the lead once and no admin",
			later, told(groupLead.Email), told(lead.Email))
	}
}

// TestComplaintQueuePages: the queue's pages answer the handling group
// only, highlight late cases, and their forms act with the session's
// token.
func TestComplaintQueuePages(t *testing.T) {
	p, clock := withComplaints(t)
	number, _ := openCase(t, p, "queue-page.example", complainant(t))
	clock.Advance(5 * 24 * time.Hour)
	handler := loginAs(t, p, clock, p.SeedUser(t, account.RoleMember, "access-blocking"))
	outsider := loginAs(t, p, clock, p.SeedUser(t, account.RoleAdmin, "victim-identification"))

	anon := p.NewClient(t)
	if resp, _ := anon.Do("GET", "/en/complaints/queue/", nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/en/account/login/?next=") {
		t.Errorf("anonymous queue page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/fr/complaints/queue/", "/fr/complaints/case/?number=" + number} {
		resp, body := outsider.Do("GET", path, nil)
		if resp.StatusCode != 403 || strings.Contains(string(body), "queue-page.example") || !strings.Contains(string(body), "réservée aux membres du groupe") {
			t.Errorf("%s for an admin outside the group: %d", path, resp.StatusCode)
		}
	}
	resp, body := handler.Do("GET", "/en/complaints/queue/?state=new", nil)
	page := string(body)
	row := regexp.MustCompile(`(?s)<tr class="complaint-overdue">\s*<th scope="row"><a href="/en/complaints/case/\?number=` + number + `"`)
	if resp.StatusCode != 200 || !row.MatchString(page) {
		t.Errorf("queue page: %d; the late case %s is not highlighted", resp.StatusCode, number)
	}
	resp, body = handler.Do("GET", "/en/complaints/case/?number="+number, nil)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if resp.StatusCode != 200 || csrf == nil || !strings.Contains(string(body), "queue-page.example") {
		t.Fatalf("case page: %d", resp.StatusCode)
	}
	post := func(values url.Values) (int, string) {
		req, _ := http.NewRequest("POST", p.URL+"/en/complaints/case/", strings.NewReader(values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: "__Host-portal_session", Value: handler.Cookie("__Host-portal_session")})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	note := url.Values{"number": {number}, "action": {"note"}, "text": {"Synthetic note from the page."}}
	if code, _ := post(note); code != 403 {
		t.Errorf("a note without the token: %d", code)
	}
	note.Set("csrf", csrf[1])
	if code, page := post(note); code != 200 || !strings.Contains(page, "Synthetic note from the page.") {
		t.Errorf("a note from the page: %d", code)
	}
	decide := url.Values{"csrf": {csrf[1]}, "number": {number}, "action": {"decide"}, "decision": {"rejected/criteria-still-met"}}
	if code, page := post(decide); code != 200 || !strings.Contains(page, "Decision awaiting confirmation") {
		t.Errorf("a decision from the page: %d", code)
	}
	confirm := url.Values{"csrf": {csrf[1]}, "number": {number}, "action": {"confirm"}}
	if code, page := post(confirm); code != 409 || !strings.Contains(page, "Another member of the group must confirm") {
		t.Errorf("the same reviewer confirming from the page: %d", code)
	}
}
