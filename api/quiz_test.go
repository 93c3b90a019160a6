package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"portal/account"
	"portal/site"
)

// gradedModule is the public module whose quiz is graded (its front
// matter says quiz.kind: graded): 4 questions, pass mark 75.
const gradedModule = "travel-and-tourism"

// gradedKey reads the module's answer key from the content tree, as the
// server does; it is in no build.
func gradedKey(t *testing.T) map[string][]string {
	t.Helper()
	root, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "content", "en", "training", gradedModule, "quiz.yaml"))
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

type attemptSheet struct {
	Attempt   string
	Lang      string
	Questions []struct {
		ID       string
		Multiple bool
		Prompt   string
		Options  []struct{ ID, Text string }
	}
}

type attemptResult struct {
	Score, Correct, Total int
	Passed                bool
	ShowExplanations      bool
	Questions             []struct {
		ID          string
		Correct     bool
		Explanation string
	}
	Progress *trainingProgress
}

func TestGradedQuizAPI(t *testing.T) {
	p, clock := withAccounts(t)
	key := gradedKey(t)

	// A public learner, without an account.
	c := p.NewClient(t)
	c.RefreshCSRF()
	var sh attemptSheet
	c.JSON("POST", "/api/training/attempts", map[string]string{"module": gradedModule, "lang": "fr"}, 201, &sh)
	if len(sh.Questions) != len(key) || sh.Lang != "fr" {
		t.Fatalf("sheet: %+v", sh)
	}
	if !strings.Contains(sh.Questions[0].Prompt+sh.Questions[1].Prompt+sh.Questions[2].Prompt, "ou") {
		t.Errorf("French sheet shows %q", sh.Questions[0].Prompt)
	}
	// The sheet again, the same.
	var again attemptSheet
	c.JSON("GET", "/api/training/attempts/"+sh.Attempt, nil, 200, &again)
	if again.Questions[0].ID != sh.Questions[0].ID || again.Questions[0].Options[0].ID != sh.Questions[0].Options[0].ID {
		t.Errorf("the attempt's sheet changed: %+v then %+v", sh.Questions[0], again.Questions[0])
	}
	// Wrong on the first question: failed (3 of 4 is 75: two wrong).
	answers := map[string][]string{}
	for i, q := range sh.Questions {
		answers[q.ID] = key[q.ID]
		if i < 2 {
			answers[q.ID] = []string{"b"}
			if key[q.ID][0] == "b" {
				answers[q.ID] = []string{"a"}
			}
		}
	}
	resp, body := c.Do("POST", "/api/training/attempts/"+sh.Attempt+"/answers", map[string]any{"answers": answers})
	if resp.StatusCode != 200 {
		t.Fatalf("answers: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), `"answers"`) || strings.Contains(string(body), "explanation") {
		t.Errorf("a failed after-pass attempt shows answers or explanations: %s", body)
	}
	resp, body = c.Do("POST", "/api/training/attempts/"+sh.Attempt+"/answers", map[string]any{"answers": key})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second submission: %d %s", resp.StatusCode, body)
	}

	c.JSON("POST", "/api/training/attempts", map[string]string{"module": gradedModule, "lang": "fr"}, 201, &sh)
	var res attemptResult
	c.JSON("POST", "/api/training/attempts/"+sh.Attempt+"/answers", map[string]any{"answers": key}, 200, &res)
	if !res.Passed || res.Score != 100 || !res.ShowExplanations || res.Progress != nil {
		t.Errorf("passed attempt: %+v", res)
	}
	for _, q := range res.Questions {
		if q.Explanation == "" {
			t.Errorf("no explanation for %s after a pass", q.ID)
		}
	}

	// Bad input.
	for _, tc := range []struct {
		path   string
		body   any
		status int
	}{
		{"/api/training/attempts", map[string]string{"module": "no-such-module"}, 404},
		{"/api/training/attempts", map[string]string{"module": publicModule}, 400}, // a self-check quiz
		{"/api/training/attempts", map[string]string{"module": gradedModule, "lang": "xx"}, 400},
		{"/api/training/attempts/not-an-attempt/answers", map[string]any{"answers": key}, 404},
		{"/api/training/attempts/" + sh.Attempt + "/answers", map[string]any{}, 400},
	} {
		if resp, body := c.Do("POST", tc.path, tc.body); resp.StatusCode != tc.status {
			t.Errorf("POST %s %v: %d %s, want %d", tc.path, tc.body, resp.StatusCode, body, tc.status)
		}
	}

	// A member: the self-check route refuses the graded quiz; attempts are
	// limited per hour.
	u := p.SeedUser(t, account.RoleMember)
	m := p.NewClient(t)
	m.Login(u.Email, u.Password, u.TOTPSecret, clock.Now())
	if resp, body := m.Do("POST", "/api/training/quiz", map[string]any{"module": gradedModule, "answers": key}); resp.StatusCode != 400 {
		t.Errorf("self-check route on a graded quiz: %d %s", resp.StatusCode, body)
	}
	for i := range 5 {
		if resp, body := m.Do("POST", "/api/training/attempts", map[string]string{"module": gradedModule}); resp.StatusCode != 201 {
			t.Fatalf("member attempt %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body = m.Do("POST", "/api/training/attempts", map[string]string{"module": gradedModule})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("sixth attempt in an hour: %d %s", resp.StatusCode, body)
	}
}

// postForm posts a form as a browser on the portal's own page would.
func postForm(t *testing.T, base, path string, form url.Values, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var (
	attemptField  = regexp.MustCompile(`name="attempt" value="([0-9a-f]{32})"`)
	questionField = regexp.MustCompile(`data-question="([a-z0-9-]+)"`)
)

// TestGradedQuizWithoutJavaScript takes the graded quiz through the page's
// forms in French and Arabic: start, answer, result page in the reader's
// language.
func TestGradedQuizWithoutJavaScript(t *testing.T) {
	p, _ := withAccounts(t)
	key := gradedKey(t)
	for _, tc := range []struct{ lang, htmlAttr, right, passed string }{
		{"fr", `lang="fr"`, "Bonne réponse.", "Vous avez atteint le seuil de réussite."},
		{"ar", `dir="rtl"`, "إجابة صحيحة.", "لقد بلغت درجة النجاح."},
	} {
		path := "/" + tc.lang + "/training/" + gradedModule + "/quiz/"
		status, page := postForm(t, p.URL, path, url.Values{"step": {"start"}}, p.URL)
		if status != 200 || !strings.Contains(page, tc.htmlAttr) {
			t.Fatalf("%s start: %d", tc.lang, status)
		}
		m := attemptField.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: no attempt in the page", tc.lang)
		}
		form := url.Values{"step": {"answer"}, "attempt": {m[1]}}
		asked := 0
		for _, q := range questionField.FindAllStringSubmatch(page, -1) {
			if _, ok := key[q[1]]; ok {
				form["q-"+q[1]] = key[q[1]]
				asked++
			}
		}
		if asked != len(key) {
			t.Fatalf("%s: %d questions on the page", tc.lang, asked)
		}
		status, page = postForm(t, p.URL, path, form, p.URL)
		if status != 200 || !strings.Contains(page, tc.passed) || strings.Count(page, `data-correct="true"`) != len(key) ||
			!strings.Contains(page, `<p class="quiz-feedback">`+tc.right+`</p>`) || !strings.Contains(page, tc.htmlAttr) {
			t.Errorf("%s result page: %d\n%s", tc.lang, status, page)
		}
		// The same attempt again: closed, said in the page's language.
		status, page = postForm(t, p.URL, path, form, p.URL)
		if status != http.StatusConflict || !strings.Contains(page, tc.htmlAttr) {
			t.Errorf("%s second submission: %d", tc.lang, status)
		}
	}
	path := "/fr/training/" + gradedModule + "/quiz/"
	if status, _ := postForm(t, p.URL, path, url.Values{"step": {"start"}}, "https://elsewhere.example"); status != http.StatusForbidden {
		t.Errorf("form from another site: %d", status)
	}
	if status, _ := postForm(t, p.URL, path, url.Values{"step": {"start"}}, ""); status != http.StatusForbidden {
		t.Errorf("form without an origin: %d", status)
	}
	// A self-check quiz's page takes no form.
	if status, _ := postForm(t, p.URL, "/fr/training/"+publicModule+"/quiz/", url.Values{"step": {"start"}}, p.URL); status != http.StatusMethodNotAllowed {
		t.Errorf("form to a self-check quiz: %d", status)
	}
}

func TestReceiptsOverTheAPI(t *testing.T) {
	p, clock := withAccounts(t)
	key := gradedKey(t)
	c := p.NewClient(t)
	c.Header.Set("X-Forwarded-For", "192.0.2.77") // not trusted: the address stays the socket's
	c.RefreshCSRF()
	var sh attemptSheet
	c.JSON("POST", "/api/training/attempts", map[string]string{"module": gradedModule, "lang": "es"}, 201, &sh)
	var res attemptResult
	c.JSON("POST", "/api/training/attempts/"+sh.Attempt+"/answers", map[string]any{"answers": key}, 200, &res)
	if !res.Passed {
		t.Fatalf("not passed: %+v", res)
	}
	var rc struct {
		Code, Module, ModuleTitle, ModuleVersion, Lang, IssuedAt, ScoreBand, LearnerName, ExpiresAt, VerifyURL string
	}
	if resp, body := c.Do("POST", "/api/training/receipts", map[string]string{"attempt": sh.Attempt, "name": ""}); resp.StatusCode != 400 {
		t.Errorf("receipt without a name: %d %s", resp.StatusCode, body)
	}
	c.JSON("POST", "/api/training/receipts", map[string]string{"attempt": sh.Attempt, "name": "Lucía Pérez"}, 201, &rc)
	if rc.LearnerName != "Lucía Pérez" || rc.Lang != "es" || rc.ScoreBand != "90-100" || rc.ExpiresAt == "" ||
		!strings.HasPrefix(rc.VerifyURL, "/es/training/verify/?code=R1.") {
		t.Errorf("receipt: %+v", rc)
	}
	if resp, _ := c.Do("POST", "/api/training/receipts", map[string]string{"attempt": sh.Attempt, "name": "Again"}); resp.StatusCode != http.StatusConflict {
		t.Errorf("second receipt: %d", resp.StatusCode)
	}

	// Anyone can check the signature with the published key.
	var pk struct{ Algorithm, PublicKey string }
	c.JSON("GET", "/api/training/receipts/key", nil, 200, &pk)
	pub, err := base64.StdEncoding.DecodeString(pk.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("public key %q: %v", pk.PublicKey, err)
	}
	parts := strings.Split(strings.TrimPrefix(rc.Code, "R1."), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[0])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !ed25519.Verify(pub, append([]byte("portal/training/receipt/v1\n"), payload...), sig) {
		t.Error("the receipt's signature does not verify with the published key")
	}

	type verification struct {
		Kind, ModuleTitle, ModuleVersion, Lang, IssuedAt, LearnerName, ScoreBand, ExpiresAt string
		CurrentVersion, Expired, Revoked                                                    bool
	}
	var v verification
	c.JSON("GET", "/api/training/verify?code="+url.QueryEscape(rc.Code), nil, 200, &v)
	if v.Kind != "receipt" || v.LearnerName != "Lucía Pérez" || !v.CurrentVersion || v.Expired || v.Revoked ||
		v.ModuleTitle == "" || v.ExpiresAt != rc.ExpiresAt || v.IssuedAt != rc.IssuedAt {
		t.Errorf("verification: %+v", v)
	}
	// Forged: one byte of the signed name changed.
	forged := []byte(rc.Code)
	forged[10] ^= 1
	if resp, body := c.Do("GET", "/api/training/verify?code="+url.QueryEscape(string(forged)), nil); resp.StatusCode != 404 {
		t.Errorf("forged receipt: %d %s", resp.StatusCode, body)
	}

	// The printable certificate, rendered by the portal.
	page := func(code string) (int, string) {
		resp, body := c.Do("GET", "/es/training/certificate/?code="+url.QueryEscape(code), nil)
		return resp.StatusCode, string(body)
	}
	status, html := page(rc.Code)
	if status != 200 || !strings.Contains(html, "Lucía Pérez") || !strings.Contains(html, "certificate-status-valid") ||
		!strings.Contains(html, `<svg xmlns="http://www.w3.org/2000/svg"`) || !strings.Contains(html, "Válido hasta") {
		t.Errorf("certificate: %d\n%s", status, html)
	}
	if status, _ := page(string(forged)); status != 404 {
		t.Errorf("certificate of a forged code: %d", status)
	}

	// Revoked by a trainer; a member may not.
	mem := p.SeedUser(t, account.RoleMember)
	m := p.NewClient(t)
	m.Login(mem.Email, mem.Password, mem.TOTPSecret, clock.Now())
	if resp, _ := m.Do("POST", "/api/training/receipts/revoke", map[string]string{"code": rc.Code}); resp.StatusCode != 403 {
		t.Errorf("member revoking: %d", resp.StatusCode)
	}
	tr := p.SeedUser(t, account.RoleTrainer, "trainers")
	trc := p.NewClient(t)
	trc.Login(tr.Email, tr.Password, tr.TOTPSecret, clock.Now())
	if resp, body := trc.Do("POST", "/api/training/receipts/revoke", map[string]string{"code": rc.Code}); resp.StatusCode != 204 {
		t.Fatalf("trainer revoking: %d %s", resp.StatusCode, body)
	}
	c.JSON("GET", "/api/training/verify?code="+url.QueryEscape(rc.Code), nil, 200, &v)
	if !v.Revoked {
		t.Errorf("after revocation: %+v", v)
	}
	if _, html := page(rc.Code); !strings.Contains(html, "certificate-status-revoked") {
		t.Error("the certificate of a revoked receipt does not say so")
	}

	// The trainer's numbers: attempts by version and language, pass rates
	// by question, receipts counted without names.
	resp, body := trc.Do("GET", "/api/training/stats.csv?module="+gradedModule, nil)
	csvText := string(body)
	if resp.StatusCode != 200 || !regexp.MustCompile(`(?m)^graded attempts,\S+ es,[1-9]\d*,[1-9]\d*,`).MatchString(csvText) ||
		!regexp.MustCompile(`(?m)^question pass rate,term: `).MatchString(csvText) ||
		!regexp.MustCompile(`(?m)^receipts,revoked,[1-9]`).MatchString(csvText) || strings.Contains(csvText, "Lucía") {
		t.Errorf("stats CSV: %d\n%s", resp.StatusCode, csvText)
	}
}
