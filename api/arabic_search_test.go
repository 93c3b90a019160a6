package api_test

import (
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"portal/search"
)

// Arabic is matched on folded text (search.NormalizeArabic) but shown as
// written. For words of the Arabic pages with each letter the folding
// changes, searched as written and as a reader might type them without
// hamza or with ha for taa marbuta, every hit's title is its page's own
// title and its snippet is its page's own text, with the word itself, as
// written, marked.
func TestArabicSearchShowsTextAsWritten(t *testing.T) {
	p := portal(t)
	b, err := os.ReadFile(filepath.Join(p.SiteDir, "ar", "search-feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var feed struct {
		Pages []struct{ URL, Title, Description, Content string }
	}
	if err := json.Unmarshal(b, &feed); err != nil {
		t.Fatal(err)
	}
	pages := map[string]int{}
	for i, pg := range feed.Pages {
		pages[pg.URL] = i
	}
	for _, letter := range []string{"ة", "أ", "إ", "ى"} {
		word := arabicWordWith(feed.Pages[0].Content, letter)
		for _, pg := range feed.Pages {
			if word != "" {
				break
			}
			word = arabicWordWith(pg.Title+" "+pg.Content, letter)
		}
		if word == "" {
			t.Errorf("no Arabic page has a word with %s", letter)
			continue
		}
		for _, q := range []string{word, search.NormalizeArabic(word)} {
			r := searchAPI(t, p, url.Values{"q": {q}, "lang": {"ar"}})
			if len(r.Hits) == 0 {
				t.Errorf("%q (for %q): no hits", q, word)
				continue
			}
			markedAsWritten := false
			for _, h := range r.Hits {
				i, ok := pages[h.URL]
				if !ok {
					t.Errorf("%q: hit %s is not an Arabic page", q, h.URL)
					continue
				}
				pg := feed.Pages[i]
				if h.Title != pg.Title {
					t.Errorf("%q: title %q, want the page's own %q", q, h.Title, pg.Title)
				}
				for _, part := range snippetParts(h.Snippet) {
					if !strings.Contains(pg.Content, part) && !strings.Contains(pg.Description, part) {
						t.Errorf("%q: snippet of %s has %q, which is not the page's text", q, h.URL, part)
					}
				}
				for _, m := range marked.FindAllStringSubmatch(h.Snippet, -1) {
					markedAsWritten = markedAsWritten || html.UnescapeString(m[1]) == word
				}
			}
			if !markedAsWritten {
				t.Errorf("%q: no snippet marks %q as written; first snippet %q", q, word, r.Hits[0].Snippet)
			}
		}
	}
}

var marked = regexp.MustCompile(`<mark>(.*?)</mark>`)

// snippetParts returns a snippet's text without its marks, split where it
// was cut.
func snippetParts(snippet string) []string {
	s := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(snippet)
	var parts []string
	for _, part := range strings.Split(html.UnescapeString(s), "…") {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	return parts
}

// arabicWordWith returns the first word of text, of four letters or more,
// all Arabic, that contains letter.
func arabicWordWith(text, letter string) string {
	for _, w := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.Is(unicode.Arabic, r) || !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r)
	}) {
		if strings.Contains(w, letter) && len([]rune(w)) >= 4 {
			return w
		}
	}
	return ""
}

// Arabic synonyms: a reader's term, which no Arabic page uses, finds the
// pages that use another one, whatever the hamza.
func TestArabicSearchUsesSynonyms(t *testing.T) {
	p := portal(t)
	b, err := os.ReadFile(filepath.Join(p.SiteDir, "ar", "search-feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	folded := search.NormalizeArabic(string(b))
	for q, want := range map[string]string{
		"إشعار أصفر": "/ar/notices/",
		"اشعار اخضر": "/ar/notices/",
	} {
		if word := search.NormalizeArabic(strings.Fields(q)[1]); strings.Contains(folded, word) {
			t.Fatalf("%q: an Arabic page says %q; pick a term only a synonym can find", q, word)
		}
		r := searchAPI(t, p, url.Values{"q": {q}, "lang": {"ar"}})
		var got []string
		for _, h := range r.Hits {
			got = append(got, h.URL)
		}
		if !slices.Contains(got, want) {
			t.Errorf("%q: hits %v, want %s among them", q, got, want)
		}
	}
}
