package complaints

import (
	"strings"
	"testing"
	"time"
)

func TestNormaliseDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Example.ORG":                         "example.org",
		"https://www.example.org/some/path?q": "www.example.org",
		"http://user@Example.org:8080/":       "example.org",
		"example.org.":                        "example.org",
		"  bücher.example  ":                  "xn--bcher-kva.example",
		"BÜCHER.example":                      "xn--bcher-kva.example",
		"xn--bcher-kva.example":               "xn--bcher-kva.example",
		"пример.рф":                           "xn--e1afmkfd.xn--p1ai",
	} {
		got, err := NormaliseDomain(in)
		if err != nil || got != want {
			t.Errorf("NormaliseDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "localhost", "192.0.2.1", "[2001:db8::1]", "exa mple.org", "-bad.example",
		"bad-.example", "a..example", strings.Repeat("a", 64) + ".example", strings.Repeat("abcdefghi.", 30) + "org", "example.org<script>"} {
		if got, err := NormaliseDomain(in); err == nil {
			t.Errorf("NormaliseDomain(%q) = %q, want a refusal", in, got)
		}
	}
}

func validForm() Form {
	return Form{Lang: "fr", Domain: "https://Example.org/", Name: "Camille Martin", Organisation: "Synthetic SARL",
		Email: " Camille@Example.ORG ", Relation: "owner",
		Explanation: "This synthetic explanation says that example.org changed owner in 2025 and holds a bakery's pages."}
}

func TestFormCheck(t *testing.T) {
	f, err := validForm().Check()
	if err != nil {
		t.Fatal(err)
	}
	if f.Domain != "example.org" || f.Email != "camille@example.org" || f.Lang != "fr" {
		t.Errorf("normalised form: %+v", f)
	}
	refusals := map[string]func(*Form){
		"invalid_domain":       func(f *Form) { f.Domain = "not a domain" },
		"invalid_name":         func(f *Form) { f.Name = "" },
		"invalid_email":        func(f *Form) { f.Email = "Camille <camille@example.org>" },
		"invalid_relation":     func(f *Form) { f.Relation = "friend" },
		"explanation_too_long": func(f *Form) { f.Explanation = strings.Repeat("é", MaxExplanation+1) },
		"invalid_explanation":  func(f *Form) { f.Explanation = "too short" },
		"url_in_text": func(f *Form) {
			f.Explanation = "Please look at https://example.org/page before deciding, it is fine."
		},
	}
	for code, change := range refusals {
		f := validForm()
		change(&f)
		_, err := f.Check()
		if r, ok := err.(*Refusal); !ok || r.Code != code {
			t.Errorf("%s: got %v", code, err)
		}
	}
}

func TestCheckTextRefusesLinksBeyondTheDomain(t *testing.T) {
	ok := []string{
		"The domain example.org now belongs to a bakery, e.g. since 3.5 years.",
		"Our shop at www2.example.org and example.org are the same site.",
		"Write to me at owner@mail.invalid if needed.",
		"L'hébergeur a supprimé le contenu en mars ; le domaine example.org est propre.",
	}
	for _, text := range ok {
		if r := checkText(text, "example.org", "explanation"); r != nil {
			t.Errorf("checkText(%q) refused: %v", text, r)
		}
	}
	bad := []string{
		"See other-site.net for details.",
		"See example.org/files for the proof.",
		"hxxp://example.org is clean",
		"www.example.org is clean",
		"Un lien : ftp://files.example.org",
		"Voyez bücher.example aussi.",
		"The mirror is at example.org.evil.example now.",
	}
	for _, text := range bad {
		if r := checkText(text, "example.org", "explanation"); r == nil || r.Code != "url_in_text" {
			t.Errorf("checkText(%q) = %v, want url_in_text", text, r)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	fri := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // a Friday
	if got := addWorkingDays(fri, 2); !got.Equal(time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("Friday + 2 working days = %s, want Tuesday", got)
	}
	mon := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if got := addWorkingDays(mon, 2); !got.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Monday + 2 working days = %s, want Wednesday", got)
	}
}

func TestCaseNumbers(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for range 200 {
		n := newNumber(at)
		if len(n) != len("CP-2026-4F7K") || !strings.HasPrefix(n, "CP-2026-") {
			t.Fatalf("number %q", n)
		}
		for _, r := range n[8:] {
			if !strings.ContainsRune(numberAlphabet, r) || strings.ContainsRune("01ILOU", r) {
				t.Fatalf("number %q has an ambiguous character", n)
			}
		}
		seen[n] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct numbers in 200", len(seen))
	}
}

func TestMonthly(t *testing.T) {
	d := func(month, day int) time.Time { return time.Date(2026, time.Month(month), day, 12, 0, 0, 0, time.UTC) }
	cases := []Case{
		{OpenedAt: d(1, 10), AcknowledgedAt: d(1, 11), DecidedAt: d(1, 20), ClosedAt: d(1, 20), Outcome: Upheld},
		{OpenedAt: d(1, 15), AcknowledgedAt: d(1, 18), DecidedAt: d(3, 1), ClosedAt: d(3, 1), Outcome: Rejected},
		{OpenedAt: d(2, 1)},
	}
	got := monthly(cases, d(3, 15))
	if len(got) != 3 {
		t.Fatalf("months: %+v", got)
	}
	jan, feb, mar := got[0], got[1], got[2]
	if jan.Month != "2026-01" || jan.Opened != 2 || jan.Decided != 1 || jan.Upheld != 1 || jan.OpenAtEnd != 1 ||
		*jan.MedianDaysToAcknowledge != 2 || *jan.MedianDaysToDecision != 10 {
		t.Errorf("January: %+v", jan)
	}
	if feb.Opened != 1 || feb.OpenAtEnd != 2 || feb.MedianDaysToAcknowledge != nil {
		t.Errorf("February: %+v", feb)
	}
	if mar.Decided != 1 || mar.Rejected != 1 || mar.OpenAtEnd != 1 || *mar.MedianDaysToDecision != 45 {
		t.Errorf("March: %+v", mar)
	}
}
