package training_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"portal/account"
	"portal/training"
)

// The graded fixture: twelve single-choice questions p01…p12 in three
// topics (p01–p04 "law", p05–p08 "police", p09–p12 "industry"), options
// a–d, and the right answer of pNN is option "abcd"[NN%4]. The catalogue
// carries no answers, as the Hugo build writes it; the key is in quiz.yaml
// under the content tree.
const poolSize = 12

func poolAnswer(n int) string { return string("abcd"[n%4]) }

func poolTopic(n int) string { return []string{"law", "police", "industry"}[(n-1)/4] }

func gradedModule(id, lang string, pick any, feedback string) map[string]any {
	var qs []map[string]any
	for n := 1; n <= poolSize; n++ {
		qs = append(qs, map[string]any{"id": fmt.Sprintf("p%02d", n), "type": "single", "topic": poolTopic(n),
			"prompt": fmt.Sprintf("Question %d (%s)?", n, lang), "promptHTML": fmt.Sprintf("Question %d (%s)?", n, lang),
			"options": []string{"a", "b", "c", "d"}, "optionsHTML": []string{"A", "B", "C", "D"}, "answers": []string{}})
	}
	m := module(id, lang, "Graded "+id, false, nil, "")
	m["quiz"], m["graded"], m["pick"], m["feedback"], m["attemptsPerHour"] = qs, true, pick, feedback, 3
	m["passMark"] = 80
	return m
}

