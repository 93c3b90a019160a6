package research

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"portal/access"
	"portal/account"
	"portal/extract"
)

// Limits on metadata, in runes unless named otherwise.
const (
	MaxTitle        = 300
	MaxAuthors      = 50
	MaxAuthor       = 200
	MaxOrganisation = 300
	MaxAbstract     = 5000
	MaxGroups       = 64
	MaxFilename     = 200 // bytes
	MinYear         = 1900
)

var slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// Normalize checks m and returns it cleaned: text trimmed, codes in their
// canonical case, lists sorted without duplicates (authors keep their
// order). now gives the latest acceptable year (next year). The error is a
// *ValidationError. Whether the uploader may grant the groups is checked
// separately, by checkGrant.
func Normalize(m Metadata, now time.Time) (Metadata, error) {
	var err error
	if m.Title, err = cleanText("title", m.Title, MaxTitle, false); err != nil {
		return m, err
	}
	if m.Title == "" {
		return m, invalid("title", "is required")
	}
	if len(m.Authors) > MaxAuthors {
		return m, invalid("authors", fmt.Sprintf("at most %d authors", MaxAuthors))
	}
	authors := make([]string, 0, len(m.Authors))
	for _, a := range m.Authors {
		if a, err = cleanText("authors", a, MaxAuthor, false); err != nil {
			return m, err
		}
		if a != "" {
			authors = append(authors, a)
		}
	}
	m.Authors = authors
	if m.Organisation, err = cleanText("organisation", m.Organisation, MaxOrganisation, false); err != nil {
		return m, err
	}
	if m.Abstract, err = cleanText("abstract", m.Abstract, MaxAbstract, true); err != nil {
		return m, err
	}
	if maxYear := now.Year() + 1; m.Year < MinYear || m.Year > maxYear {
		return m, invalid("year", fmt.Sprintf("must be between %d and %d", MinYear, maxYear))
	}
	m.Language = strings.ToLower(strings.TrimSpace(m.Language))
	if !ValidLanguage(m.Language) {
		return m, invalid("language", "must be one of "+strings.Join(Languages(), ", "))
	}
	if !m.Type.Valid() {
		return m, invalid("type", "must be one of "+joinTypes())
	}

	if m.Topics, err = normList("topics", m.Topics, strings.ToLower, ValidTopic, "is not a known topic"); err != nil {
		return m, err
	}
	if len(m.Topics) == 0 {
		return m, invalid("topics", "choose at least one topic")
	}
	if m.Countries, err = normList("countries", m.Countries, strings.ToUpper, ValidCountry, "is not an ISO 3166-1 country code"); err != nil {
		return m, err
	}
	if m.Regions, err = normList("regions", m.Regions, strings.ToLower, ValidRegion, "is not one of "+strings.Join(Regions(), ", ")); err != nil {
		return m, err
	}

	if m.AccessGroups, err = normList("access_groups", m.AccessGroups, func(s string) string { return s },
		access.ValidGroup, "is not a group name ("+access.GroupRule+")"); err != nil {
		return m, err
	}
	switch {
	case len(m.AccessGroups) == 0:
		return m, invalid("access_groups", "name at least one group")
	case len(m.AccessGroups) > MaxGroups:
		return m, invalid("access_groups", fmt.Sprintf("at most %d groups", MaxGroups))
	case slices.Contains(m.AccessGroups, access.Public):
		return m, invalid("access_groups", `research is for members only; "public" cannot be granted`)
	}
	if !m.TLP.Valid() {
		return m, invalid("tlp", "must be one of "+joinTLP())
	}
	if m.TLP == access.Red && !slices.ContainsFunc(m.AccessGroups, func(g string) bool { return g != access.Members }) {
		return m, invalid("access_groups", "TLP:RED material must name the groups that may see it")
	}
	return m, nil
}

// checkGrant refuses groups that a non-admin adds without belonging to
// them. prev are the groups the record had before, which the uploader may
// keep (an admin may have added them).
func checkGrant(u *account.User, groups, prev []string) error {
	if isAdmin(u) {
		return nil
	}
	var missing []string
	for _, g := range groups {
		if !slices.Contains(prev, g) && !u.InGroup(g) {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		return &ForbiddenError{Reason: "you can only grant access to groups you belong to; you are not in " +
			strings.Join(missing, ", ")}
	}
	return nil
}

// cleanText trims s and checks that it is valid text of at most max runes,
// without control characters (multiline allows line breaks and tabs) or
// the bidirectional embeddings and overrides that can make text display
// differently from what it says.
func cleanText(field, s string, max int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid(field, "is not valid UTF-8 text")
	}
	if multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", invalid(field, fmt.Sprintf("is longer than %d characters", max))
	}
	if strings.IndexFunc(s, func(r rune) bool {
		if multiline && (r == '\n' || r == '\t') {
			return false
		}
		return unicode.IsControl(r) || bidiControl(r)
	}) >= 0 {
		return "", invalid(field, "must not contain control characters")
	}
	return s, nil
}

// bidiControl reports the explicit embedding, override and isolate
// controls and the BOM. Marks (LRM, RLM, ALM) and joiners stay allowed:
// Arabic text needs them.
func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0xfeff
}

// normList trims, canonicalises, checks, sorts and de-duplicates a list.
func normList(field string, in []string, canon func(string) string, ok func(string) bool, reason string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, v := range in {
		v = canon(strings.TrimSpace(v))
		if v == "" {
			continue
		}
		if !ok(v) {
			if len(v) > 64 || !utf8.ValidString(v) {
				return nil, invalid(field, "contains a value that "+reason)
			}
			return nil, invalid(field, fmt.Sprintf("%q %s", v, reason))
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func joinTypes() string {
	var b strings.Builder
	for i, t := range Types() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

func joinTLP() string {
	var b strings.Builder
	for i, t := range access.Labels() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

// kindExts are the extensions a display name may keep for each kind.
var kindExts = map[extract.Kind][]string{
	extract.KindPDF:      {".pdf"},
	extract.KindDOCX:     {".docx"},
	extract.KindMarkdown: {".md", ".markdown"},
	extract.KindText:     {".txt", ".text"},
}

// SanitizeFilename turns an uploaded file's name into a display name for
// listings and Content-Disposition: the base name only (no directories,
// either separator), without control characters, quotes, bidirectional
// controls or leading dots, at most MaxFilename bytes, and ending in an
// extension that matches kind, so that a saved download opens as what it
// is (a PDF named x.html is saved as x.html.pdf). It is never used as a
// path: files are stored by hash.
func SanitizeFilename(name string, kind extract.Kind) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), bidiControl(r), r == '"', r == '\'', r == '`':
			return -1
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimSpace(name)

	exts := kindExts[kind]
	ext := strings.ToLower(path.Ext(name))
	suffix := ""
	if len(exts) > 0 && !slices.Contains(exts, ext) {
		suffix = exts[0]
	}
	if name == "" {
		name = "document"
	}
	if len(name)+len(suffix) > MaxFilename {
		keep := MaxFilename - len(suffix)
		if suffix == "" {
			// Cut the stem, not the extension the name already has.
			keep -= len(ext)
			suffix = name[len(name)-len(ext):]
		}
		for keep > 0 && !utf8.RuneStart(name[keep]) {
			keep--
		}
		name = strings.TrimSpace(name[:keep])
		if name == "" {
			name = "document"
		}
	}
	return name + suffix
}
