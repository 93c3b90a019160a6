package search

import (
	"strings"
	"unicode/utf8"
)

// NormalizeArabic folds the spelling variants of Arabic that readers do not
// type consistently: alef with hamza or madda and alef wasla become bare
// alef, hamza on waw and on ya become waw and ya, alef maqsura becomes ya,
// taa marbuta becomes ha, and diacritics (harakat, tanwin, shadda, sukun,
// superscript alef) and tatweel are dropped. The same function runs on
// indexed text and on queries, so both sides meet. Other scripts pass
// through unchanged.
//
// The folding is rune by rune (each rune becomes one rune or none), which is
// what lets restoreOriginal map a match in folded text back onto the text
// as written.
func NormalizeArabic(s string) string {
	if !strings.ContainsFunc(s, isArabic) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if f, ok := foldArabic(r); ok {
			b.WriteRune(f)
		}
	}
	return b.String()
}

// foldArabic is NormalizeArabic for one rune: the rune it becomes, or false
// when it is dropped.
func foldArabic(r rune) (rune, bool) {
	switch {
	case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
		return 'ا', true
	case r == 'ؤ':
		return 'و', true
	case r == 'ئ' || r == 'ى':
		return 'ي', true
	case r == 'ة':
		return 'ه', true
	case r >= 0x064B && r <= 0x0652, r == 0x0670, r == 0x0640:
		// diacritics, superscript alef, tatweel
		return 0, false
	}
	return r, true
}

func isArabic(r rune) bool { return r >= 0x0600 && r <= 0x06FF }

// restoreOriginal maps a highlighted, possibly cropped passage of folded
// text (as Meilisearch returns it for a field holding
// NormalizeArabic(original)) back onto original: it returns the same passage
// as written, with the highlight markers at the same letters. ok is false
// when the passage is not a part of the folded original, which would mean
// the index is out of step with the document it stores.
//
// Meilisearch crops by slicing the indexed text, so the passage without its
// markers and crop markers is a substring of the folded original; since
// folding maps each rune to one rune or none, walking both texts side by
// side puts every marker back between the right letters. Dropped runes
// (diacritics, tatweel) stay with the letter before them, inside a match
// that ends on that letter.
func restoreOriginal(passage, original, cropMarker string) (string, bool) {
	core := passage
	pre := strings.HasPrefix(core, cropMarker)
	core = strings.TrimPrefix(core, cropMarker)
	suf := strings.HasSuffix(core, cropMarker)
	core = strings.TrimSuffix(core, cropMarker)
	plain := strings.NewReplacer(markStart, "", markEnd, "").Replace(core)
	start := strings.Index(NormalizeArabic(original), plain)
	if start < 0 {
		return "", false
	}
	// Find where the passage starts in the original: the first kept rune
	// whose folded offset is start.
	i, folded := 0, 0
	for i < len(original) && folded < start {
		r, size := utf8.DecodeRuneInString(original[i:])
		if f, ok := foldArabic(r); ok {
			folded += utf8.RuneLen(f)
		}
		i += size
	}
	if folded != start {
		return "", false
	}
	for i < len(original) { // marks of the letter before the passage
		r, size := utf8.DecodeRuneInString(original[i:])
		if _, kept := foldArabic(r); kept {
			break
		}
		i += size
	}
	var b strings.Builder
	if pre {
		b.WriteString(cropMarker)
	}
	rest := core
	for i < len(original) {
		r, size := utf8.DecodeRuneInString(original[i:])
		f, kept := foldArabic(r)
		if !kept {
			b.WriteString(original[i : i+size])
			i += size
			continue
		}
		if rest = copyMarkers(&b, rest); rest == "" {
			break
		}
		pr, psize := utf8.DecodeRuneInString(rest)
		if pr != f {
			return "", false
		}
		rest = rest[psize:]
		b.WriteString(original[i : i+size])
		i += size
	}
	if rest = copyMarkers(&b, rest); rest != "" {
		return "", false
	}
	if suf {
		b.WriteString(cropMarker)
	}
	return b.String(), true
}

// copyMarkers copies the highlight markers at the start of s to b and
// returns the rest of s.
func copyMarkers(b *strings.Builder, s string) string {
	for {
		switch {
		case strings.HasPrefix(s, markStart):
			b.WriteString(markStart)
			s = s[len(markStart):]
		case strings.HasPrefix(s, markEnd):
			b.WriteString(markEnd)
			s = s[len(markEnd):]
		default:
			return s
		}
	}
}
