package training_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/store"
	"portal/store/storetest"
	"portal/training"
)

// writeCatalogue writes one language's catalogue file under dir.
func writeCatalogue(t *testing.T, dir, lang string, modules ...map[string]any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, lang), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"lang": lang, "modules": modules})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, lang, training.CatalogueFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lessons(ids ...string) []map[string]any {
	var out []map[string]any
	for i, id := range ids {
		out = append(out, map[string]any{"id": id, "url": "/x/" + id + "/", "weight": i + 1, "title": "Lesson " + id})
	}
	return out
}

// quiz: q1 single (answer a), q2 multiple (answers a, c), q3 single (b),
// q4 single (a).
func quiz() []map[string]any {
	return []map[string]any{
		{"id": "q1", "type": "single", "prompt": "First?", "options": []string{"a", "b"}, "answers": []string{"a"}},
		{"id": "q2", "type": "multiple", "prompt": "Second?", "options": []string{"a", "b", "c"}, "answers": []string{"a", "c"}},
		{"id": "q3", "type": "single", "prompt": "Third?", "options": []string{"a", "b"}, "answers": []string{"b"}},
		{"id": "q4", "type": "single", "prompt": "=Fourth?", "options": []string{"a", "b"}, "answers": []string{"a"}},
	}
}

func module(id, lang, title string, restricted bool, groups []string, tlp string) map[string]any {
	if groups == nil {
		groups = []string{}
	}
	return map[string]any{"id": id, "lang": lang, "title": title, "url": "/" + lang + "/training/" + id + "/",
		"restricted": restricted, "access": groups, "tlp": tlp, "passMark": 75,
		"lessons": lessons("01-one", "02-two", "03-three"), "quiz": quiz()}
}

type fixture struct {
	svc      *training.Service
	accounts *account.Service
	db       *store.DB
	audit    *audit.Log
	now      time.Time
}

