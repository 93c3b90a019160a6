package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/portaltest"
)

type suggestResp struct {
	Suggestions []struct{ Kind, ID, Title, URL string }
}

func suggestTitles(t *testing.T, c *portaltest.Client, q, lang string, kind string) []string {
	t.Helper()
	var res suggestResp
	c.JSON("GET", "/api/suggest?"+url.Values{"q": {q}, "lang": {lang}}.Encode(), nil, 200, &res)
	var out []string
	for _, s := range res.Suggestions {
		if kind == "" || s.Kind == kind {
			out = append(out, s.Title)
		}
	}
	return out
}

// Typeahead: anonymous readers get public titles in their language, from
// a cache; members get the research titles their groups may see and no
// other group's, re-checked against the store at once after a withdrawal.
func TestSuggest(t *testing.T) {
	p, clock := withAccounts(t)
	a := p.SeedUser(t, account.RoleMember, "victim-identification")
	b := p.SeedUser(t, account.RoleMember, "access-blocking")
	ac, bc, anon := p.NewClient(t), p.NewClient(t), p.NewClient(t)
	ac.Login(a.Email, a.Password, a.TOTPSecret, clock.Now())
	bc.Login(b.Email, b.Password, b.TOTPSecret, clock.Now())
	tag := fmt.Sprintf("zephyrine%d", clock.Now().UnixNano()%1e6)
	upload := func(c *portaltest.Client, title, group string) string {
		resp, body := c.Upload("POST", "/api/research", docMeta(title, []string{group}, access.Amber), "s.txt", []byte("Synthetic text."))
		if resp.StatusCode != 201 {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		var d docResp
		decode(t, body, &d)
		return d.ID
	}
	titleA, titleB := tag+" victim identification report", tag+" access blocking briefing"
	idA := upload(ac, titleA, "victim-identification")
	upload(bc, titleB, "access-blocking")

	// A prefix of the tag is enough: the last word is matched as typed so far.
	prefix := tag[:len(tag)-2]
	var gotA []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if gotA = suggestTitles(t, ac, prefix, "en", "research"); len(gotA) > 0 {
			break
		}
	}
	if !slices.Equal(gotA, []string{titleA}) {
		t.Errorf("group A member typing %q: %v, want only %q", prefix, gotA, titleA)
	}
	if got := suggestTitles(t, bc, prefix, "en", "research"); !slices.Equal(got, []string{titleB}) {
		t.Errorf("group B member typing %q: %v, want only %q", prefix, got, titleB)
	}
	if got := suggestTitles(t, anon, prefix, "en", ""); len(got) != 0 {
		t.Errorf("anonymous reader typing %q: %v, want nothing", prefix, got)
	}

	// Public titles, in the reader's language.
	for lang, want := range map[string]string{"en": "Yellow and Green Notices", "fr": "Notices jaunes et notices vertes", "ar": "النشرتان الصفراء والخضراء"} {
		typed := map[string]string{"en": "yellow not", "fr": "notices jau", "ar": "النشرتان الصف"}[lang]
		if got := suggestTitles(t, anon, typed, lang, "page"); !slices.Contains(got, want) {
			t.Errorf("anonymous %s typing %q: %v, want %q", lang, typed, got, want)
		}
	}
	for _, c := range []*portaltest.Client{anon, ac} {
		if resp, _ := c.Do("GET", "/api/suggest?q=yellow&lang=en", nil); resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
		}
	}
	if got := suggestTitles(t, ac, "y", "en", ""); len(got) != 0 {
		t.Errorf("one letter: %v, want no suggestions", got)
	}
	for _, bad := range []string{"/api/suggest?q=yellow&lang=de", "/api/suggest?q=yellow&page=2", "/api/suggest?q=a&q=b"} {
		if resp, body := anon.Do("GET", bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}

	// Withdrawn: gone from the suggestions at once, whatever the index
	// still holds.
	if resp, body := ac.Do("POST", "/api/research/"+idA+"/withdraw", nil); resp.StatusCode != 200 {
		t.Fatalf("withdraw: %d %s", resp.StatusCode, body)
	}
	if got := suggestTitles(t, ac, prefix, "en", "research"); len(got) != 0 {
		t.Errorf("after withdrawal: %v, want nothing", got)
	}
}
