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

func TestRestoreOriginal(t *testing.T) {
	const original = "تعمل هيئةٌ دولية مع الإنتربول على حماية الأطفال في كل مستشفى."
	cases := []struct{ passage, want string }{
		// The whole text, a match on a word with a diacritic after its last
		// letter: the diacritic stays inside the mark.
		{NormalizeArabic("تعمل ") + markStart + "هييه" + markEnd + NormalizeArabic(" دولية مع الإنتربول على حماية الأطفال في كل مستشفى."),
			"تعمل " + markStart + "هيئةٌ" + markEnd + " دولية مع الإنتربول على حماية الأطفال في كل مستشفى."},
		// Cropped on both sides, a match split by the article.
		{"…مع " + markStart + "ال" + markEnd + markStart + "انتربول" + markEnd + " علي…",
			"…مع " + markStart + "ال" + markEnd + markStart + "إنتربول" + markEnd + " على…"},
		// A match at the very end.
		{"…في كل " + markStart + "مستشفي" + markEnd + ".", "…في كل " + markStart + "مستشفى" + markEnd + "."},
	}
	for _, c := range cases {
		got, ok := restoreOriginal(c.passage, original, "…")
		if !ok || got != c.want {
			t.Errorf("restoreOriginal(%q) = %q, %v; want %q", c.passage, got, ok, c.want)
		}
	}
	if got, ok := restoreOriginal("…نص "+markStart+"اخر"+markEnd+"…", original, "…"); ok {
		t.Errorf("a passage from elsewhere was mapped: %q", got)
	}
}