func setUp(t *testing.T) *fixture {
	t.Helper()
	public, members := t.TempDir(), t.TempDir()
	writeCatalogue(t, public, "en", module("open", "en", "Open module", false, nil, ""))
	writeCatalogue(t, public, "fr", module("open", "fr", "Module ouvert", false, nil, ""))
	writeCatalogue(t, members, "en",
		module("open", "en", "Open module", false, nil, ""),
		module("closed", "en", "Closed module", true, []string{"vid"}, "TLP:AMBER"))
	cat, err := training.OpenCatalogue(public, members, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t)
	f := &fixture{db: db, now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.audit = audit.New(db, clock)
	key := []byte(strings.Repeat("k", 32))
	f.accounts, err = account.New(db, f.audit, account.Options{SecretKey: key, Now: clock,
		Argon2: account.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = training.New(db.Progress(), cat, f.audit, training.Options{SecretKey: key, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var seq int

func (f *fixture) user(t *testing.T, name string, role account.Role, groups ...string) *account.User {
	t.Helper()
	seq++
	u, _, err := f.accounts.SeedUser(t.Context(), "u"+string(rune('a'+seq))+"@test.invalid", name, role,
		append([]string{"members"}, groups...), "velvet quarry lantern harbour")
	if err != nil {
		t.Fatal(err)
	}
	return &u
}

var cl = training.Client{IP: "192.0.2.1"}

func TestCatalogueMergesBuilds(t *testing.T) {
	f := setUp(t)
	cat := f.svc.Catalogue()
	open, ok := cat.Module("open")
	if !ok || open.Restricted || !slices.Equal(open.Access, []string{access.Public}) || open.TLP != access.Clear {
		t.Fatalf("open module = %+v", open)
	}
	if open.Title("fr") != "Module ouvert" || open.Title("ar") != "Open module" || open.URL("en") != "/en/training/open/" {
		t.Errorf("titles/urls: %q %q %q", open.Title("fr"), open.Title("ar"), open.URL("en"))
	}
	closed, ok := cat.Module("closed")
	if !ok || !closed.Restricted || !slices.Equal(closed.Access, []string{"vid"}) || closed.TLP != access.Amber {
		t.Fatalf("closed module = %+v", closed)
	}
	if len(closed.Lessons) != 3 || len(closed.Questions) != 4 || closed.PassMark != 75 {
		t.Errorf("closed module structure: %+v", closed)
	}
}

func TestCatalogueRefusesPublicMembersModule(t *testing.T) {
	dir := t.TempDir()
	writeCatalogue(t, dir, "en", module("bad", "en", "Bad", true, []string{"public"}, "TLP:GREEN"))
	if _, err := training.OpenCatalogue(dir, "", nil); err == nil {
		t.Error("a members-only module open to \"public\" was accepted")
	}
	writeCatalogue(t, dir, "en", module("bad", "en", "Bad", true, []string{"vid"}, "AMBER"))
	if _, err := training.OpenCatalogue(dir, "", nil); err == nil {
		t.Error("a members-only module without a valid TLP label was accepted")
	}
}

func TestCatalogueReloadsWhenRebuilt(t *testing.T) {
	dir := t.TempDir()
	writeCatalogue(t, dir, "en", module("one", "en", "One", false, nil, ""))
	cat, err := training.OpenCatalogue(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Module("two"); ok {
		t.Fatal("module two before the rebuild")
	}
	writeCatalogue(t, dir, "en", module("one", "en", "One", false, nil, ""), module("two", "en", "Two", false, nil, ""))
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(dir, "en", training.CatalogueFile), later, later)
	deadline := time.Now().Add(3 * training.CheckInterval)
	for {
		if _, ok := cat.Module("two"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rebuilt catalogue was not picked up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLessonsAreIdempotentAndChecked(t *testing.T) {
	f := setUp(t)
	ctx := t.Context()
	u := f.user(t, "Learner", account.RoleMember)
	for range 3 {
		p, err := f.svc.MarkLesson(ctx, u, "open", "02-two", "en", true, cl)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.LessonsDone, []string{"02-two"}) || p.LessonsTotal != 3 || p.Completion != nil {
			t.Fatalf("progress = %+v", p)
		}
	}
	var ve *training.ValidationError
	if _, err := f.svc.MarkLesson(ctx, u, "open", "99-nope", "en", true, cl); !errors.As(err, &ve) || ve.Field != "lesson" {
		t.Errorf("unknown lesson: %v", err)
	}
	if _, err := f.svc.MarkLesson(ctx, u, "nope", "01-one", "en", true, cl); !errors.Is(err, training.ErrNotFound) {
		t.Errorf("unknown module: %v", err)
	}
	// A members-only module the learner may not see is not found either.
	if _, err := f.svc.MarkLesson(ctx, u, "closed", "01-one", "en", true, cl); !errors.Is(err, training.ErrNotFound) {
		t.Errorf("module not visible: %v", err)
	}
	p, err := f.svc.MarkLesson(ctx, u, "open", "02-two", "en", false, cl)
	if err != nil || len(p.LessonsDone) != 0 {
		t.Errorf("unmark: %+v %v", p, err)
	}
}

func TestQuizIsGradedHere(t *testing.T) {
	f := setUp(t)
	ctx := t.Context()
	u := f.user(t, "Learner", account.RoleMember)
	res, err := f.svc.SubmitQuiz(ctx, u, "open", map[string][]string{
		"q1": {"a"},      // right
		"q2": {"a"},      // wrong: c missing
		"q3": {"b", "b"}, // right; duplicates do not matter
		// q4 left out: wrong
	}, "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Score != 50 || res.Passed || res.Correct != 2 || res.Total != 4 {
		t.Errorf("result = %+v", res)
	}
	want := []training.QuestionResult{{ID: "q1", Correct: true}, {ID: "q2"}, {ID: "q3", Correct: true}, {ID: "q4"}}
	if !slices.Equal(res.Questions, want) {
		t.Errorf("questions = %+v, want %+v", res.Questions, want)
	}
	var ve *training.ValidationError
	for _, answers := range []map[string][]string{{"q9": {"a"}}, {"q1": {"z"}}} {
		if _, err := f.svc.SubmitQuiz(ctx, u, "open", answers, "en", cl); !errors.As(err, &ve) || ve.Field != "answers" {
			t.Errorf("answers %v: %v", answers, err)
		}
	}
	p, err := f.svc.Progress(ctx, u, "open")
	if err != nil || p.Attempts != 1 || p.BestScore != 50 || p.Passed {
		t.Errorf("progress after one attempt: %+v %v", p, err)
	}
}

var codeShape = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

func TestCompletionIssuedExactlyWhenDue(t *testing.T) {
	f := setUp(t)
	ctx := t.Context()
	u := f.user(t, "Ada Learner", account.RoleMember, "vid")
	all := map[string][]string{"q1": {"a"}, "q2": {"c", "a"}, "q3": {"b"}, "q4": {"a"}}

	// Quiz passed first, lessons after: issued with the last lesson.
	res, err := f.svc.SubmitQuiz(ctx, u, "closed", all, "en", cl)
	if err != nil || res.Score != 100 || !res.Passed || res.Progress.Completion != nil {
		t.Fatalf("quiz before lessons: %+v %v", res, err)
	}
	for _, l := range []string{"01-one", "02-two"} {
		p, err := f.svc.MarkLesson(ctx, u, "closed", l, "en", true, cl)
		if err != nil || p.Completion != nil {
			t.Fatalf("lesson %s: %+v %v", l, p, err)
		}
	}
	p, err := f.svc.MarkLesson(ctx, u, "closed", "03-three", "en", true, cl)
	if err != nil || p.Completion == nil || !p.Completion.New || !codeShape.MatchString(p.Completion.Code) {
		t.Fatalf("last lesson: %+v %v", p, err)
	}
	code := p.Completion.Code
	// Afterwards: the same record, not a new one.
	p, err = f.svc.MarkLesson(ctx, u, "closed", "03-three", "en", true, cl)
	if err != nil || p.Completion == nil || p.Completion.New || p.Completion.Code != code {
		t.Fatalf("again: %+v %v", p, err)
	}
	p, err = f.svc.Progress(ctx, u, "closed")
	if err != nil || p.Completion == nil || p.Completion.Code != code || !p.Completion.IssuedAt.Equal(f.now) {
		t.Fatalf("read back: %+v %v", p, err)
	}

	// Lessons first, a failed quiz, then a pass.
	v := f.user(t, "Bo Learner", account.RoleMember)
	for _, l := range []string{"01-one", "02-two", "03-three"} {
		if _, err := f.svc.MarkLesson(ctx, v, "open", l, "fr", true, cl); err != nil {
			t.Fatal(err)
		}
	}
	res, err = f.svc.SubmitQuiz(ctx, v, "open", map[string][]string{"q1": {"a"}}, "fr", cl)
	if err != nil || res.Passed || res.Progress.Completion != nil {
		t.Fatalf("failed quiz: %+v %v", res, err)
	}
	res, err = f.svc.SubmitQuiz(ctx, v, "open", all, "fr", cl)
	if err != nil || !res.Passed || res.Progress.Completion == nil || !res.Progress.Completion.New {
		t.Fatalf("passed quiz: %+v %v", res, err)
	}

	// Verification: any reasonable spelling of the code; nothing for others.
	for _, typed := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", " ")} {
		ver, err := f.svc.Verify(ctx, typed)
		if err != nil || ver.ModuleTitle != "Closed module" || ver.LearnerName != "Ada Learner" || ver.Lang != "en" ||
			!ver.IssuedAt.Equal(f.now) {
			t.Errorf("verify %q: %+v %v", typed, ver, err)
		}
	}
	ver, err := f.svc.Verify(ctx, res.Progress.Completion.Code)
	if err != nil || ver.ModuleTitle != "Module ouvert" || ver.Lang != "fr" {
		t.Errorf("verify the French completion: %+v %v", ver, err)
	}
	forged := []byte(code)
	if forged[0] == '0' {
		forged[0] = '1'
	} else {
		forged[0] = '0'
	}
	for _, bad := range []string{string(forged), "", "K7QX-M2PD", code + "-AAAA", "UUUU-UUUU-UUUU-UUUU"} {
		if _, err := f.svc.Verify(ctx, bad); !errors.Is(err, training.ErrNotFound) {
			t.Errorf("verify %q: %v, want ErrNotFound", bad, err)
		}
	}

	// Each issuance is audited once.
	_, issued, err := f.audit.List(ctx, audit.Filter{Action: training.ActionCompletion})
	if err != nil || issued != 2 {
		t.Errorf("%d completion entries in the audit log (%v), want 2", issued, err)
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"k7qx-m2pd-rt9a-4hzc":  "K7QX-M2PD-RT9A-4HZC",
		"K7QXM2PDRT9A4HZC":     "K7QX-M2PD-RT9A-4HZC",
		" k7qx m2pd rt9a 4hzc": "K7QX-M2PD-RT9A-4HZC",
		"O0IL-0000-0000-0000":  "0011-0000-0000-0000",
	} {
		if got, ok := training.NormalizeCode(in); !ok || got != want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"K7QX-M2PD-RT9A", "K7QX-M2PD-RT9A-4HZU", "K7QX-M2PD-RT9A-4HZ€", strings.Repeat("A", 100)} {
		if _, ok := training.NormalizeCode(in); ok {
			t.Errorf("NormalizeCode(%q) accepted", in)
		}
	}
}

func TestStats(t *testing.T) {
	f := setUp(t)
	ctx := t.Context()
	trainer := f.user(t, "Trainer", account.RoleTrainer)
	member := f.user(t, "Member", account.RoleMember, "vid")
	admin := f.user(t, "Admin", account.RoleAdmin)
	a := f.user(t, "A", account.RoleMember)
	b := f.user(t, "B", account.RoleMember)
	c := f.user(t, "C", account.RoleMember)
	all := map[string][]string{"q1": {"a"}, "q2": {"a", "c"}, "q3": {"b"}, "q4": {"a"}}
	for _, l := range []string{"01-one", "02-two", "03-three"} {
		f.svc.MarkLesson(ctx, a, "open", l, "en", true, cl)
	}
	f.svc.SubmitQuiz(ctx, a, "open", map[string][]string{"q1": {"a"}, "q2": {"a", "c"}, "q3": {"a"}, "q4": {"b"}}, "en", cl) // 50
	f.svc.SubmitQuiz(ctx, a, "open", all, "en", cl)                                                                          // 100: completes
	f.svc.SubmitQuiz(ctx, b, "open", map[string][]string{"q1": {"a"}, "q2": {"a"}, "q3": {"b"}, "q4": {"b"}}, "en", cl)      // 50
	f.svc.MarkLesson(ctx, c, "open", "01-one", "en", true, cl)

	st, err := f.svc.Stats(ctx, trainer, "open")
	if err != nil {
		t.Fatal(err)
	}
	if st.Started != 3 || st.Completed != 1 || st.Attempts != 3 || len(st.Scores) != 10 {
		t.Fatalf("stats = %+v", st)
	}
	for _, bk := range st.Scores {
		want := 0
		switch bk.From {
		case 50, 90:
			want = 1
		}
		if bk.Learners != want {
			t.Errorf("bucket %d–%d: %d learners, want %d", bk.From, bk.To, bk.Learners, want)
		}
	}
	if st.Scores[9].To != 100 {
		t.Errorf("last bucket ends at %d", st.Scores[9].To)
	}
	// q4 missed 2 of 3, q2 and q3 1 of 3, q1 never.
	got := []string{}
	for _, m := range st.MostMissed {
		got = append(got, m.Question)
	}
	if !slices.Equal(got, []string{"q4", "q2", "q3"}) || st.MostMissed[0].Missed != 2 || st.MostMissed[0].Answered != 3 {
		t.Errorf("most missed = %+v", st.MostMissed)
	}
	if len(st.Completions) != 1 || st.Completions[0].LearnerName != "A" || st.Completions[0].BestScore != 100 {
		t.Errorf("completions = %+v", st.Completions)
	}

	// Trainers and admins see only modules their groups reach (the stats
	// hold the quiz's questions); members none.
	if _, err := f.svc.Stats(ctx, trainer, "closed"); !errors.Is(err, training.ErrNotFound) {
		t.Errorf("trainer outside the module's group: %v", err)
	}
	if _, err := f.svc.Stats(ctx, admin, "closed"); !errors.Is(err, training.ErrNotFound) {
		t.Errorf("admin outside the module's group: %v", err)
	}
	adminVid := f.user(t, "Admin in vid", account.RoleAdmin, "vid")
	if _, err := f.svc.Stats(ctx, adminVid, "closed"); err != nil {
		t.Errorf("admin in the module's group: %v", err)
	}
	if _, err := f.svc.Stats(ctx, member, "open"); !errors.Is(err, training.ErrForbidden) {
		t.Errorf("member: %v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
