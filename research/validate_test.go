package research_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/extract"
	"portal/research"
)

func TestNormalize(t *testing.T) {
	now := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	base := meta([]string{"x"}, access.Amber)
	tests := []struct {
		name   string
		change func(m *research.Metadata)
		field  string // "" when valid
		reason string // substring of the reason, if checked
	}{
		{"valid", func(m *research.Metadata) {}, "", ""},
		{"empty title", func(m *research.Metadata) { m.Title = "  " }, "title", "required"},
		{"title of 300 runes", func(m *research.Metadata) { m.Title = strings.Repeat("é", 300) }, "", ""},
		{"title of 301 runes", func(m *research.Metadata) { m.Title = strings.Repeat("é", 301) }, "title", "300"},
		{"title with newline", func(m *research.Metadata) { m.Title = "a\nb" }, "title", "control"},
		{"title with bidi override", func(m *research.Metadata) { m.Title = "report\u202efdp.exe" }, "title", "control"},
		{"arabic title with marks", func(m *research.Metadata) { m.Title = "تقرير\u200f 2024" }, "", ""},
		{"invalid utf-8", func(m *research.Metadata) { m.Organisation = "\xff" }, "organisation", "UTF-8"},
		{"51 authors", func(m *research.Metadata) { m.Authors = make([]string, 51) }, "authors", "50"},
		{"long author", func(m *research.Metadata) { m.Authors = []string{strings.Repeat("a", 201)} }, "authors", "200"},
		{"abstract of 5001", func(m *research.Metadata) { m.Abstract = strings.Repeat("a", 5001) }, "abstract", "5000"},
		{"abstract with lines", func(m *research.Metadata) { m.Abstract = "one\r\ntwo\tthree" }, "", ""},
		{"year 1899", func(m *research.Metadata) { m.Year = 1899 }, "year", "1900"},
		{"year 0", func(m *research.Metadata) { m.Year = 0 }, "year", ""},
		{"next year", func(m *research.Metadata) { m.Year = 2026 }, "", ""},
		{"year after next", func(m *research.Metadata) { m.Year = 2027 }, "year", "2026"},
		{"unknown language", func(m *research.Metadata) { m.Language = "xx" }, "language", ""},
		{"language other", func(m *research.Metadata) { m.Language = "other" }, "", ""},
		{"unknown type", func(m *research.Metadata) { m.Type = "memo" }, "type", "case-study"},
		{"no topics", func(m *research.Metadata) { m.Topics = nil }, "topics", "at least one"},
		{"unknown topic", func(m *research.Metadata) { m.Topics = []string{"grooming", "cooking"} }, "topics", "cooking"},
		{"bad country", func(m *research.Metadata) { m.Countries = []string{"ZZ"} }, "countries", "ZZ"},
		{"lower-case country", func(m *research.Metadata) { m.Countries = []string{"fr"} }, "", ""},
		{"bad region", func(m *research.Metadata) { m.Regions = []string{"mars"} }, "regions", "mars"},
		{"no groups", func(m *research.Metadata) { m.AccessGroups = nil }, "access_groups", "at least one"},
		{"bad group", func(m *research.Metadata) { m.AccessGroups = []string{"Bad_Group"} }, "access_groups", "group name"},
		{"public group", func(m *research.Metadata) { m.AccessGroups = []string{"x", "public"} }, "access_groups", "public"},
		{"bad tlp", func(m *research.Metadata) { m.TLP = "TLP:BLUE" }, "tlp", ""},
		{"red for members", func(m *research.Metadata) {
			m.TLP, m.AccessGroups = access.Red, []string{"members"}
		}, "access_groups", "TLP:RED material must name the groups that may see it"},
		{"red for a group", func(m *research.Metadata) { m.TLP, m.AccessGroups = access.Red, []string{"members", "x"} }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			m.Authors = slices.Clone(base.Authors)
			tt.change(&m)
			got, err := research.Normalize(m, now)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ve *research.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, research.ErrInvalid) {
				t.Fatalf("got %v (%+v), want a ValidationError", err, got)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Reason, tt.reason) {
				t.Fatalf("got %s: %s, want %s: …%s…", ve.Field, ve.Reason, tt.field, tt.reason)
			}
		})
	}

	m := base
	m.Title, m.Countries, m.Topics, m.Authors = "  Spaced  ", []string{"fr", "BR", "FR"}, []string{"sextortion", "grooming", "sextortion"}, []string{"B", " ", "A"}
	got, err := research.Normalize(m, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Spaced" || !slices.Equal(got.Countries, []string{"BR", "FR"}) ||
		!slices.Equal(got.Topics, []string{"grooming", "sextortion"}) || !slices.Equal(got.Authors, []string{"B", "A"}) {
		t.Fatalf("normalised %+v", got)
	}
}

