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
	for i, lesson := range lessons {
		// Saved once the progress line counts it.
		do(t, ctx,
			chromedp.Navigate(p.URL+trainingModule+lesson+"/"),
			chromedp.WaitVisible(chromedp.CSS("#training-done")),
			chromedp.Click(chromedp.CSS("#training-done")),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(".training-progress-text").textContent === "%d of 5 lessons done"`, i+1)),
		)
	}
	// Saved by the server, not in this browser.
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+lessons[0]+"/"),
		chromedp.WaitVisible(chromedp.CSS("#training-done:checked")),
	)
	progress := run(t, ctx, chromedp.Text(chromedp.CSS(".training-progress-text")))
	note := run(t, ctx, chromedp.Text(chromedp.CSS(".training-progress-note")))
	stored := run(t, ctx, chromedp.Evaluate[string](`String(localStorage.getItem("portal-training"))`))
	if progress != "5 of 5 lessons done" || !strings.Contains(note, "account") {
		t.Errorf("lesson page: %q, note %q", progress, note)
	}
	if stored != "null" {
		t.Errorf("a logged-in member's progress went to localStorage: %s", stored)
	}

	// First attempt: 3 of 5 (terminology and signs wrong), not passed.
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitVisible(chromedp.CSS("form[data-quiz] button[type=submit]")),
		answerQuiz("terminology-a", "signs-a", "disclosure-a", "disclosure-c", "reporting-b", "where-to-report-a", "where-to-report-b"),
		chromedp.WaitVisible(chromedp.CSS("#quiz-terminology-feedback")),
	)
	result := run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
	wrong := run(t, ctx, chromedp.Text(chromedp.CSS("#quiz-terminology-feedback")))
	if !strings.Contains(result, "3 of 5") || !strings.Contains(result, "60%") || !strings.HasPrefix(wrong, "Not quite.") {
		t.Errorf("first attempt: %q; feedback %q", result, wrong)
	}
	completions := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-training-completion]:not([hidden])").length`))
	if completions != 0 {
		t.Error("a completion after a failed quiz")
	}

	// Retry with the answer key (quiz.yaml): passed, completion issued.
	do(t, ctx,
		chromedp.Click(chromedp.CSS("[data-quiz-retry]")),
		answerQuiz(answerKey()...),
		chromedp.WaitVisible(chromedp.CSS("[data-completion-code]")),
	)
	result = run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
	code := run(t, ctx, chromedp.Text(chromedp.CSS("[data-completion-code]")))
	if !strings.Contains(result, "5 of 5") || !strings.Contains(result, "100%") {
		t.Errorf("second attempt: %q", result)
	}
	if !regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$`).MatchString(code) {
		t.Fatalf("completion code %q", code)
	}
	checkAxe(t, ctx, "quiz with a completion")

	// The module page: all lessons done, the best score and the code.
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule),
		chromedp.WaitVisible(chromedp.CSS("[data-completion-code]")),
	)
	progress = run(t, ctx, chromedp.Text(chromedp.CSS(".training-progress-text")))
	best := run(t, ctx, chromedp.Text(chromedp.CSS("[data-training-best]")))
	shown := run(t, ctx, chromedp.Text(chromedp.CSS("[data-completion-code]")))
	href := run(t, ctx, chromedp.AttributeValue(chromedp.CSS(".training-completion a"), "href")).Value
	if progress != "5 of 5 lessons done" || !strings.Contains(best, "100%") || shown != code {
		t.Errorf("module page: %q, best %q, code %q (want %s)", progress, best, shown, code)
	}
	if href != "/en/training/verify/?code="+code {
		t.Errorf("verification link %q", href)
	}
	checkAxe(t, ctx, "module page with a completion")

	// The verification page, opened from the link: anyone may use it.
	anon := browser(t)
	do(t, anon,
		chromedp.Navigate(p.URL+href),
		chromedp.WaitVisible(chromedp.CSS("#verify-result")),
	)
	module := run(t, anon, chromedp.Text(chromedp.CSS(`#verify-result [data-value="moduleTitle"]`)))
	learner := run(t, anon, chromedp.Text(chromedp.CSS(`#verify-result [data-value="learnerName"]`)))
	if !strings.Contains(module, "Recognising") || learner != name {
		t.Errorf("verification: module %q, learner %q", module, learner)
	}
	checkAxe(t, anon, "verification page with a result")
	forged := "0000-0000-0000-0000"
	if code == forged {
		forged = "1111-1111-1111-1111"
	}
	do(t, anon,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("verify-code").value = ""`),
		chromedp.SendKeys(chromedp.CSS("#verify-code"), forged+"\n"),
		chromedp.Poll[chromedp.Void](`document.getElementById("app-alert").textContent.length > 0`),
	)
	alert := run(t, anon, chromedp.Text(chromedp.CSS("#app-alert")))
	resultHidden := run(t, anon, chromedp.Evaluate[bool](`document.getElementById("verify-result").hidden`))
	if !strings.Contains(alert, "No completion has this code") || !resultHidden {
		t.Errorf("forged code: alert %q, result hidden %v", alert, resultHidden)
	}
	checkAxe(t, anon, "verification page, code not found")
	// Arabic, right to left.
	do(t, anon,
		chromedp.Navigate(p.URL+"/ar/training/verify/?code="+code),
		chromedp.WaitVisible(chromedp.CSS("#verify-result")),
	)
	checkAxe(t, anon, "Arabic verification page")

	// Statistics: a reader who is not logged in is told to log in.
	do(t, anon,
		chromedp.Navigate(p.URL+"/en/training/stats/"),
		chromedp.WaitVisible(chromedp.CSS("#stats-login")),
	)
	login := run(t, anon, chromedp.Text(chromedp.CSS("#stats-login")))
	if !strings.Contains(login, "Log in as a trainer") {
		t.Errorf("stats page, anonymous: %q", login)
	}
	// A member who is not a trainer is refused.
	do(t, ctx,
		chromedp.Navigate(p.URL+"/en/training/stats/"),
		chromedp.WaitVisible(chromedp.CSS("#app-forbidden")),
	)
	forbidden := run(t, ctx, chromedp.Text(chromedp.CSS("#app-forbidden")))
	if !strings.Contains(forbidden, "Only trainers") {
		t.Errorf("stats page, member: %q", forbidden)
	}

	// A trainer sees the completion in the module's statistics.
	trainer := p.SeedUser(t, account.RoleTrainer, "trainers")
	tctx := browser(t)
	loginInBrowser(t, tctx, p, trainer, "/en/training/stats/")
	do(t, tctx,
		chromedp.Navigate(p.URL+"/en/training/stats/?module=recognising-and-reporting"),
		chromedp.WaitVisible(chromedp.CSS("#stats-content")),
	)
	rows := run(t, tctx, chromedp.Text(chromedp.CSS("#stats-completions-body")))
	completed := run(t, tctx, chromedp.Text(chromedp.CSS(`#stats-content [data-value="completed"]`)))
	csv := run(t, tctx, chromedp.AttributeValue(chromedp.CSS("#stats-csv"), "href")).Value
	if !strings.Contains(rows, name) || completed == "0" {
		t.Errorf("statistics: completed %q, completions %q; want %s", completed, rows, name)
	}
	if csv != "/api/training/stats.csv?module=recognising-and-reporting" {
		t.Errorf("CSV link %q", csv)
	}
	checkAxe(t, tctx, "training statistics")
	do(t, tctx,
		chromedp.Navigate(p.URL+"/ar/training/stats/?module=recognising-and-reporting"),
		chromedp.WaitVisible(chromedp.CSS("#stats-content")),
	)
	checkAxe(t, tctx, "Arabic training statistics")
}