// writeKey writes the module's quiz.yaml, as a trainer would, under
// content/<lang>/training/<id>/.
func writeKey(t *testing.T, content, id, lang string) {
	t.Helper()
	var qs []map[string]any
	for n := 1; n <= poolSize; n++ {
		qs = append(qs, map[string]any{"id": fmt.Sprintf("p%02d", n), "type": "single", "answers": []string{poolAnswer(n)},
			"explanation": fmt.Sprintf("Because of rule %d (%s).", n, lang)})
	}
	b, err := yaml.Marshal(map[string]any{"passMark": 80, "questions": qs})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(content, lang, "training", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "quiz.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// setUpGraded adds three graded modules to the fixture: "topics" draws
// 2 law, 2 police and 1 industry question, "five" draws 5 of 12, and
// "each" asks all twelve and explains after each attempt. withKeys false
// leaves the content tree empty.
func setUpGraded(t *testing.T, withKeys bool) *fixture {
	t.Helper()
	f := setUp(t)
	public, content := t.TempDir(), t.TempDir()
	for _, lang := range []string{"en", "fr"} {
		writeCatalogue(t, public, lang,
			gradedModule("topics", lang, map[string]int{"law": 2, "police": 2, "industry": 1}, ""),
			gradedModule("five", lang, 5, "after-pass"),
			withValidity(gradedModule("each", lang, 0, "each-attempt"), 12))
		if withKeys {
			for _, id := range []string{"topics", "five", "each"} {
				writeKey(t, content, id, lang)
			}
		}
	}
	cat, err := training.OpenCatalogue(public, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetContentDir(content); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return f.now }
	receiptKey, err := training.LoadReceiptKey("", filepath.Join(t.TempDir(), training.ReceiptKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = training.New(f.db.Progress(), cat, f.audit, training.Options{SecretKey: []byte(strings.Repeat("k", 32)), Now: clock,
		ReceiptKey: receiptKey})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sheetKey(sh *training.Sheet) string {
	var b strings.Builder
	for _, q := range sh.Questions {
		b.WriteString(q.ID + ":")
		for _, o := range q.Options {
			b.WriteString(o.ID)
		}
		b.WriteString(" ")
	}
	return b.String()
}

// rightAnswers answers every question of the sheet correctly, wrong ones
// for the first nWrong.
func rightAnswers(sh *training.Sheet, nWrong int) map[string][]string {
	out := map[string][]string{}
	for i, q := range sh.Questions {
		var n int
		fmt.Sscanf(q.ID, "p%d", &n)
		a := poolAnswer(n)
		if i < nWrong {
			a = poolAnswer(n + 1)
		}
		out[q.ID] = []string{a}
	}
	return out
}

func TestPoolsDrawPerTopicAndPerAttempt(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()
	u := f.user(t, "Learner", account.RoleMember)
	seen := map[string]bool{}
	for i := range 3 {
		sh, err := f.svc.StartAttempt(ctx, u, "topics", "fr", cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(sh.Questions) != 5 {
			t.Fatalf("attempt %d asks %d questions, want 2+2+1", i, len(sh.Questions))
		}
		perTopic := map[string]int{}
		for _, q := range sh.Questions {
			var n int
			fmt.Sscanf(q.ID, "p%d", &n)
			perTopic[poolTopic(n)]++
			ids := []string{}
			for _, o := range q.Options {
				ids = append(ids, o.ID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, []string{"a", "b", "c", "d"}) {
				t.Errorf("question %s shows options %v", q.ID, ids)
			}
			if !strings.HasSuffix(q.PromptHTML, "(fr)?") {
				t.Errorf("French attempt shows %q", q.PromptHTML)
			}
		}
		if perTopic["law"] != 2 || perTopic["police"] != 2 || perTopic["industry"] != 1 {
			t.Errorf("attempt %d per topic: %v", i, perTopic)
		}
		// The same attempt shows the same sheet again.
		again, err := f.svc.Sheet(ctx, u, sh.Attempt)
		if err != nil {
			t.Fatal(err)
		}
		if sheetKey(again) != sheetKey(sh) {
			t.Errorf("attempt %s drew\n%s\nthen\n%s", sh.Attempt, sheetKey(sh), sheetKey(again))
		}
		seen[sheetKey(sh)] = true
	}
	if len(seen) < 3 {
		t.Errorf("three attempts drew %d different sheets", len(seen))
	}

	sh, err := f.svc.StartAttempt(ctx, u, "five", "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Questions) != 5 {
		t.Errorf("pick 5 of 12 asks %d", len(sh.Questions))
	}
}

func TestGradedAttemptFeedbackKeepsTheKey(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()

	// A public learner (no account) fails: which answers were wrong, no
	// explanations (after-pass), and nothing names the right option.
	sh, err := f.svc.StartAttempt(ctx, nil, "five", "fr", cl)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, 2), cl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || res.Correct != 3 || res.Score != 60 || res.ShowExplanations || res.Progress != nil {
		t.Errorf("failed attempt: %+v", res)
	}
	for i, q := range res.Questions {
		if q.Correct != (i >= 2) || q.Explanation != "" {
			t.Errorf("question %d of a failed after-pass attempt: %+v", i, q)
		}
	}
	// Submitted once only.
	if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, 0), cl); !errors.Is(err, training.ErrAttemptClosed) {
		t.Errorf("second submission: %v, want ErrAttemptClosed", err)
	}

	// A pass explains, in the attempt's language.
	sh, err = f.svc.StartAttempt(ctx, nil, "five", "fr", cl)
	if err != nil {
		t.Fatal(err)
	}
	res, err = f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, 0), cl)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed || res.Score != 100 || !res.ShowExplanations {
		t.Errorf("passed attempt: %+v", res)
	}
	for _, q := range res.Questions {
		if !strings.HasSuffix(q.Explanation, "(fr).") {
			t.Errorf("explanation of %s: %q", q.ID, q.Explanation)
		}
	}

	// each-attempt explains a failed attempt too.
	sh, err = f.svc.StartAttempt(ctx, nil, "each", "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	res, err = f.svc.SubmitAttempt(ctx, nil, sh.Attempt, map[string][]string{}, cl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || res.Correct != 0 || !res.ShowExplanations || res.Questions[0].Explanation == "" {
		t.Errorf("each-attempt failed attempt: %+v", res)
	}

	// An answer to a question the attempt did not ask, or an option the
	// question does not have, is refused and leaves the attempt open.
	sh, err = f.svc.StartAttempt(ctx, nil, "topics", "en", training.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	asked := map[string]bool{}
	for _, q := range sh.Questions {
		asked[q.ID] = true
	}
	for n := 1; n <= poolSize; n++ {
		if id := fmt.Sprintf("p%02d", n); !asked[id] {
			_, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, map[string][]string{id: {"a"}}, cl)
			if !errors.Is(err, training.ErrInvalid) {
				t.Errorf("answer to a question not asked: %v", err)
			}
			break
		}
	}
	if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, map[string][]string{sh.Questions[0].ID: {"z"}}, cl); !errors.Is(err, training.ErrInvalid) {
		t.Errorf("unknown option: %v", err)
	}
	if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, 0), cl); err != nil {
		t.Errorf("the attempt was closed by refused answers: %v", err)
	}
}

