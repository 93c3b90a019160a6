package api_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/portaltest"
	"portal/training"
)

// The training tests share the accounts portal; each uses its own users and
// its own module, so their numbers do not mix.

const (
	publicModule = "recognising-and-reporting" // 5 lessons, 5 questions, pass mark 80
	statsModule  = "annual-meeting"            // members-only (members, TLP:GREEN), 3 lessons, 4 questions, pass mark 75
	vidModule    = "icse-victim-identification-workflow"
)

type trainingProgress struct {
	Module       string
	LessonsDone  []string
	LessonsTotal int
	BestScore    *int
	Attempts     int
	PassMark     int
	Passed       bool
	Completion   *struct {
		Code     string
		IssuedAt time.Time
		Lang     string
		Issued   bool
	}
}

type quizResult struct {
	Score, Correct, Total, PassMark int
	Passed                          bool
	Questions                       []struct {
		ID      string
		Correct bool
	}
	Progress trainingProgress
}

// moduleKey reads a module's lessons and answer key from the public
// build's training catalogue, as the server does.
type catalogueModule struct {
	ID       string
	PassMark int
	Lessons  []struct{ ID string }
	Quiz     []struct {
		ID      string
		Options []string
		Answers []string
	}
}

func catalogue(t *testing.T, p *portaltest.Portal, members bool, id string) catalogueModule {
	t.Helper()
	dir := p.SiteDir
	if members {
		dir = p.MembersDir
	}
	b, err := os.ReadFile(filepath.Join(dir, "en", training.CatalogueFile))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Modules []catalogueModule }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Modules {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("module %s not in the catalogue", id)
	return catalogueModule{}
}

// answers returns the right answers, or wrong ones for the questions in
// wrong.
func (m catalogueModule) answers(wrong ...string) map[string][]string {
	out := map[string][]string{}
	for _, q := range m.Quiz {
		out[q.ID] = q.Answers
		if slices.Contains(wrong, q.ID) {
			for _, o := range q.Options {
				if !slices.Contains(q.Answers, o) {
					out[q.ID] = []string{o}
					break
				}
			}
		}
	}
	return out
}

var codePattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

