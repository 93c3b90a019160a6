package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"portal/site"
)

const trainingModule = "/en/training/recognising-and-reporting/"

// screenshot saves a full-page PNG when TRAINING_SCREENSHOTS names a folder
// (for looking at the pages; nothing is compared).
// answerKey is every right answer of the "Recognising and reporting" quiz
// (its quiz.yaml).
func answerKey() []string {
	return []string{"terminology-b", "signs-c", "disclosure-a", "disclosure-c", "reporting-b", "where-to-report-a", "where-to-report-b"}
}

// answerQuiz picks the given options of the quiz on the page, by their
// IDs after "quiz-" (question, then option letter), and submits it.
func answerQuiz(picks ...string) chromedp.Action {
	var tasks chromedp.Tasks
	for _, id := range picks {
		tasks = append(tasks, chromedp.Click("#quiz-"+id, chromedp.ByQuery))
	}
	return append(tasks, chromedp.Click("form[data-quiz] button[type=submit]", chromedp.ByQuery))
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("TRAINING_SCREENSHOTS")
	if dir == "" {
		return
	}
	var buf []byte
	run(t, ctx, chromedp.FullScreenshot(&buf, 100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTrainingAccessibility(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	for _, path := range []string{
		"/en/training/", "/fr/training/", "/en/glossary/",
		trainingModule, trainingModule + "02-when-a-child-may-need-help/", trainingModule + "quiz/", trainingModule + "handout/",
		"/ar/training/recognising-and-reporting/", "/ar/training/recognising-and-reporting/03-when-a-child-tells-you/",
		"/ar/training/recognising-and-reporting/quiz/", "/ar/training/recognising-and-reporting/handout/",
		"/en/training/notices-and-ncbs/02-notices-and-alerts/", "/en/training/notices-and-ncbs/handout/",
	} {
		run(t, ctx, chromedp.Navigate(p.URL+path), chromedp.WaitReady("main", chromedp.ByQuery))
		for _, v := range axe(t, ctx) {
			t.Errorf("%s: %s", path, v)
		}
	}
	// A quiz after grading, with its feedback shown.
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitVisible("form[data-quiz] button[type=submit]", chromedp.ByQuery),
		answerQuiz("terminology-a"),
		chromedp.WaitVisible("#quiz-terminology-feedback", chromedp.ByQuery),
	)
	for _, v := range axe(t, ctx) {
		t.Errorf("graded quiz: %s", v)
	}
}

func TestQuizGradesAndRetries(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	var answersHidden, retryHidden bool
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitVisible("form[data-quiz] button[type=submit]", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("[data-quiz-answers]").hidden`, &answersHidden),
	)
	if !answersHidden {
		t.Error("with JavaScript, the answers section should wait for the learner's answers")
	}
	// Four right answers and one wrong (terminology: a instead of b).
	var result, wrong, right, best string
	run(t, ctx,
		answerQuiz("terminology-a", "signs-c", "disclosure-a", "disclosure-c", "reporting-b", "where-to-report-a", "where-to-report-b"),
		chromedp.WaitVisible("#quiz-signs-feedback", chromedp.ByQuery),
		chromedp.Text("[data-quiz-result]", &result, chromedp.ByQuery),
		chromedp.Text("#quiz-terminology-feedback", &wrong, chromedp.ByQuery),
		chromedp.Text("#quiz-signs-feedback", &right, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("[data-quiz-retry]").hidden`, &retryHidden),
		chromedp.Evaluate(`localStorage.getItem("portal-training")`, &best),
	)
	if !strings.Contains(result, "4 of 5") || !strings.Contains(result, "80%") {
		t.Errorf("result %q, want 4 of 5 (80%%)", result)
	}
	if !strings.HasPrefix(wrong, "Not quite.") || !strings.Contains(wrong, "Correct answer:") || !strings.Contains(wrong, "records a crime against a real child") {
		t.Errorf("feedback on a wrong answer: %q", wrong)
	}
	if !strings.HasPrefix(right, "Correct.") || !strings.Contains(right, "Signs are not proof") {
		t.Errorf("feedback on a right answer: %q", right)
	}
	if retryHidden {
		t.Error("no retry button after grading")
	}
	if !strings.Contains(best, `"recognising-and-reporting":{`) || !strings.Contains(best, `"best":80`) {
		t.Errorf("stored progress %s, want the best score", best)
	}
	screenshot(t, ctx, "quiz-graded")

	// Retry: answers and feedback cleared; a better score replaces the best.
	var checked int
	var feedbackHidden bool
	run(t, ctx,
		chromedp.Click("[data-quiz-retry]", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("form[data-quiz] input:checked").length`, &checked),
		chromedp.Evaluate(`document.getElementById("quiz-terminology-feedback").hidden`, &feedbackHidden),
	)
	if checked != 0 || !feedbackHidden {
		t.Errorf("after retry: %d answers still checked, feedback hidden %v", checked, feedbackHidden)
	}
	run(t, ctx,
		answerQuiz(answerKey()...),
		chromedp.WaitVisible("#quiz-signs-feedback", chromedp.ByQuery),
		chromedp.Text("[data-quiz-result]", &result, chromedp.ByQuery),
		chromedp.Navigate(p.URL+trainingModule),
		chromedp.WaitVisible("[data-training-best]", chromedp.ByQuery),
		chromedp.Text("[data-training-best]", &best, chromedp.ByQuery),
	)
	if !strings.Contains(result, "5 of 5") || !strings.Contains(best, "100%") {
		t.Errorf("second attempt %q; module page says %q", result, best)
	}
}

func TestLessonProgress(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	var progress, stored, marker string
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"01-what-it-is/"),
		chromedp.WaitVisible("#training-done", chromedp.ByQuery),
		chromedp.Click("#training-done", chromedp.ByQuery),
		chromedp.Navigate(p.URL+trainingModule+"03-when-a-child-tells-you/"),
		chromedp.WaitVisible("#training-done", chromedp.ByQuery),
		chromedp.Click("#training-done", chromedp.ByQuery),
		chromedp.Text(".training-progress-text", &progress, chromedp.ByQuery),
		chromedp.Evaluate(`localStorage.getItem("portal-training")`, &stored),
	)
	if progress != "2 of 5 lessons done" {
		t.Errorf("lesson page progress %q", progress)
	}
	if stored != `{"v":1,"modules":{"recognising-and-reporting":{"done":{"01-what-it-is":true,"03-when-a-child-tells-you":true}}}}` {
		t.Errorf("stored %s: only lesson flags, no personal data", stored)
	}
	screenshot(t, ctx, "lesson")
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule),
		chromedp.WaitVisible(".training-progress-text", chromedp.ByQuery),
		chromedp.Text(".training-progress-text", &progress, chromedp.ByQuery),
		chromedp.Text(`li[data-lesson="03-when-a-child-tells-you"] .training-done-marker`, &marker, chromedp.ByQuery),
	)
	if progress != "2 of 5 lessons done" || marker != "(done)" {
		t.Errorf("module page: %q, marker %q", progress, marker)
	}
	// Unticking a lesson takes it back.
	run(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"01-what-it-is/"),
		chromedp.WaitVisible("#training-done:checked", chromedp.ByQuery),
		chromedp.Click("#training-done", chromedp.ByQuery),
		chromedp.Text(".training-progress-text", &progress, chromedp.ByQuery),
	)
	if progress != "1 of 5 lessons done" {
		t.Errorf("after unticking: %q", progress)
	}
}

// TestQuizWithoutJavaScript: the questions, then the answers with their
// explanations; no button that would do nothing.
func TestQuizWithoutJavaScript(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	var answers string
	var actionsHidden, answersVisible bool
	run(t, ctx,
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitReady("main", chromedp.ByQuery),
		chromedp.Evaluate(`1`, nil),
	)
	run(t, ctx,
		chromedp.Text("#quiz-answers", &answers, chromedp.ByQuery),
		chromedp.JavascriptAttribute("[data-quiz-actions]", "hidden", &actionsHidden, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.getElementById("quiz-answers")).display !== "none"`, &answersVisible),
	)
	if !answersVisible || !strings.Contains(answers, "Correct answer:") || !strings.Contains(answers, "Signs are not proof") {
		t.Errorf("without JavaScript the answers should follow the questions: visible %v, %q", answersVisible, answers)
	}
	if !actionsHidden {
		t.Error("without JavaScript the check button should not be shown")
	}
	screenshot(t, ctx, "quiz-noscript")
}

// TestHandouts: the public handout, and a members-only handout from the
// members build (served here as the API will serve it, under /members/),
// checked by axe, on screen and printed.
func TestHandouts(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(p.URL+trainingModule+"handout/"), chromedp.WaitVisible("[data-handout-print] button", chromedp.ByQuery))
	screenshot(t, ctx, "handout")
	run(t, ctx, emulation.SetEmulatedMedia().WithMedia("print"))
	screenshot(t, ctx, "handout-print")
	run(t, ctx, emulation.SetEmulatedMedia().WithMedia(""))

	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var log bytes.Buffer
	if err := site.Build(context.Background(), site.BuildOptions{Root: root, Destination: out, Environment: "members", Stdout: &log, Stderr: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	members := httptest.NewServer(http.StripPrefix("/members", http.FileServer(http.Dir(out))))
	defer members.Close()
	const handout = "/members/en/training/icse-victim-identification-workflow/handout/"
	for _, path := range []string{
		"/members/en/training/icse-victim-identification-workflow/",
		"/members/en/training/icse-victim-identification-workflow/02-access-and-safeguards/",
		handout,
	} {
		run(t, ctx, chromedp.Navigate(members.URL+path), chromedp.WaitReady("main", chromedp.ByQuery))
		for _, v := range axe(t, ctx) {
			t.Errorf("%s: %s", path, v)
		}
	}
	var label string
	var footerDisplay string
	run(t, ctx,
		chromedp.Navigate(members.URL+handout),
		chromedp.WaitReady(".handout-footer", chromedp.ByQuery),
		// What the members' API will do when it serves the page.
		chromedp.Evaluate(`document.querySelector("[data-reader-name]").textContent = "A. Reader"; document.querySelector("[data-print-date]").textContent = "2026-11-26"`, nil),
		chromedp.Text(".handout-footer .tlp", &label, chromedp.ByQuery),
		emulation.SetEmulatedMedia().WithMedia("print"),
		chromedp.Evaluate(`getComputedStyle(document.querySelector(".handout-pages > tfoot")).display`, &footerDisplay),
	)
	// A table footer group: browsers repeat it at the bottom of every page.
	if label != "TLP:AMBER" || footerDisplay != "table-footer-group" {
		t.Errorf("members' handout footer: label %q, display in print %q (want TLP:AMBER, table-footer-group)", label, footerDisplay)
	}
	screenshot(t, ctx, "members-handout-print")
}