func TestSanitizeFilename(t *testing.T) {
	long := strings.Repeat("é", 150) + ".pdf" // 304 bytes
	tests := []struct {
		in   string
		kind extract.Kind
		want string
	}{
		{"report.pdf", extract.KindPDF, "report.pdf"},
		{"../../etc/passwd", extract.KindText, "passwd.txt"},
		{`..\..\windows\win.ini`, extract.KindText, "win.ini.txt"},
		{`a";x=.html`, extract.KindPDF, "a;x=.html.pdf"},
		{"evil.html", extract.KindPDF, "evil.html.pdf"},
		{"Notes.MD", extract.KindMarkdown, "Notes.MD"},
		{"notes", extract.KindMarkdown, "notes.md"},
		{"line\r\nbreak.docx", extract.KindDOCX, "linebreak.docx"},
		{"rlo\u202etxt.pdf", extract.KindPDF, "rlotxt.pdf"},
		{".hidden", extract.KindText, "hidden.txt"},
		{"", extract.KindPDF, "document.pdf"},
		{"/", extract.KindPDF, "document.pdf"},
		{"\xff\xfe.pdf", extract.KindPDF, "pdf.pdf"},
	}
	for _, tt := range tests {
		if got := research.SanitizeFilename(tt.in, tt.kind); got != tt.want {
			t.Errorf("SanitizeFilename(%q, %s) = %q, want %q", tt.in, tt.kind, got, tt.want)
		}
	}
	got := research.SanitizeFilename(long, extract.KindPDF)
	if len(got) > research.MaxFilename || !strings.HasSuffix(got, ".pdf") || !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("long name cut to %q (%d bytes)", got, len(got))
	}
	got = research.SanitizeFilename(strings.Repeat("a", 300)+".html", extract.KindPDF)
	if len(got) > research.MaxFilename || !strings.HasSuffix(got, ".pdf") {
		t.Errorf("long mismatched name cut to %q (%d bytes)", got, len(got))
	}
}

func TestVocabularies(t *testing.T) {
	topics, err := research.Topics()
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) < 15 {
		t.Errorf("%d topics, want at least 15", len(topics))
	}
	for _, want := range []string{"online-sexual-exploitation", "victim-identification", "access-blocking",
		"travelling-sex-offenders", "sextortion", "grooming", "live-streaming", "international-cooperation",
		"legislation", "prevention", "offender-management", "victim-support", "digital-forensics",
		"hotlines-and-reporting", "travel-and-tourism"} {
		if !research.ValidTopic(want) {
			t.Errorf("topic %s missing", want)
		}
	}
	for _, tp := range topics {
		for _, lang := range []string{"en", "fr", "es", "ar"} {
			if tp.Labels[lang] == "" {
				t.Errorf("topic %s has no %s label", tp.ID, lang)
			}
		}
	}
	topics[0].Labels["en"] = "changed"
	if again, _ := research.Topics(); again[0].Labels["en"] == "changed" {
		t.Error("Topics returns shared maps")
	}
	if research.ValidTopic("Grooming") || research.ValidTopic("") {
		t.Error("ValidTopic accepts non-ids")
	}

	countries, err := research.Countries()
	if err != nil {
		t.Fatal(err)
	}
	if len(countries) != 249 {
		t.Errorf("%d countries, want the 249 of ISO 3166-1", len(countries))
	}
	for _, c := range []string{"FR", "BR", "SN", "JO", "PH", "AQ"} {
		if !research.ValidCountry(c) {
			t.Errorf("ValidCountry(%s) = false", c)
		}
	}
	for _, c := range []string{"fr", "ZZ", "UK", "EU", "FRA", ""} {
		if research.ValidCountry(c) {
			t.Errorf("ValidCountry(%q) = true", c)
		}
	}
	if !research.ValidRegion("middle-east-north-africa") || research.ValidRegion("Europe") {
		t.Error("ValidRegion")
	}
	for _, ty := range research.Types() {
		if !ty.Valid() {
			t.Errorf("%s not valid", ty)
		}
	}
	if len(research.Types()) != 7 || research.Type("memo").Valid() {
		t.Error("Types")
	}
}
