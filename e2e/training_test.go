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

// answerKey is every right answer of the "Recognising and reporting" quiz
// (its quiz.yaml).
func answerKey() []string {
	return []string{"terminology-b", "signs-c", "disclosure-a", "disclosure-c", "reporting-b", "where-to-report-a", "where-to-report-b"}
}

// answerQuiz picks the given options of the quiz on the page, by their
// IDs after "quiz-" (question, then option letter), and submits it.
func answerQuiz(picks ...string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for _, id := range picks {
		steps = append(steps, chromedp.Click(chromedp.CSS("#quiz-"+id)))
	}
	return chromedp.Steps(append(steps, chromedp.Click(chromedp.CSS("form[data-quiz] button[type=submit]")))...)
}

// screenshot saves a full-page PNG when TRAINING_SCREENSHOTS names a folder
// (for looking at the pages; nothing is compared).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("TRAINING_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf := run(t, ctx, chromedp.FullScreenshot(100))
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
		do(t, ctx, chromedp.Navigate(p.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
		for _, v := range axe(t, ctx) {
			t.Errorf("%s: %s", path, v)
		}
	}
	// A quiz after grading, with its feedback shown.
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitVisible(chromedp.CSS("form[data-quiz] button[type=submit]")),
		answerQuiz("terminology-a"),
		chromedp.WaitVisible(chromedp.CSS("#quiz-terminology-feedback")),
	)
	for _, v := range axe(t, ctx) {
		t.Errorf("graded quiz: %s", v)
	}
}

func TestQuizGradesAndRetries(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitVisible(chromedp.CSS("form[data-quiz] button[type=submit]")),
	)
	answersHidden := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("[data-quiz-answers]").hidden`))
	if !answersHidden {
		t.Error("with JavaScript, the answers section should wait for the learner's answers")
	}
	// Four right answers and one wrong (terminology: a instead of b).
	do(t, ctx,
		answerQuiz("terminology-a", "signs-c", "disclosure-a", "disclosure-c", "reporting-b", "where-to-report-a", "where-to-report-b"),
		chromedp.WaitVisible(chromedp.CSS("#quiz-signs-feedback")),
	)
	result := run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
	wrong := run(t, ctx, chromedp.Text(chromedp.CSS("#quiz-terminology-feedback")))
	right := run(t, ctx, chromedp.Text(chromedp.CSS("#quiz-signs-feedback")))
	retryHidden := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("[data-quiz-retry]").hidden`))
	best := run(t, ctx, chromedp.Evaluate[string](`localStorage.getItem("portal-training")`))
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
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-quiz-retry]")))
	checked := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("form[data-quiz] input:checked").length`))
	feedbackHidden := run(t, ctx, chromedp.Evaluate[bool](`document.getElementById("quiz-terminology-feedback").hidden`))
	if checked != 0 || !feedbackHidden {
		t.Errorf("after retry: %d answers still checked, feedback hidden %v", checked, feedbackHidden)
	}
	do(t, ctx,
		answerQuiz(answerKey()...),
		chromedp.WaitVisible(chromedp.CSS("#quiz-signs-feedback")),
	)
	result = run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule),
		chromedp.WaitVisible(chromedp.CSS("[data-training-best]")),
	)
	best = run(t, ctx, chromedp.Text(chromedp.CSS("[data-training-best]")))
	if !strings.Contains(result, "5 of 5") || !strings.Contains(best, "100%") {
		t.Errorf("second attempt %q; module page says %q", result, best)
	}
}

func TestLessonProgress(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"01-what-it-is/"),
		chromedp.WaitVisible(chromedp.CSS("#training-done")),
		chromedp.Click(chromedp.CSS("#training-done")),
		chromedp.Navigate(p.URL+trainingModule+"03-when-a-child-tells-you/"),
		chromedp.WaitVisible(chromedp.CSS("#training-done")),
		chromedp.Click(chromedp.CSS("#training-done")),
	)
	progress := run(t, ctx, chromedp.Text(chromedp.CSS(".training-progress-text")))
	stored := run(t, ctx, chromedp.Evaluate[string](`localStorage.getItem("portal-training")`))
	if progress != "2 of 5 lessons done" {
		t.Errorf("lesson page progress %q", progress)
	}
	if stored != `{"v":1,"modules":{"recognising-and-reporting":{"done":{"01-what-it-is":true,"03-when-a-child-tells-you":true}}}}` {
		t.Errorf("stored %s: only lesson flags, no personal data", stored)
	}
	screenshot(t, ctx, "lesson")
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule),
		chromedp.WaitVisible(chromedp.CSS(".training-progress-text")),
	)
	progress = run(t, ctx, chromedp.Text(chromedp.CSS(".training-progress-text")))
	marker := run(t, ctx, chromedp.Text(chromedp.CSS(`li[data-lesson="03-when-a-child-tells-you"] .training-done-marker`)))
	if progress != "2 of 5 lessons done" || marker != "(done)" {
		t.Errorf("module page: %q, marker %q", progress, marker)
	}
	// Unticking a lesson takes it back.
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"01-what-it-is/"),
		chromedp.WaitVisible(chromedp.CSS("#training-done:checked")),
		chromedp.Click(chromedp.CSS("#training-done")),
	)
	progress = run(t, ctx, chromedp.Text(chromedp.CSS(".training-progress-text")))
	if progress != "1 of 5 lessons done" {
		t.Errorf("after unticking: %q", progress)
	}
}

// TestQuizWithoutJavaScript: the questions, then the answers with their
// explanations; no button that would do nothing.
func TestQuizWithoutJavaScript(t *testing.T) {
	p := portal(t)
	ctx := browser(t)
	call(t, ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	do(t, ctx,
		chromedp.Navigate(p.URL+trainingModule+"quiz/"),
		chromedp.WaitReady(chromedp.CSS("main")),
		chromedp.Evaluate[chromedp.Void](`1`),
	)
	answers := run(t, ctx, chromedp.Text(chromedp.CSS("#quiz-answers")))
	actionsHidden := run(t, ctx, chromedp.JavascriptAttribute[bool](chromedp.CSS("[data-quiz-actions]"), "hidden"))
	answersVisible := run(t, ctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("quiz-answers")).display !== "none"`))
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
	do(t, ctx, chromedp.Navigate(p.URL+trainingModule+"handout/"), chromedp.WaitVisible(chromedp.CSS("[data-handout-print] button")))
	screenshot(t, ctx, "handout")
	call(t, ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	screenshot(t, ctx, "handout-print")
	call(t, ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""})

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
		do(t, ctx, chromedp.Navigate(members.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
		for _, v := range axe(t, ctx) {
			t.Errorf("%s: %s", path, v)
		}
	}
	do(t, ctx,
		chromedp.Navigate(members.URL+handout),
		chromedp.WaitReady(chromedp.CSS(".handout-footer")),
		// What the members' API will do when it serves the page.
		chromedp.Evaluate[chromedp.Void](`document.querySelector("[data-reader-name]").textContent = "A. Reader"; document.querySelector("[data-print-date]").textContent = "2026-11-26"`),
	)
	label := run(t, ctx, chromedp.Text(chromedp.CSS(".handout-footer .tlp")))
	call(t, ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	footerDisplay := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".handout-pages > tfoot")).display`))
	// A table footer group: browsers repeat it at the bottom of every page.
	if label != "TLP:AMBER" || footerDisplay != "table-footer-group" {
		t.Errorf("members' handout footer: label %q, display in print %q (want TLP:AMBER, table-footer-group)", label, footerDisplay)
	}
	screenshot(t, ctx, "members-handout-print")
}
