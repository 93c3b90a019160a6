package search

import "strings"

// NormalizeArabic folds the spelling variants of Arabic that readers do not
// type consistently: alef with hamza or madda and alef wasla become bare
// alef, hamza on waw and on ya become waw and ya, alef maqsura becomes ya,
// taa marbuta becomes ha, and diacritics (harakat, tanwin, shadda, sukun,
// superscript alef) and tatweel are dropped. The same function runs on
// indexed text and on queries, so both sides meet. Other scripts pass
// through unchanged.
func NormalizeArabic(s string) string {
	if !strings.ContainsFunc(s, isArabic) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
			b.WriteRune('ا')
		case r == 'ؤ':
			b.WriteRune('و')
		case r == 'ئ' || r == 'ى':
			b.WriteRune('ي')
		case r == 'ة':
			b.WriteRune('ه')
		case r >= 0x064B && r <= 0x0652, r == 0x0670, r == 0x0640:
			// diacritics, superscript alef, tatweel
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isArabic(r rune) bool { return r >= 0x0600 && r <= 0x06FF }
