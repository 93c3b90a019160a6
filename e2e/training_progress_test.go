package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/account"
)

// TestTrainingProgressWithAccount: a member logs in, marks every lesson of
// a public module done, fails the quiz and passes it on a retry (graded by
// the server), and gets a completion code; the verification page accepts
// that code and refuses a forged one; a trainer sees the completion in the
// module's statistics. axe-core checks the new pages on the way.
func TestTrainingProgressWithAccount(t *testing.T) {
	p := portal(t)
	name := fmt.Sprintf("Learner %d", time.Now().UnixNano())
	member := p.SeedNamedUser(t, name, account.RoleMember)
	ctx := browser(t)
	loginInBrowser(t, ctx, p, member, "/en/account/")

	lessons := []string{"01-what-it-is", "02-when-a-child-may-need-help", "03-when-a-child-tells-you", "04-reporting-material", "05-after-a-report"}
	var progress, note string
	for i, lesson := range lessons {
		// Saved once the progress line counts it.
		run(t, ctx,
			chromedp.Navigate(p.URL+trainingModule+lesson+"/"),
			chromedp.WaitVisible("#training-done", chromedp.ByQuery),
			chromedp.Click("#training-done", chromedp.ByQuery),
			chromedp.Poll(fmt.Sprintf(`document.querySelector(".training-progress-text").textContent === "%d of 5 lessons done"`, i+1), nil),
		)
	}
	// Saved by the server, not in this browser.
	var stored string
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+lessons[0]+"/"),
		chromedp.WaitVisible("#training-done:checked", chromedp.ByQuery),
		chromedp.Text(".training-progress-text", &progress, chromedp.ByQuery),
		chromedp.Text(".training-progress-note", &note, chromedp.ByQuery),
		chromedp.Evaluate(`String(localStorage.getItem("portal-training"))`, &stored),
	)
	if progress != "5 of 5 lessons done" || !strings.Contains(note, "account") {
		t.Errorf("lesson page: %q, note %q", progress, note)
	}
	if stored != "null" {
		t.Errorf("a logged-in member's progress went to localStorage: %s", stored)
	}

	// First attempt: 3 of 5 (terminology and signs wrong), not passed.
	var result, wrong string
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitVisible("form[data-quiz] button[type=submit]", chromedp.ByQuery),
		answerQuiz("terminology-a", "signs-a", "disclosure-a", "disclosure-c", "reporting-b", "where-to-report-a", "where-to-report-b"),
		chromedp.WaitVisible("#quiz-terminology-feedback", chromedp.ByQuery),
		chromedp.Text("[data-quiz-result]", &result, chromedp.ByQuery),
		chromedp.Text("#quiz-terminology-feedback", &wrong, chromedp.ByQuery),
	)
	if !strings.Contains(result, "3 of 5") || !strings.Contains(result, "60%") || !strings.HasPrefix(wrong, "Not quite.") {
		t.Errorf("first attempt: %q; feedback %q", result, wrong)
	}
	var completions int
	run(t, ctx, chromedp.Evaluate(`document.querySelectorAll("[data-training-completion]:not([hidden])").length`, &completions))
	if completions != 0 {
		t.Error("a completion after a failed quiz")
	}

	// Retry with the answer key (quiz.yaml): passed, completion issued.
	var code string
	run(t, ctx,
		chromedp.Click("[data-quiz-retry]", chromedp.ByQuery),
		answerQuiz(answerKey()...),
		chromedp.WaitVisible("[data-completion-code]", chromedp.ByQuery),
		chromedp.Text("[data-quiz-result]", &result, chromedp.ByQuery),
		chromedp.Text("[data-completion-code]", &code, chromedp.ByQuery),
	)
	if !strings.Contains(result, "5 of 5") || !strings.Contains(result, "100%") {
		t.Errorf("second attempt: %q", result)
	}
	if !regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$`).MatchString(code) {
		t.Fatalf("completion code %q", code)
	}
	checkAxe(t, ctx, "quiz with a completion")

	// The module page: all lessons done, the best score and the code.
	var best, shown, href string
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule),
		chromedp.WaitVisible("[data-completion-code]", chromedp.ByQuery),
		chromedp.Text(".training-progress-text", &progress, chromedp.ByQuery),
		chromedp.Text("[data-training-best]", &best, chromedp.ByQuery),
		chromedp.Text("[data-completion-code]", &shown, chromedp.ByQuery),
		chromedp.AttributeValue(".training-completion a", "href", &href, nil, chromedp.ByQuery),
	)
	if progress != "5 of 5 lessons done" || !strings.Contains(best, "100%") || shown != code {
		t.Errorf("module page: %q, best %q, code %q (want %s)", progress, best, shown, code)
	}
	if href != "/en/training/verify/?code="+code {
		t.Errorf("verification link %q", href)
	}
	checkAxe(t, ctx, "module page with a completion")

	// The verification page, opened from the link: anyone may use it.
	anon := browser(t)
	var module, learner string
	run(t, anon,
		chromedp.Navigate(p.URL+href),
		chromedp.WaitVisible("#verify-result", chromedp.ByQuery),
		chromedp.Text(`#verify-result [data-value="moduleTitle"]`, &module, chromedp.ByQuery),
		chromedp.Text(`#verify-result [data-value="learnerName"]`, &learner, chromedp.ByQuery),
	)
	if !strings.Contains(module, "Recognising") || learner != name {
		t.Errorf("verification: module %q, learner %q", module, learner)
	}
	checkAxe(t, anon, "verification page with a result")
	forged := "0000-0000-0000-0000"
	if code == forged {
		forged = "1111-1111-1111-1111"
	}
	var alert string
	var resultHidden bool
	run(t, anon,
		chromedp.Evaluate(`document.getElementById("verify-code").value = ""`, nil),
		chromedp.SendKeys("#verify-code", forged+"\n", chromedp.ByQuery),
		chromedp.Poll(`document.getElementById("app-alert").textContent.length > 0`, nil),
		chromedp.Text("#app-alert", &alert, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("verify-result").hidden`, &resultHidden),
	)
	if !strings.Contains(alert, "No completion has this code") || !resultHidden {
		t.Errorf("forged code: alert %q, result hidden %v", alert, resultHidden)
	}
	checkAxe(t, anon, "verification page, code not found")
	// Arabic, right to left.
	run(t, anon,
		chromedp.Navigate(p.URL+"/ar/training/verify/?code="+code),
		chromedp.WaitVisible("#verify-result", chromedp.ByQuery),
	)
	checkAxe(t, anon, "Arabic verification page")

	// Statistics: a reader who is not logged in is told to log in.
	var login string
	run(t, anon,
		chromedp.Navigate(p.URL+"/en/training/stats/"),
		chromedp.WaitVisible("#stats-login", chromedp.ByQuery),
		chromedp.Text("#stats-login", &login, chromedp.ByQuery),
	)
	if !strings.Contains(login, "Log in as a trainer") {
		t.Errorf("stats page, anonymous: %q", login)
	}
	// A member who is not a trainer is refused.
	var forbidden string
	run(t, ctx,
		chromedp.Navigate(p.URL+"/en/training/stats/"),
		chromedp.WaitVisible("#app-forbidden", chromedp.ByQuery),
		chromedp.Text("#app-forbidden", &forbidden, chromedp.ByQuery),
	)
	if !strings.Contains(forbidden, "Only trainers") {
		t.Errorf("stats page, member: %q", forbidden)
	}

	// A trainer sees the completion in the module's statistics.
	trainer := p.SeedUser(t, account.RoleTrainer, "trainers")
	tctx := browser(t)
	loginInBrowser(t, tctx, p, trainer, "/en/training/stats/")
	var rows, csv, completed string
	run(t, tctx,
		chromedp.Navigate(p.URL+"/en/training/stats/?module=recognising-and-reporting"),
		chromedp.WaitVisible("#stats-content", chromedp.ByQuery),
		chromedp.Text("#stats-completions-body", &rows, chromedp.ByQuery),
		chromedp.Text(`#stats-content [data-value="completed"]`, &completed, chromedp.ByQuery),
		chromedp.AttributeValue("#stats-csv", "href", &csv, nil, chromedp.ByQuery),
	)
	if !strings.Contains(rows, name) || completed == "0" {
		t.Errorf("statistics: completed %q, completions %q; want %s", completed, rows, name)
	}
	if csv != "/api/training/stats.csv?module=recognising-and-reporting" {
		t.Errorf("CSV link %q", csv)
	}
	checkAxe(t, tctx, "training statistics")
	run(t, tctx,
		chromedp.Navigate(p.URL+"/ar/training/stats/?module=recognising-and-reporting"),
		chromedp.WaitVisible("#stats-content", chromedp.ByQuery),
	)
	checkAxe(t, tctx, "Arabic training statistics")
}
