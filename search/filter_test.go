package search

import (
	"errors"
	"strings"
	"testing"
)

// hostile holds values that try to leave their quotes or change precedence.
var hostile = []string{
	``, `a`, `"`, `\`, `\"`, `"\`, `\\"`, `a" OR lang EXISTS OR lang = "b`,
	`x" OR access_groups EXISTS OR id = "`, `") OR (kind = "page`, `NOT`, `AND`, `TO`,
	"line\nbreak", "tab\there", `'single'`, `[]`, `a\`, `\\\\`, `é ü 中文 العربية`,
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, v := range hostile {
		q, err := quote(v)
		if err != nil {
			t.Fatalf("quote(%q): %v", v, err)
		}
		got, rest, ok := parseQuoted(q)
		if !ok || rest != "" || got != v {
			t.Errorf("quote(%q) = %s: parsed back %q, rest %q, ok %v", v, q, got, rest, ok)
		}
	}
}

func TestEqualsRefusesUnknownField(t *testing.T) {
	for _, f := range []string{"storage_path", "lang OR 1", "", "Lang", "uploader"} {
		if _, err := Equals(f, "x"); !errors.Is(err, ErrFilter) {
			t.Errorf("Equals(%q) err = %v, want ErrFilter", f, err)
		}
	}
}

func TestQuoteRefusesLongAndInvalid(t *testing.T) {
	if _, err := quote(strings.Repeat("a", maxFilterValueBytes+1)); !errors.Is(err, ErrFilter) {
		t.Errorf("long value: err = %v, want ErrFilter", err)
	}
	if _, err := quote("\xff"); !errors.Is(err, ErrFilter) {
		t.Errorf("invalid UTF-8: err = %v, want ErrFilter", err)
	}
}

func TestAndFailsClosed(t *testing.T) {
	if _, err := And(Clause{}); !errors.Is(err, ErrFilter) {
		t.Errorf("And(zero clause) err = %v, want ErrFilter", err)
	}
	if _, err := OneOf("lang", nil); !errors.Is(err, ErrFilter) {
		t.Errorf("OneOf(empty) err = %v, want ErrFilter", err)
	}
	a, _ := Equals("lang", "en")
	b, _ := OneOf("section", []string{`x" OR lang = "fr`, "y"})
	got, err := And(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{`lang = "en"`, `section IN ["x\" OR lang = \"fr", "y"]`}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("And = %#v, want %#v", got, want)
	}
}

// FuzzQuote checks, for any input, that the quoted value is one token in
// Meilisearch's grammar (a backslash escapes the next character; the first
// unescaped quote ends it) that ends exactly where we close it, so nothing
// after it can be read as filter syntax.
func FuzzQuote(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		q, err := quote(v)
		if err != nil {
			if !errors.Is(err, ErrFilter) {
				t.Fatalf("quote(%q): unexpected error %v", v, err)
			}
			return
		}
		got, rest, ok := parseQuoted(q)
		if !ok || rest != "" {
			t.Fatalf("quote(%q) = %s: token ends early, rest %q", v, q, rest)
		}
		if got != v {
			t.Fatalf("quote(%q) = %s reads back as %q", v, q, got)
		}
		c, err := Equals("section", v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.String(), `section = "`) || !strings.HasSuffix(c.String(), `"`) {
			t.Fatalf("clause %s is not one comparison", c)
		}
	})
}

// parseQuoted reads a double-quoted token the way Meilisearch's filter parser
// delimits it, unescaping \x to x.
func parseQuoted(s string) (value, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", false
}