func TestGradedAttemptsLimitedAndOwned(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()
	u := f.user(t, "Learner", account.RoleMember)
	other := f.user(t, "Other", account.RoleMember)
	var first *training.Sheet
	for i := range 3 {
		sh, err := f.svc.StartAttempt(ctx, u, "five", "en", cl)
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if first == nil {
			first = sh
		}
		f.now = f.now.Add(10 * time.Minute)
	}
	if _, err := f.svc.StartAttempt(ctx, u, "five", "en", cl); !errors.Is(err, training.ErrLimited) {
		t.Errorf("fourth attempt within the hour: %v, want ErrLimited", err)
	}
	// Other learners and other modules are not held back.
	if _, err := f.svc.StartAttempt(ctx, other, "five", "en", cl); err != nil {
		t.Errorf("another member: %v", err)
	}
	if _, err := f.svc.StartAttempt(ctx, u, "topics", "en", cl); err != nil {
		t.Errorf("another module: %v", err)
	}
	// A member's attempt is theirs: another member, or a public learner
	// holding its handle, cannot answer it.
	if _, err := f.svc.SubmitAttempt(ctx, other, first.Attempt, rightAnswers(first, 0), cl); !errors.Is(err, training.ErrNotFound) {
		t.Errorf("another member's submission: %v", err)
	}
	if _, err := f.svc.SubmitAttempt(ctx, nil, first.Attempt, rightAnswers(first, 0), cl); !errors.Is(err, training.ErrNotFound) {
		t.Errorf("anonymous submission of a member's attempt: %v", err)
	}
	// An hour after the first, one more may start; the first has expired
	// an hour later.
	f.now = f.now.Add(31 * time.Minute)
	if _, err := f.svc.StartAttempt(ctx, u, "five", "en", cl); err != nil {
		t.Errorf("attempt after an hour: %v", err)
	}
	f.now = f.now.Add(training.AttemptTTL)
	if _, err := f.svc.SubmitAttempt(ctx, u, first.Attempt, rightAnswers(first, 0), cl); !errors.Is(err, training.ErrAttemptClosed) {
		t.Errorf("expired attempt: %v, want ErrAttemptClosed", err)
	}

	// Public learners are limited by address.
	a, b := training.Client{IP: "198.51.100.1"}, training.Client{IP: "198.51.100.2"}
	for range 3 {
		if _, err := f.svc.StartAttempt(ctx, nil, "each", "en", a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.StartAttempt(ctx, nil, "each", "en", a); !errors.Is(err, training.ErrLimited) {
		t.Errorf("fourth public attempt: %v", err)
	}
	if _, err := f.svc.StartAttempt(ctx, nil, "each", "en", b); err != nil {
		t.Errorf("another address: %v", err)
	}
}

func TestGradedAttemptCountsForMembers(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()
	u := f.user(t, "Learner", account.RoleMember)
	for _, l := range []string{"01-one", "02-two", "03-three"} {
		if _, err := f.svc.MarkLesson(ctx, u, "five", l, "en", true, cl); err != nil {
			t.Fatal(err)
		}
	}
	// The self-check route does not mark a graded quiz.
	if _, err := f.svc.SubmitQuiz(ctx, u, "five", map[string][]string{"p01": {"b"}}, "en", cl); !errors.Is(err, training.ErrInvalid) {
		t.Errorf("SubmitQuiz on a graded quiz: %v", err)
	}
	sh, err := f.svc.StartAttempt(ctx, u, "five", "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SubmitAttempt(ctx, u, sh.Attempt, rightAnswers(sh, 0), cl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Progress == nil || res.Progress.Completion == nil || !res.Progress.Completion.New {
		t.Fatalf("passing the graded quiz after every lesson: %+v", res.Progress)
	}
}

func TestGradedQuizWithoutKeyIsUnavailable(t *testing.T) {
	f := setUpGraded(t, false)
	if _, err := f.svc.StartAttempt(context.Background(), nil, "five", "en", cl); !errors.Is(err, training.ErrUnavailable) {
		t.Errorf("graded quiz without its key: %v, want ErrUnavailable", err)
	}
}

func withValidity(m map[string]any, months int) map[string]any {
	m["validityMonths"], m["version"] = months, "2026-02"
	return m
}
