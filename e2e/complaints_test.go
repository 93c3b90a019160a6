package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"portal/account"
	"portal/complaints"
	"portal/portaltest"
)

// mailedLink returns the newest link re matches in the mails to addr,
// pointed at the test's portal instead of the public origin.
func mailedLink(t *testing.T, p *portaltest.Portal, addr string, re *regexp.Regexp) string {
	t.Helper()
	mails := p.Mail(t, addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if found := re.FindString(mails[i].Text); found != "" {
			return strings.Replace(found, portaltest.PublicURL, p.URL, 1)
		}
	}
	t.Fatalf("no link matching %s mailed to %s", re, addr)
	return ""
}

var (
	confirmLink = regexp.MustCompile(`https://portal\.example/(en|fr|es|ar)/complaints/confirm/\?token=[A-Za-z0-9_-]{43}`)
	statusLink  = regexp.MustCompile(`https://portal\.example/(en|fr|es|ar)/complaints/status/\?token=[A-Za-z0-9_-]{43}`)
)

// TestComplaintInFrenchWithoutJavaScript: a domain owner finds the form
// from the stop page, files in French with scripts off, opens the case
// through the mailed link, answers the reviewers' question on the status
// page, and sees the decision two reviewers took.
func TestComplaintInFrenchWithoutJavaScript(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	call(t, ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	email := fmt.Sprintf("proprietaire-%d@example.org", time.Now().UnixNano()%1e9)
	do(t, ctx,
		chromedp.Navigate(p.URL+"/fr/access-blocking/stop-page/"),
		chromedp.Click(chromedp.CSS(`main a[href="/fr/complaints/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#complaint-domain")),
	)
	warning := run(t, ctx, chromedp.Text(chromedp.CSS(".complaint-warning")))
	if !strings.Contains(warning, "N'envoyez jamais aucun contenu") {
		t.Errorf("warning before the form: %q", warning)
	}
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#complaint-domain"), "https://Boulangerie-Synthétique.example/accueil"),
		chromedp.SendKeys(chromedp.CSS("#complaint-name"), "Camille Synthétique"),
		chromedp.SendKeys(chromedp.CSS("#complaint-email"), email),
		chromedp.SetValue(chromedp.CSS("#complaint-relation"), "owner"),
		chromedp.SendKeys(chromedp.CSS("#complaint-explanation"), "Données de test synthétiques : le domaine a changé de propriétaire en 2025 et héberge une boulangerie."),
		chromedp.Click(chromedp.CSS(`#complaint-page button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#complaint-page .app-result")),
	)
	if got := run(t, ctx, chromedp.Text(chromedp.CSS("#complaint-page .app-result"))); !strings.Contains(got, "Consultez votre messagerie") {
		t.Fatalf("after sending: %q", got)
	}

	do(t, ctx,
		chromedp.Navigate(mailedLink(t, p, email, confirmLink)),
		chromedp.Click(chromedp.CSS(`#complaint-page button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#complaint-page .app-result")),
	)
	opened := run(t, ctx, chromedp.Text(chromedp.CSS("#complaint-page .app-result")))
	number := regexp.MustCompile(`CP-\d{4}-[A-Z0-9]{4}`).FindString(opened)
	if !strings.Contains(opened, "Votre dossier est ouvert") || number == "" {
		t.Fatalf("after confirming: %q", opened)
	}

	// Two reviewers of the handling group, through the API.
	reviewer := func() *portaltest.Client {
		u := p.SeedUser(t, account.RoleMember, p.Complaints.HandlingGroup())
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, time.Now())
		return c
	}
	first, second := reviewer(), reviewer()
	path := "/api/complaints/cases/" + number
	var d struct{ Domain, Lang string }
	first.JSON("POST", path+"/assign", map[string]string{}, 200, &d)
	if d.Domain != "xn--boulangerie-synthtique-r8b.example" || d.Lang != "fr" {
		t.Errorf("case as filed: %+v", d)
	}
	first.JSON("POST", path+"/notes", map[string]string{"text": "Note interne synthétique."}, 200, nil)
	first.JSON("POST", path+"/messages", map[string]string{"template": "request-information"}, 200, nil)

	status := mailedLink(t, p, email, statusLink)
	do(t, ctx, chromedp.Navigate(status), chromedp.WaitVisible(chromedp.CSS("#complaint-message")))
	page := run(t, ctx, chromedp.Text(chromedp.CSS("#complaint-page")))
	if !strings.Contains(page, "nous avons besoin d'informations complémentaires") || strings.Contains(page, "Note interne") ||
		!strings.Contains(page, "En cours d'examen") {
		t.Errorf("status page with the reviewers' question: %q", page)
	}
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#complaint-message"), "Depuis mars 2025, selon le registre."),
		chromedp.Click(chromedp.CSS(`#complaint-page form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#complaint-page .app-status")),
	)
	if page := run(t, ctx, chromedp.Text(chromedp.CSS("#complaint-page"))); !strings.Contains(page, "Depuis mars 2025") {
		t.Errorf("after answering: %q", page)
	}

	first.JSON("POST", path+"/decision", map[string]string{"outcome": "upheld", "reason": "new-owner"}, 200, nil)
	second.JSON("POST", path+"/decision/confirm", nil, 200, nil)
	do(t, ctx, chromedp.Navigate(status), chromedp.WaitVisible(chromedp.CSS(".complaint-decision")))
	page = run(t, ctx, chromedp.Text(chromedp.CSS("#complaint-page")))
	if !strings.Contains(page, "Réclamation acceptée : le domaine sera retiré de la liste.") ||
		!strings.Contains(page, "nouveau propriétaire") || !strings.Contains(page, "Ce dossier est clos") {
		t.Errorf("decided case: %q", page)
	}
	if n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#complaint-message").length`)); n != 0 {
		t.Error("a closed case still offers the message form")
	}
	screenshot(t, ctx, "complaint-decided-fr")
}

// TestComplaintPagesAccessibility runs axe on every complaints page and
// state, in the four languages: the form empty, refused and sent, the
// confirmation, the opened case, an open and a decided status page, a
// wrong status link, the statistics, and the review queue with an open
// and a decided case.
func TestComplaintPagesAccessibility(t *testing.T) {
	p := portal(t)
	u := p.SeedUser(t, account.RoleMember, p.Complaints.HandlingGroup())
	for i, lang := range []string{"en", "fr", "es", "ar"} {
		t.Run(lang, func(t *testing.T) { complaintPagesAxe(t, p, u, i, lang) })
	}
}

func complaintPagesAxe(t *testing.T, p *portaltest.Portal, reviewerUser portaltest.User, i int, lang string) {
	rev := complaints.Reviewer{User: &reviewerUser.User}
	ctx := browser(t)
	{
		base := p.URL + "/" + lang + "/complaints/"
		do(t, ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#complaint-domain")))
		checkAxe(t, ctx, lang+" form")
		// Refused: a link in the explanation.
		do(t, ctx,
			chromedp.SendKeys(chromedp.CSS("#complaint-domain"), "axe-"+lang+".example"),
			chromedp.SendKeys(chromedp.CSS("#complaint-name"), "Synthetic Tester"),
			chromedp.SendKeys(chromedp.CSS("#complaint-email"), fmt.Sprintf("axe-%s-%d@example.org", lang, time.Now().UnixNano()%1e9)),
			chromedp.SetValue(chromedp.CSS("#complaint-relation"), "administrator"),
			chromedp.SendKeys(chromedp.CSS("#complaint-explanation"), "Synthetic text pointing at https://elsewhere.example/page."),
			chromedp.Click(chromedp.CSS(`#complaint-page button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#complaint-error")),
		)
		checkAxe(t, ctx, lang+" form refused")
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS("#complaint-explanation"), "Synthetic text: the domain changed owner and is a shop."),
			chromedp.Click(chromedp.CSS(`#complaint-page button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#complaint-page .app-result")),
		)
		checkAxe(t, ctx, lang+" form sent")

		// A case filed from another address, opened in the browser.
		email := fmt.Sprintf("axe-case-%s-%d@example.org", lang, time.Now().UnixNano()%1e9)
		f := complaints.Form{Lang: lang, Domain: fmt.Sprintf("axe-case-%d.example", i), Name: "Synthetic Owner", Email: email,
			Relation: "owner", Explanation: "Synthetic explanation for the accessibility check of the pages."}
		if err := p.Complaints.File(t.Context(), f, complaints.Client{IP: fmt.Sprintf("192.0.2.%d", 10+i)}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(mailedLink(t, p, email, confirmLink)), chromedp.WaitVisible(chromedp.CSS(`#complaint-page button`)))
		checkAxe(t, ctx, lang+" confirmation")
		do(t, ctx, chromedp.Click(chromedp.CSS(`#complaint-page button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#complaint-page .app-result")))
		checkAxe(t, ctx, lang+" case opened")
		number := regexp.MustCompile(`CP-\d{4}-[A-Z0-9]{4}`).FindString(run(t, ctx, chromedp.Text(chromedp.CSS("#complaint-page"))))
		if _, err := p.Complaints.Message(t.Context(), rev, number, "acknowledgement", ""); err != nil {
			t.Fatal(err)
		}
		status := mailedLink(t, p, email, statusLink)
		do(t, ctx, chromedp.Navigate(status), chromedp.WaitVisible(chromedp.CSS("#complaint-message")))
		checkAxe(t, ctx, lang+" status, open")
		if _, err := p.Complaints.Decide(t.Context(), rev, number, complaints.Decision{Outcome: complaints.NoLongerListed, Reason: "already-removed"}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(status), chromedp.WaitVisible(chromedp.CSS(".complaint-decision")))
		checkAxe(t, ctx, lang+" status, decided")
		do(t, ctx, chromedp.Navigate(base+"status/?token=wrong"), chromedp.WaitVisible(chromedp.CSS("#complaint-page .app-alert")))
		checkAxe(t, ctx, lang+" status, wrong link")

		do(t, ctx, chromedp.Navigate(base+"statistics/"), chromedp.WaitVisible(chromedp.CSS(".complaint-chart svg")))
		checkAxe(t, ctx, lang+" statistics")

		// The review queue and a case, as a member of the handling group.
		// A reviewer of their own: a TOTP code is accepted once.
		loginInBrowser(t, ctx, p, p.SeedUser(t, account.RoleMember, p.Complaints.HandlingGroup()), "/"+lang+"/complaints/queue/")
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".complaint-queue")))
		checkAxe(t, ctx, lang+" queue")
		open := fmt.Sprintf("axe-open-%s-%d@example.org", lang, time.Now().UnixNano()%1e9)
		if err := p.Complaints.File(t.Context(), complaints.Form{Lang: lang, Domain: fmt.Sprintf("axe-open-%d.example", i), Name: "Synthetic Owner",
			Email: open, Relation: "owner", Explanation: "Synthetic explanation for the accessibility check of the queue."},
			complaints.Client{IP: fmt.Sprintf("192.0.2.%d", 20+i)}); err != nil {
			t.Fatal(err)
		}
		opened, err := p.Complaints.Confirm(t.Context(), strings.TrimPrefix(regexp.MustCompile(`token=\S+`).FindString(mailedLink(t, p, open, confirmLink)), "token="))
		if err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(base+"case/?number="+opened.Case.Number), chromedp.WaitVisible(chromedp.CSS("#case-decision")))
		checkAxe(t, ctx, lang+" case")
		do(t, ctx, chromedp.Navigate(base+"case/?number="+number), chromedp.WaitVisible(chromedp.CSS("#case-heading")))
		checkAxe(t, ctx, lang+" decided case")
		for _, page := range []string{"/" + lang + "/access-blocking/", "/" + lang + "/access-blocking/stop-page/"} {
			do(t, ctx, chromedp.Navigate(p.URL+page), chromedp.WaitVisible(chromedp.CSS(`main a[href="/`+lang+`/complaints/"]`)))
		}
	}
}
