package search_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/search"
	"portal/search/meilitest"
)

// An Arabic research passage is matched on its folded text and shown as
// written, the matched word marked, whichever spelling the member typed.
func TestArabicResearchHitsShowTheTextAsWritten(t *testing.T) {
	m, err := meilitest.Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Process.Stop() })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	master := search.NewClient(m.URL, m.MasterKey)
	searchKey, err := search.ProvisionKey(ctx, master, search.SearchKey(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	adminKey, err := search.ProvisionKey(ctx, master, search.AdminKey(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ix := search.NewIndexer(search.NewClient(m.URL, adminKey), nil)
	if err := ix.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	const passage = "سجل اصطناعي للاختبار: تتعاون هيئةٌ وطنية مع الشرطة على حماية الأطفال، ثم إبلاغ المستشفى."
	d := search.ResearchDoc{ID: strings.Repeat("a", 32), Version: 1, Title: "تقرير اصطناعي عن الهيئة",
		Abstract: "سجل اصطناعي.", Year: 2024, Language: "ar", Type: "study",
		AccessGroups: []string{"members"}, TLP: string(access.Green), UpdatedAt: time.Now()}
	if err := ix.IndexResearch(ctx, d, []search.ResearchPassage{{Number: 1, Text: passage}}); err != nil {
		t.Fatal(err)
	}
	s := search.NewSearcher(m.URL, searchKey, search.SearchKey().UID)
	member := access.Subject{Groups: []string{"members"}}
	for q, marked := range map[string]string{
		"هيئة":     "هيئةٌ",
		"هييه":     "هيئةٌ",
		"الاطفال":  "الأطفال",
		"ابلاغ":    "إبلاغ",
		"المستشفي": "المستشفى",
	} {
		res, err := s.Member(ctx, member, search.MemberQuery{Text: q, Lang: "ar", Page: 1, Scope: "research"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 {
			t.Errorf("%q: %d hits, want the one record", q, len(res.Hits))
			continue
		}
		h := res.Hits[0]
		if h.Title != d.Title {
			t.Errorf("%q: title %q, want %q", q, h.Title, d.Title)
		}
		plain := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(h.Snippet)
		if plain != passage || !strings.Contains(h.Snippet, "<mark>"+marked+"</mark>") {
			t.Errorf("%q: snippet %q, want the passage as written with %q marked", q, h.Snippet, marked)
		}
	}
}
