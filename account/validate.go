package account

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"portal/access"
)

const (
	maxEmailBytes   = 254
	maxNameRunes    = 100
	maxGroups       = 64
	maxCodeInputLen = 64
)

// NormalizeEmail trims and lower-cases an e-mail address and checks its
// shape: at most 254 bytes, exactly one @ with a non-empty local part and a
// dotted domain, no spaces or control characters. The error is an
// *InputError.
func NormalizeEmail(s string) (string, error) {
	bad := func(reason string) error { return &InputError{Field: "email", Reason: reason} }
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", bad("is required")
	case len(s) > maxEmailBytes:
		return "", bad("is too long")
	case !utf8.ValidString(s):
		return "", bad("is not valid text")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return "", bad("must not contain spaces or control characters")
	case strings.Count(s, "@") != 1:
		return "", bad("must contain exactly one @")
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" {
		return "", bad("needs a name before the @")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || slices.Contains(labels, "") {
		return "", bad("needs a domain such as example.org")
	}
	return s, nil
}

// normDisplayName trims a display name and checks that it is 1–100
// characters of printable text.
func normDisplayName(s string) (string, error) { return normText("display_name", maxNameRunes, s) }

// normText trims a name a member types (a display name, a passkey's name)
// and checks that it is 1 to max characters of printable text, with no
// control or formatting characters (bidi overrides among them), which
// could make it read as something else on the admins' pages.
func normText(field string, max int, s string) (string, error) {
	bad := func(reason string) error { return &InputError{Field: field, Reason: reason} }
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", bad("is required")
	case !utf8.ValidString(s):
		return "", bad("is not valid text")
	case utf8.RuneCountInString(s) > max:
		return "", bad("is too long")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.In(r, unicode.Cf) }) >= 0:
		return "", bad("must not contain control characters")
	}
	return s, nil
}

// normGroups validates group names and returns them sorted, without
// duplicates, always including GroupMembers.
func normGroups(groups []string) ([]string, error) {
	out := []string{GroupMembers}
	for _, g := range groups {
		if !access.ValidGroup(g) {
			return nil, &InputError{Field: "groups", Reason: "names are " + access.GroupRule}
		}
		out = append(out, g)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxGroups {
		return nil, &InputError{Field: "groups", Reason: "too many groups"}
	}
	return out, nil
}

func validRole(r Role) error {
	if !r.Valid() {
		return &InputError{Field: "role", Reason: `must be "member", "trainer" or "admin"`}
	}
	return nil
}

// clip cuts s to at most n bytes on a rune boundary and drops invalid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// NormText is normText for the names members type in other packages (a
// saved search's, package alerts), so that every typed name follows one
// rule. The error is an *InputError naming field.
func NormText(field string, max int, s string) (string, error) { return normText(field, max, s) }
