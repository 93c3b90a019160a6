package api

import (
	"net/url"
	"testing"

	"portal/access"
	"portal/language"
	"portal/search"
)

// FuzzParseMemberQuery feeds arbitrary query strings to the member search
// parser: whatever it accepts is within the allow-lists and bounds, so that
// only well-formed values ever reach the filter builder.
func FuzzParseMemberQuery(f *testing.F) {
	for _, s := range []string{
		"q=icse&topics=victim-identification&tlp=TLP%3ARED", "countries=FR&countries=fr", "year_from=2020&year_to=2019",
		`topics=x"+OR+access_groups+EXISTS`, "page=0", "sort=newest&scope=research", "q=%ff", "tlp=TLP:WHITE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseMemberQuery(v)
		if err != nil {
			return
		}
		check := func(name string, vals []string, ok func(string) bool) {
			if len(vals) > maxFilterValues {
				t.Fatalf("%s: %d values accepted", name, len(vals))
			}
			for _, x := range vals {
				if !ok(x) {
					t.Fatalf("%s value %q accepted", name, x)
				}
			}
		}
		check("topics", q.Topics, reSlug.MatchString)
		check("countries", q.Countries, reCountry.MatchString)
		check("regions", q.Regions, reSlug.MatchString)
		check("type", q.Types, reSlug.MatchString)
		check("language", q.Languages, reLang.MatchString)
		check("tlp", q.TLPs, func(s string) bool { return access.TLP(s).Valid() })
		if q.Page < 1 || q.Page > search.MaxPage || len(q.Text) > search.MaxQueryBytes || !language.Valid(q.Lang) {
			t.Fatalf("out of bounds: %+v", q)
		}
		if q.YearFrom != 0 && q.YearTo != 0 && q.YearFrom > q.YearTo {
			t.Fatalf("inverted years accepted: %+v", q)
		}
	})
}
