package search_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"portal/search"
)

func TestSummary(t *testing.T) {
	words := func(w string, n int) string { return strings.TrimSpace(strings.Repeat(w+" ", n)) }
	exact := strings.Repeat("ب", 240) // 240 runes, 480 bytes
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "A synthetic abstract.", "A synthetic abstract."},
		{"exactly 240 runes", exact, exact},
		// 48 words of four letters and a space: rune 240 is a space, so
		// the cut falls between words 48 and 49.
		{"cut between words", words("abcd", 60), words("abcd", 48) + "…"},
		// Rune 240 is inside the 48th word: that word goes.
		{"cut inside a word", "xy" + words("abcd", 60), "xy" + words("abcd", 47) + "…"},
		{"separator before the cut", strings.Repeat("abcd, ", 60), strings.Repeat("abcd, ", 39) + "abcd…"},
		{"one long word", strings.Repeat("a", 300), strings.Repeat("a", 240) + "…"},
		{"Arabic as written", words("أطفال", 60), words("أطفال", 40) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := search.Summary(tc.in)
			if got != tc.want {
				t.Errorf("Summary(%q)\n got  %q\n want %q", tc.in, got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > 241 {
				t.Errorf("%d runes, want at most 240 and the ellipsis", n)
			}
		})
	}
}
