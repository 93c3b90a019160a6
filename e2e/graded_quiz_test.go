package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"portal/site"
)

// gradedQuizPath is the public module whose quiz the portal marks.
const gradedQuizPath = "/training/travel-and-tourism/quiz/"

// gradedAnswerKey reads the graded quiz's key from the content tree: the
// browser never gets it.
func gradedAnswerKey(t *testing.T) map[string][]string {
	t.Helper()
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "content", "en", "training", "travel-and-tourism", "quiz.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Questions []struct {
			ID      string
			Answers []string
		}
	}
	if err := yaml.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, x := range q.Questions {
		out[x.ID] = x.Answers
	}
	return out
}

// answerDrawn starts an attempt from the quiz page's form, then checks the
// right options of the questions the portal drew (except the first
// question, answered wrongly when wrongFirst) and submits.
func answerDrawn(t *testing.T, ctx context.Context, key map[string][]string, wrongFirst bool) {
	t.Helper()
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("form.quiz-start button")),
		chromedp.Click(chromedp.CSS("form.quiz-start button")),
		chromedp.WaitVisible(chromedp.CSS("form[data-quiz-attempt] button[type=submit]")),
	)
	ids := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("fieldset[data-question]")).map(f => f.dataset.question)`))
	if len(ids) != len(key) {
		t.Fatalf("the attempt asks %d questions, want %d", len(ids), len(key))
	}
	var steps []chromedp.Action[chromedp.Void]
	for i, id := range ids {
		answers := key[id]
		if i == 0 && wrongFirst {
			answers = []string{"b"}
			if key[id][0] == "b" {
				answers = []string{"a"}
			}
		}
		for _, a := range answers {
			steps = append(steps, chromedp.Click(chromedp.CSS("#quiz-"+id+"-"+a)))
		}
	}
	steps = append(steps, chromedp.Click(chromedp.CSS("form[data-quiz-attempt] button[type=submit]")))
	do(t, ctx, steps...)
}

// TestGradedQuizInTheBrowser takes the graded quiz with JavaScript (the
// answers go to the API, the result is written into the page) in French and
// without it (forms posted to the portal, result page rendered by it) in
// Arabic; axe-core checks the attempt and result pages.
func TestGradedQuizInTheBrowser(t *testing.T) {
	p := portal(t)
	key := gradedAnswerKey(t)

	t.Run("javascript fr", func(t *testing.T) {
		ctx := browser(t)
		do(t, ctx, chromedp.Navigate(p.URL+"/fr"+gradedQuizPath))
		answerDrawn(t, ctx, key, true)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS("[data-quiz-result] p")))
		result := run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
		if !strings.Contains(result, "Le seuil de réussite est de 75 %") || !strings.Contains(result, "explications") {
			t.Errorf("failed attempt's result: %q", result)
		}
		wrong := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("fieldset.is-incorrect").length`))
		shown := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".quiz-explanation").length`))
		if wrong != 1 || shown != 0 {
			t.Errorf("failed attempt: %d questions marked wrong, %d explanations shown", wrong, shown)
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("fr attempt with its result: %s", v)
		}
		// A new attempt, passed: explanations now.
		do(t, ctx, chromedp.Click(chromedp.CSS("form[data-quiz-again] button")))
		answerDrawn(t, ctx, key, false)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS("[data-quiz-result] p")))
		result = run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
		shown = run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".quiz-explanation").length`))
		if !strings.Contains(result, "Vous avez atteint le seuil de réussite.") || shown != len(key) {
			t.Errorf("passed attempt: %q, %d explanations", result, shown)
		}
	})

	t.Run("without javascript ar", func(t *testing.T) {
		ctx := browser(t)
		call(t, ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		do(t, ctx, chromedp.Navigate(p.URL+"/ar"+gradedQuizPath))
		answerDrawn(t, ctx, key, false)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(".quiz-graded-results")))
		result := run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
		dir := run(t, ctx, chromedp.Evaluate[string](`document.documentElement.dir`))
		right := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-correct="true"]').length`))
		if !strings.Contains(result, "لقد بلغت درجة النجاح.") || dir != "rtl" || right != len(key) {
			t.Errorf("result page: %q, dir %q, %d right", result, dir, right)
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("ar result page: %s", v)
		}
	})
}