func TestTrainingProgressQuizAndCompletion(t *testing.T) {
	p, clock := withAccounts(t)
	mod := catalogue(t, p, false, publicModule)
	u := p.SeedNamedUser(t, "Ada Lovelace", account.RoleMember)
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())

	var pr trainingProgress
	c.JSON("GET", "/api/training/progress?module="+publicModule, nil, 200, &pr)
	if pr.LessonsTotal != len(mod.Lessons) || len(pr.LessonsDone) != 0 || pr.BestScore != nil || pr.Completion != nil {
		t.Fatalf("fresh progress = %+v", pr)
	}

	// Idempotent: the same lesson twice is one lesson done.
	first := mod.Lessons[0].ID
	for range 2 {
		c.JSON("POST", "/api/training/progress", map[string]any{"module": publicModule, "lesson": first, "lang": "en"}, 200, &pr)
		if !slices.Equal(pr.LessonsDone, []string{first}) {
			t.Fatalf("after marking %s: %+v", first, pr)
		}
	}
	for _, tc := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"module": "no-such-module", "lesson": first}, 404, "not_found"},
		{map[string]any{"module": vidModule, "lesson": "01-workflow-at-a-glance"}, 404, "not_found"}, // not in the group
		{map[string]any{"module": publicModule, "lesson": "99-nope"}, 400, "invalid_lesson"},
		{map[string]any{"module": publicModule, "lesson": first, "lang": "xx"}, 400, "invalid_lang"},
	} {
		resp, body := c.Do("POST", "/api/training/progress", tc.body)
		if resp.StatusCode != tc.status || portaltest.ErrorCode(t, body) != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.body, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	// Writes need the CSRF token, reads a session.
	stale := p.NewClient(t)
	stale.SetCookie("__Host-portal_session", c.Cookie("__Host-portal_session"))
	if resp, body := stale.Do("POST", "/api/training/progress", map[string]any{"module": publicModule, "lesson": first}); resp.StatusCode != 403 ||
		portaltest.ErrorCode(t, body) != "csrf_invalid" {
		t.Errorf("without CSRF token: %d %s", resp.StatusCode, body)
	}
	// Anonymous readers keep progress in the browser: the server has none
	// for them, and says so without an error the browser would log.
	if resp, _ := p.NewClient(t).Do("GET", "/api/training/progress?module="+publicModule, nil); resp.StatusCode != 204 {
		t.Errorf("anonymous progress: %d, want 204", resp.StatusCode)
	}

	// The server grades: a claimed score is refused outright, and wrong
	// answers get their real score whatever the browser thought.
	resp, body := c.Do("POST", "/api/training/quiz", map[string]any{"module": publicModule, "answers": mod.answers(), "score": 100, "passed": true})
	if resp.StatusCode != 400 || portaltest.ErrorCode(t, body) != "invalid_json" {
		t.Errorf("quiz with a claimed score: %d %s", resp.StatusCode, body)
	}
	var qr quizResult
	wrong := []string{mod.Quiz[0].ID, mod.Quiz[1].ID, mod.Quiz[2].ID}
	c.JSON("POST", "/api/training/quiz", map[string]any{"module": publicModule, "answers": mod.answers(wrong...)}, 200, &qr)
	want := (len(mod.Quiz) - 3) * 100 / len(mod.Quiz)
	if qr.Score != want || qr.Passed || qr.Correct != len(mod.Quiz)-3 || len(qr.Questions) != len(mod.Quiz) ||
		qr.Questions[0].Correct || !qr.Questions[len(mod.Quiz)-1].Correct {
		t.Fatalf("wrong answers: %+v, want score %d", qr, want)
	}
	resp, body = c.Do("POST", "/api/training/quiz", map[string]any{"module": publicModule, "answers": map[string][]string{mod.Quiz[0].ID: {"no-such-option"}}})
	if resp.StatusCode != 400 || portaltest.ErrorCode(t, body) != "invalid_answers" {
		t.Errorf("unknown option: %d %s", resp.StatusCode, body)
	}

	// Passing the quiz with lessons missing issues nothing; the last lesson
	// does, exactly once.
	c.JSON("POST", "/api/training/quiz", map[string]any{"module": publicModule, "answers": mod.answers(), "lang": "fr"}, 200, &qr)
	if qr.Score != 100 || !qr.Passed || qr.Progress.Completion != nil || *qr.Progress.BestScore != 100 {
		t.Fatalf("passed quiz with lessons missing: %+v", qr)
	}
	for i, l := range mod.Lessons[1:] {
		c.JSON("POST", "/api/training/progress", map[string]any{"module": publicModule, "lesson": l.ID, "lang": "fr"}, 200, &pr)
		last := i == len(mod.Lessons)-2
		if (pr.Completion != nil) != last {
			t.Fatalf("after lesson %s: completion %+v", l.ID, pr.Completion)
		}
	}
	if !pr.Completion.Issued || !codePattern.MatchString(pr.Completion.Code) || pr.Completion.Lang != "fr" {
		t.Fatalf("completion = %+v", pr.Completion)
	}
	code := pr.Completion.Code
	c.JSON("POST", "/api/training/progress", map[string]any{"module": publicModule, "lesson": first}, 200, &pr)
	if pr.Completion == nil || pr.Completion.Issued || pr.Completion.Code != code {
		t.Errorf("after completion: %+v", pr.Completion)
	}
	c.JSON("GET", "/api/training/progress?module="+publicModule, nil, 200, &pr)
	if pr.Completion == nil || pr.Completion.Code != code || len(pr.LessonsDone) != len(mod.Lessons) || !pr.Passed {
		t.Errorf("progress read back: %+v", pr)
	}
	entries, _, err := p.Audit.List(t.Context(), audit.Filter{Actor: u.ID, Action: training.ActionCompletion})
	if err != nil || len(entries) != 1 || entries[0].Target != "training:"+publicModule {
		t.Errorf("completion audit entries: %+v %v", entries, err)
	}

	// Anyone may verify the code, in any spelling, and learns only the
	// module, the date and the display name.
	anon := p.NewClient(t)
	for _, typed := range []string{code, strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
		resp, body := anon.Do("GET", "/api/training/verify?"+url.Values{"code": {typed}}.Encode(), nil)
		var v map[string]string
		if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil {
			t.Fatalf("verify %q: %d %s", typed, resp.StatusCode, body)
		}
		keys := []string{}
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"issuedAt", "lang", "learnerName", "moduleTitle"}) || v["learnerName"] != "Ada Lovelace" ||
			v["lang"] != "fr" || v["issuedAt"] != clock.Now().UTC().Format("2006-01-02") || v["moduleTitle"] == "" {
			t.Errorf("verification = %v", v)
		}
		if strings.Contains(string(body), u.Email) || strings.Contains(string(body), u.ID) {
			t.Errorf("verification reveals the learner's account: %s", body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("verification Cache-Control %q", cc)
		}
	}
	forged := []byte(code)
	forged[len(forged)-1] = map[bool]byte{true: 'A', false: 'B'}[forged[len(forged)-1] != 'A']
	for _, bad := range []string{string(forged), "AAAA-AAAA-AAAA-AAAA", "not a code"} {
		resp, body := anon.Do("GET", "/api/training/verify?"+url.Values{"code": {bad}}.Encode(), nil)
		if resp.StatusCode != 404 || portaltest.ErrorCode(t, body) != "not_found" {
			t.Errorf("verify %q: %d %s", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := anon.Do("GET", "/api/training/verify", nil); resp.StatusCode != 400 {
		t.Errorf("verify without a code: %d", resp.StatusCode)
	}
}

func TestTrainingStatsAndExport(t *testing.T) {
	p, clock := withAccounts(t)
	mod := catalogue(t, p, true, statsModule)
	login := func(u portaltest.User) *portaltest.Client {
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	const injected = `=HYPERLINK("https://evil.example","click")`
	a := login(p.SeedNamedUser(t, injected, account.RoleMember))
	b := login(p.SeedNamedUser(t, "Bea", account.RoleMember))
	cc := login(p.SeedNamedUser(t, "Cy", account.RoleMember))
	// A completes (50, then 100); B fails with two questions wrong; C only
	// reads a lesson.
	for _, l := range mod.Lessons {
		a.JSON("POST", "/api/training/progress", map[string]any{"module": statsModule, "lesson": l.ID}, 200, nil)
	}
	q0, q1 := mod.Quiz[0].ID, mod.Quiz[1].ID
	a.JSON("POST", "/api/training/quiz", map[string]any{"module": statsModule, "answers": mod.answers(q0, q1)}, 200, nil)
	a.JSON("POST", "/api/training/quiz", map[string]any{"module": statsModule, "answers": mod.answers()}, 200, nil)
	b.JSON("POST", "/api/training/progress", map[string]any{"module": statsModule, "lesson": mod.Lessons[0].ID}, 200, nil)
	b.JSON("POST", "/api/training/quiz", map[string]any{"module": statsModule, "answers": mod.answers(q0)}, 200, nil)
	cc.JSON("POST", "/api/training/progress", map[string]any{"module": statsModule, "lesson": mod.Lessons[1].ID}, 200, nil)

	trainer := login(p.SeedUser(t, account.RoleTrainer))
	var st struct {
		Module                       string
		Started, Completed, Attempts int
		Scores                       []struct{ From, To, Learners int }
		MostMissed                   []struct {
			Question         string
			Answered, Missed int
			MissRate         float64
		}
		Completions []struct {
			LearnerName, IssuedAt string
			BestScore             int
		}
	}
	trainer.JSON("GET", "/api/training/stats?module="+statsModule, nil, 200, &st)
	if st.Started != 3 || st.Completed != 1 || st.Attempts != 3 || len(st.Scores) != 10 {
		t.Fatalf("stats = %+v", st)
	}
	scoreB := 100 - 100/len(mod.Quiz) // one of four wrong: 75
	for _, bk := range st.Scores {
		want := 0
		if bk.From == 90 {
			want++ // A's best, 100
		}
		if scoreB >= bk.From && scoreB <= bk.To {
			want++
		}
		if bk.Learners != want {
			t.Errorf("bucket %d–%d: %d learners, want %d", bk.From, bk.To, bk.Learners, want)
		}
	}
	if len(st.MostMissed) != 2 || st.MostMissed[0].Question != q0 || st.MostMissed[0].Missed != 2 || st.MostMissed[0].Answered != 3 ||
		st.MostMissed[1].Question != q1 || st.MostMissed[1].Missed != 1 {
		t.Errorf("most missed = %+v", st.MostMissed)
	}
	if len(st.Completions) != 1 || st.Completions[0].LearnerName != injected || st.Completions[0].BestScore != 100 {
		t.Errorf("completions = %+v", st.Completions)
	}

	resp, body := trainer.Do("GET", "/api/training/stats.csv?module="+statsModule, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) < 2 || strings.Join(rows[0], ",") != "section,item,value,total,rate,date" {
		t.Fatalf("csv header: %v %q", err, body)
	}
	found := false
	for _, r := range rows[1:] {
		if r[0] == "completion" {
			found = true
			if r[1] != "'"+injected || r[2] != "100" {
				t.Errorf("completion row %q: the display name is not defused", r)
			}
		}
		if r[0] == "learners" && r[1] == "started" && r[2] != "3" {
			t.Errorf("started row %q", r)
		}
	}
	if !found {
		t.Errorf("no completion row in %s", body)
	}
	entries, _, err := p.Audit.List(t.Context(), audit.Filter{Action: training.ActionStatsExport})
	if err != nil || !slices.ContainsFunc(entries, func(e audit.Entry) bool { return e.Target == "training:"+statsModule }) {
		t.Errorf("export not audited: %+v %v", entries, err)
	}

	// A trainer sees only modules they may see; members none.
	for _, path := range []string{"/api/training/stats?module=" + vidModule, "/api/training/stats.csv?module=" + vidModule} {
		if resp, body := trainer.Do("GET", path, nil); resp.StatusCode != 404 || portaltest.ErrorCode(t, body) != "not_found" {
			t.Errorf("%s by a trainer outside the group: %d %s", path, resp.StatusCode, body)
		}
	}
	vidTrainer := login(p.SeedUser(t, account.RoleTrainer, "victim-identification"))
	vidTrainer.JSON("GET", "/api/training/stats?module="+vidModule, nil, 200, nil)
	if resp, _ := a.Do("GET", "/api/training/stats?module="+statsModule, nil); resp.StatusCode != 403 {
		t.Errorf("stats by a member: %d", resp.StatusCode)
	}
}

// Members-only pages: served to members whose groups allow them, with their
// name in the handout's footer; a 404 to other members; a login redirect
// to anonymous readers; never cached.
func TestMembersPages(t *testing.T) {
	p, clock := withAccounts(t)
	login := func(u portaltest.User) *portaltest.Client {
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	allowed := login(p.SeedNamedUser(t, `Vi <Identifier> & "Co"`, account.RoleMember, "victim-identification"))
	other := login(p.SeedUser(t, account.RoleMember))
	handout := "/members/en/training/" + vidModule + "/handout/"

	resp, body := allowed.Do("GET", handout, nil)
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "TLP:AMBER") {
		t.Fatalf("allowed member: %d", resp.StatusCode)
	}
	today := time.Now().UTC().Format("2006-01-02")
	if !strings.Contains(page, `<span data-reader-name>Vi &lt;Identifier&gt; &amp; &#34;Co&#34;</span>`) ||
		!strings.Contains(page, `<span data-print-date><time datetime="`+today+`">`+today+`</time></span>`) {
		t.Errorf("handout footer not filled for the reader")
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"} {
		if got := resp.Header.Get(h); !strings.HasPrefix(got, want) {
			t.Errorf("%s = %q", h, got)
		}
	}
	// The module's other pages too; the other members' module as well.
	for _, path := range []string{"/members/en/training/" + vidModule + "/", "/members/en/training/" + vidModule + "/01-workflow-at-a-glance/",
		"/members/en/training/" + statsModule + "/"} {
		if resp, _ := allowed.Do("GET", path, nil); resp.StatusCode != 200 {
			t.Errorf("%s for an allowed member: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := other.Do("GET", "/members/en/training/"+statsModule+"/handout/", nil); resp.StatusCode != 200 {
		t.Errorf("members' module for a member: %d", resp.StatusCode)
	}

	// Another member: the same 404 as for a page that does not exist. An
	// admin outside the module's group is another member here.
	resp, denied := other.Do("GET", handout, nil)
	_, missing := other.Do("GET", "/members/en/training/no-such-module/", nil)
	if resp.StatusCode != 404 || string(denied) != string(missing) || strings.Contains(string(denied), "TLP:AMBER") {
		t.Errorf("other member: %d", resp.StatusCode)
	}
	admin := login(p.SeedUser(t, account.RoleAdmin))
	for _, path := range []string{handout, "/members/en/training/" + vidModule + "/", "/members/en/training/" + vidModule + "/01-workflow-at-a-glance/"} {
		if resp, body := admin.Do("GET", path, nil); resp.StatusCode != 404 || strings.Contains(string(body), "TLP:AMBER") {
			t.Errorf("admin outside the group, %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := admin.Do("GET", "/api/training/stats?module="+vidModule, nil); resp.StatusCode != 404 {
		t.Errorf("admin outside the group, the module's stats: %d, want 404", resp.StatusCode)
	}
	// Anonymous: the login page, never the content.
	anon := p.NewClient(t)
	resp, body = anon.Do("GET", handout, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/en/account/login/?next="+url.QueryEscape(handout) ||
		strings.Contains(string(body), "CANARY") {
		t.Errorf("anonymous: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := anon.Do("GET", "/members/en/training/%3Cx%3E/", nil); resp.StatusCode != 404 {
		t.Errorf("anonymous with an odd path: %d, want 404", resp.StatusCode)
	}
	// The build's own files are not served; its public pages are the public site's.
	for _, path := range []string{"/members/members-manifest.json", "/members/members-search.json", "/members/en/training-catalogue.json"} {
		if resp, _ := allowed.Do("GET", path, nil); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := allowed.Do("GET", "/members/en/glossary/", nil); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/en/glossary/" {
		t.Errorf("public page in the members build: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The pages' stylesheet is served with them.
	css := regexp.MustCompile(`href="(/members/css/[^"]+\.css)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("no stylesheet in the members' handout")
	}
	if resp, _ := allowed.Do("GET", css[1], nil); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet %s: %d %q", css[1], resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// Members-only training pages are indexed with their access groups: found
// by members who may see them, by nobody else, and never by public search.
func TestMembersTrainingSearch(t *testing.T) {
	p, clock := withAccounts(t)
	login := func(u portaltest.User) *portaltest.Client {
		c := p.NewClient(t)
		c.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
		return c
	}
	allowed := login(p.SeedUser(t, account.RoleMember, "victim-identification"))
	other := login(p.SeedUser(t, account.RoleMember))
	q := url.Values{"q": {"victim identification workflow"}, "lang": {"en"}}.Encode()
	members := func(c *portaltest.Client) []string {
		var urls []string
		resp, body := c.Do("GET", "/api/search?"+q, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("search: %d %s", resp.StatusCode, body)
		}
		var hits struct{ Hits []struct{ URL string } }
		if err := json.Unmarshal(body, &hits); err != nil {
			t.Fatal(err)
		}
		for _, h := range hits.Hits {
			if strings.HasPrefix(h.URL, "/members/") {
				urls = append(urls, h.URL)
			}
		}
		return urls
	}
	got := members(allowed)
	if !slices.ContainsFunc(got, func(u string) bool { return strings.HasPrefix(u, "/members/en/training/"+vidModule+"/") }) {
		t.Errorf("allowed member's members-only hits: %v", got)
	}
	admin := login(p.SeedUser(t, account.RoleAdmin))
	for name, c := range map[string]*portaltest.Client{"a member": other, "an admin": admin} {
		for _, u := range members(c) {
			if strings.Contains(u, vidModule) {
				t.Errorf("%s outside the group finds %s", name, u)
			}
		}
	}
	for _, query := range []string{"victim identification workflow", "annual meeting"} {
		res := searchAPI(t, p, url.Values{"q": {query}, "lang": {"en"}})
		for _, h := range res.Hits {
			if strings.HasPrefix(h.URL, "/members/") {
				t.Errorf("public search for %q finds %s", query, h.URL)
			}
		}
	}
	// The members' module is found by every member.
	q = url.Values{"q": {"annual meeting contributions"}, "lang": {"en"}}.Encode()
	if got := members(other); !slices.ContainsFunc(got, func(u string) bool { return strings.Contains(u, statsModule) }) {
		t.Errorf("members' module not found by a member: %v", got)
	}
}
