package e2e

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"go.yaml.in/yaml/v3"

	"portal/site"
)

// gradedQuizPath is the public module whose quiz the portal marks (pass
// mark 75: two wrong answers of four fail).
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

// startAttempt presses a start button and waits for the drawn questions.
func startAttempt(t *testing.T, ctx context.Context, button string) {
	t.Helper()
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(button)),
		chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS("form[data-quiz-attempt] button[type=submit]")),
	)
}

// answerDrawn checks the right options of the questions the portal drew,
// wrong ones for the first `wrong` questions, and submits.
func answerDrawn(t *testing.T, ctx context.Context, key map[string][]string, wrong int) {
	t.Helper()
	ids := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("fieldset[data-question]")).map(f => f.dataset.question)`))
	if len(ids) != len(key) {
		t.Fatalf("the attempt asks %d questions, want %d", len(ids), len(key))
	}
	var steps []chromedp.Action[chromedp.Void]
	for i, id := range ids {
		answers := key[id]
		if i < wrong {
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

// blockScripts makes the tab a browser without JavaScript for the site:
// every script request fails, while DevTools can still read the page.
func blockScripts(t *testing.T, ctx context.Context) {
	t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for e, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	call(t, ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*", ResourceType: network.ResourceTypeScript}}})
}

// TestGradedQuizInTheBrowser takes the graded quiz with JavaScript (the
// answers go to the API, the result is written into the page) in French and
// without it (forms posted to the portal, pages rendered by it) in Arabic;
// the Arabic learner takes a receipt, prints its certificate (A4 and
// Letter, one page each) and the test decodes its QR code, which leads to
// the verification page with the code filled in. axe-core checks the
// pages on the way.
func TestGradedQuizInTheBrowser(t *testing.T) {
	p := portal(t)
	key := gradedAnswerKey(t)

	t.Run("javascript fr", func(t *testing.T) {
		ctx := browser(t)
		do(t, ctx, chromedp.Navigate(p.URL+"/fr"+gradedQuizPath))
		startAttempt(t, ctx, "form.quiz-start button")
		answerDrawn(t, ctx, key, 2)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS("[data-quiz-result] p")))
		result := run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
		if !strings.Contains(result, "Le seuil de réussite est de 75 %") || !strings.Contains(result, "explications") {
			t.Errorf("failed attempt's result: %q", result)
		}
		wrong := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("fieldset.is-incorrect").length`))
		shown := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".quiz-explanation").length`))
		if wrong != 2 || shown != 0 {
			t.Errorf("failed attempt: %d questions marked wrong, %d explanations shown", wrong, shown)
		}
		if url := run(t, ctx, chromedp.Location()); !strings.HasSuffix(url, "/fr"+gradedQuizPath) {
			t.Errorf("the result left the page: %s", url)
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("fr attempt with its result: %s", v)
		}
		// A new attempt, passed: explanations now, and the receipt offer.
		startAttempt(t, ctx, "form[data-quiz-again] button")
		answerDrawn(t, ctx, key, 0)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS("form[data-quiz-receipt] button")))
		result = run(t, ctx, chromedp.Text(chromedp.CSS("[data-quiz-result]")))
		shown = run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".quiz-explanation").length`))
		if !strings.Contains(result, "Vous avez atteint le seuil de réussite.") || shown != len(key) {
			t.Errorf("passed attempt: %q, %d explanations", result, shown)
		}
		// The receipt form the script revealed, then the certificate in a
		// left-to-right language.
		do(t, ctx,
			chromedp.SendKeys(chromedp.CSS("#quiz-receipt-name"), "Élise Martin"),
			chromedp.Click(chromedp.CSS("form[data-quiz-receipt] button")),
			chromedp.WaitVisible(chromedp.CSS(".quiz-receipt-code code")),
			chromedp.Click(chromedp.CSS(`a[href^="/fr/training/certificate/"]`)),
			chromedp.WaitVisible(chromedp.CSS(".certificate-qr svg")),
		)
		if text := run(t, ctx, chromedp.Text(chromedp.CSS(".certificate"))); !strings.Contains(text, "Élise Martin") ||
			!strings.Contains(text, "Valable jusqu'au") {
			t.Errorf("fr certificate: %q", text)
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("fr certificate: %s", v)
		}
	})

	t.Run("without javascript ar", func(t *testing.T) {
		ctx := browser(t)
		blockScripts(t, ctx)
		do(t, ctx, chromedp.Navigate(p.URL+"/ar"+gradedQuizPath))
		startAttempt(t, ctx, "form.quiz-start button")
		for _, v := range axe(t, ctx) {
			t.Errorf("ar attempt page: %s", v)
		}
		answerDrawn(t, ctx, key, 0)
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

		// The receipt, then its certificate.
		const name = "ليلى حداد"
		do(t, ctx,
			chromedp.SendKeys(chromedp.CSS("#quiz-receipt-name"), name),
			chromedp.Click(chromedp.CSS("form[data-quiz-receipt] button")),
			chromedp.WaitVisible(chromedp.CSS(".quiz-receipt-code code")),
		)
		code := run(t, ctx, chromedp.Text(chromedp.CSS(".quiz-receipt-code code")))
		if !strings.HasPrefix(code, "R1.") {
			t.Fatalf("receipt code %q", code)
		}
		do(t, ctx,
			chromedp.Click(chromedp.CSS(`a[href^="/ar/training/certificate/"]`)),
			chromedp.WaitVisible(chromedp.CSS(".certificate-qr svg")),
		)
		text := run(t, ctx, chromedp.Text(chromedp.CSS(".certificate")))
		if !strings.Contains(text, name) || !strings.Contains(text, "صالحة حتى") {
			t.Errorf("certificate: %q", text)
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("ar certificate: %s", v)
		}
		// One sheet on A4 and on Letter.
		for _, paper := range []struct {
			name string
			w, h float64 // inches
		}{{"A4", 8.27, 11.69}, {"Letter", 8.5, 11}} {
			pdf := call(t, ctx, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: paper.w, PaperHeight: paper.h})
			if !bytes.HasPrefix(pdf.Data, []byte("%PDF-")) {
				t.Fatalf("%s: not a PDF", paper.name)
			}
			if n := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf.Data, -1)); n != 1 {
				t.Errorf("%s: the certificate prints on %d pages", paper.name, n)
			}
		}
		// The QR code, as a camera would read it.
		shot := run(t, ctx, chromedp.Screenshot(chromedp.CSS(".certificate-qr svg")))
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("QR code: %v", err)
		}
		link := run(t, ctx, chromedp.AttributeValue(chromedp.CSS(".certificate-link"), "href")).Value
		if decoded.GetText() != link || !strings.Contains(link, "/ar/training/verify/?code=") {
			t.Fatalf("QR code says %q, the link is %q", decoded.GetText(), link)
		}

		// Where the QR code leads (a reader with JavaScript): the
		// verification page, the code filled in, the receipt checked.
		call(t, ctx, fetch.Disable, cdp.Empty{})
		do(t, ctx,
			chromedp.Navigate(decoded.GetText()),
			chromedp.WaitVisible(chromedp.CSS("#verify-result")),
			chromedp.WaitVisible(chromedp.CSS("[data-receipt-key-value]")),
		)
		verified := run(t, ctx, chromedp.Text(chromedp.CSS("#verify-result")))
		if !strings.Contains(verified, name) || !strings.Contains(verified, "الإصدار الحالي") || !strings.Contains(verified, "صالحة") {
			t.Errorf("verification page: %q", verified)
		}
		for _, v := range axe(t, ctx) {
			t.Errorf("ar verification of a receipt: %s", v)
		}
	})
}
