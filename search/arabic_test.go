package search

import "testing"

func TestNormalizeArabic(t *testing.T) {
	cases := map[string]string{
		"إنتربول":           "انتربول",
		"أطفال":             "اطفال",
		"آمنة":              "امنه",
		"مسؤول":             "مسوول",
		"هيئة":              "هييه",
		"مستشفى":            "مستشفي",
		"الضَّحِيَّةُ":      "الضحيه",
		"الجـــرائم":        "الجرايم",
		"ICSE database":     "ICSE database",
		"ICSE قاعدة بيانات": "ICSE قاعده بيانات",
	}
	for in, want := range cases {
		if got := NormalizeArabic(in); got != want {
			t.Errorf("NormalizeArabic(%q) = %q, want %q", in, got, want)
		}
	}
}
