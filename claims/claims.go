// Package claims checks that what the site says about INTERPOL, its systems
// and its partners comes from a source. The claims live in
// site/data/claims.yaml, one entry per fact with its statement in every
// language of the site and its source; pages show them only through the
// claim shortcode (site/layouts/_shortcodes/claim.html). Lint checks the
// data file and every page and lesson under content/, for `portal content
// lint`.
package claims

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Languages are the site's languages, English first: the others are
// compared with it.
var Languages = []string{"en", "fr", "es", "ar"}

// DataFile is where the claims live, relative to the repository root.
const DataFile = "site/data/claims.yaml"

// FactSheet is the id of the fact sheet among the sources: its claims name
// one of its sections instead of a URL.
const FactSheet = "factsheet"

// Source is where a claim comes from.
type Source struct {
	Publisher string                       `yaml:"publisher"`
	Title     string                       `yaml:"title"`
	URL       string                       `yaml:"url"`
	Consulted string                       `yaml:"consulted"`
	Sections  map[string]map[string]string `yaml:"sections"`
}

// Claim is one fact, in every language, with its source.
type Claim struct {
	Source  string `yaml:"source"`
	Section string `yaml:"section"`
	// Text is the statement by language, filled from the entry's
	// language keys.
	Text map[string]string `yaml:"-"`
	line int
}

// Data is the whole data file.
type Data struct {
	Sources map[string]Source
	Claims  map[string]Claim
}

// Problem is one defect, at a file and line relative to the root.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message) }

// Report is the outcome of Lint.
type Report struct {
	Problems []Problem
	// Claims is how many claims the data file holds; Files how many
	// content files were read.
	Claims, Files int
}

// OK says whether the content passed.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Lint checks the claims data under root and every page, lesson and quiz
// under root/content (public and members-only, every language):
//   - every claim has a known source (for the fact sheet, one of its
//     sections; otherwise publisher, title, URL and date consulted) and a
//     statement in every language;
//   - the statements of a claim carry the same numbers in every language,
//     compared digit for digit once each language's grouping is removed, and
//     group them as the language does;
//   - no page or lesson mentions the fact sheet in its own words: facts from
//     it go through the claim shortcode;
//   - claim shortcodes name claims that exist, and none stands alone on
//     its line (Hugo would render it outside a paragraph);
//   - public pages (outside training/) show no figure of their own: every
//     number comes from a claim.
func Lint(root string) (Report, error) {
	var r Report
	data, problems, err := Load(root)
	if err != nil {
		return r, err
	}
	r.Problems = append(r.Problems, problems...)
	r.Claims = len(data.Claims)

	content := filepath.Join(root, "content")
	err = filepath.WalkDir(content, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Pages and lessons, and the quizzes beside them.
		if ext := filepath.Ext(p); d.IsDir() || (ext != ".md" && ext != ".yaml") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		r.Files++
		r.Problems = append(r.Problems, lintPage(rel, b, data)...)
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("content lint: %w", err)
	}
	slices.SortStableFunc(r.Problems, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return r, nil
}

// Load reads and checks the data file: the problems are defects of its
// entries; the error, a file that cannot be read or parsed.
func Load(root string) (Data, []Problem, error) {
	var data Data
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(DataFile)))
	if err != nil {
		return data, nil, fmt.Errorf("content lint: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return data, nil, fmt.Errorf("content lint: %s: %w", DataFile, err)
	}
	var raw struct {
		Sources map[string]Source    `yaml:"sources"`
		Claims  map[string]yaml.Node `yaml:"claims"`
	}
	if err := doc.Decode(&raw); err != nil {
		return data, nil, fmt.Errorf("content lint: %s: %w", DataFile, err)
	}
	data.Sources = raw.Sources
	data.Claims = make(map[string]Claim, len(raw.Claims))
	var problems []Problem
	bad := func(line int, format string, args ...any) {
		problems = append(problems, Problem{DataFile, line, fmt.Sprintf(format, args...)})
	}
	if len(raw.Claims) == 0 {
		bad(1, "no claims")
	}
	for id, node := range raw.Claims {
		var c Claim
		if err := node.Decode(&c); err != nil {
			bad(node.Line, "claim %q: %v", id, err)
			continue
		}
		var text map[string]string
		if err := node.Decode(&text); err != nil {
			bad(node.Line, "claim %q: %v", id, err)
			continue
		}
		c.Text, c.line = map[string]string{}, node.Line
		for _, lang := range Languages {
			if t := strings.TrimSpace(text[lang]); t != "" {
				c.Text[lang] = t
			} else {
				bad(node.Line, "claim %q has no %s statement", id, lang)
			}
		}
		data.Claims[id] = c
		problems = append(problems, checkSource(id, c, data.Sources)...)
		problems = append(problems, checkNumbers(id, c)...)
	}
	return data, problems, nil
}

func checkSource(id string, c Claim, sources map[string]Source) []Problem {
	bad := func(format string, args ...any) []Problem {
		return []Problem{{DataFile, c.line, fmt.Sprintf("claim %q: ", id) + fmt.Sprintf(format, args...)}}
	}
	if c.Source == "" {
		return bad("no source: name the fact sheet and its section, or a public source")
	}
	s, ok := sources[c.Source]
	if !ok {
		return bad("source %q is not among the sources", c.Source)
	}
	if c.Source == FactSheet {
		sec, ok := s.Sections[c.Section]
		if c.Section == "" || !ok {
			return bad("the fact sheet has no section %q: name the heading the claim comes from", c.Section)
		}
		for _, lang := range Languages {
			if sec[lang] == "" {
				return bad("section %q of the fact sheet has no %s name", c.Section, lang)
			}
		}
		return nil
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"publisher", s.Publisher}, {"title", s.Title}, {"url", s.URL}, {"consulted", s.Consulted}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return bad("source %q lacks %s", c.Source, strings.Join(missing, ", "))
	}
	if !strings.HasPrefix(s.URL, "https://") {
		return bad("source %q: URL %q is not https", c.Source, s.URL)
	}
	return nil
}

// groupSeparators are the characters each language writes between groups
// of three digits (CLDR): en 7,800; fr 7 800 (narrow no-break space, or a
// no-break space); es 12.345, and no grouping below five digits (7800); ar
// in Latin digits 7,800, or with Arabic digits and the Arabic thousands
// separator.
var groupSeparators = map[string]string{
	"en": ",",
	"fr": "\u202f\u00a0",
	"es": ".",
	"ar": ",\u066c",
}

// number matches a number as any language writes it: digits (Latin,
// Arabic-Indic or Extended Arabic-Indic), then groups of three after a
// separator. A plain space never groups, so "48 800" is two numbers.
var number = regexp.MustCompile(`[0-9٠-٩۰-۹]+(?:[,.\x{202F}\x{A0}\x{66C}][0-9٠-٩۰-۹]{3})*`)

// Number is one number of a statement: its digits without grouping, and
// the separators it was written with.
type Number struct {
	Digits     string
	Separators string
}

// Numbers returns the numbers of a statement in the order they appear.
func Numbers(s string) []Number {
	var out []Number
	for _, m := range number.FindAllString(s, -1) {
		var n Number
		for _, r := range m {
			switch {
			case r >= '0' && r <= '9':
				n.Digits += string(r)
			case r >= '٠' && r <= '٩':
				n.Digits += string('0' + (r - '٠'))
			case r >= '۰' && r <= '۹':
				n.Digits += string('0' + (r - '۰'))
			default:
				if !strings.ContainsRune(n.Separators, r) {
					n.Separators += string(r)
				}
			}
		}
		out = append(out, n)
	}
	return out
}

func checkNumbers(id string, c Claim) []Problem {
	var problems []Problem
	bad := func(format string, args ...any) {
		problems = append(problems, Problem{DataFile, c.line, fmt.Sprintf("claim %q: ", id) + fmt.Sprintf(format, args...)})
	}
	digits := func(ns []Number) []string {
		var d []string
		for _, n := range ns {
			d = append(d, n.Digits)
		}
		slices.Sort(d)
		return d
	}
	en := digits(Numbers(c.Text["en"]))
	for _, lang := range Languages {
		ns := Numbers(c.Text[lang])
		if lang != "en" {
			if d := digits(ns); c.Text[lang] != "" && !slices.Equal(d, en) {
				bad("the %s statement has the numbers %v, the English one %v", lang, d, en)
			}
		}
		for _, n := range ns {
			for _, sep := range n.Separators {
				if !strings.ContainsRune(groupSeparators[lang], sep) {
					bad("%s writes %s with %q, which is not how %s groups digits (%q)", lang, n.Digits, sep, lang, groupSeparators[lang])
				}
			}
			if lang == "es" && n.Separators != "" && len(n.Digits) < 5 {
				bad("es writes %s grouped: Spanish leaves numbers below 10000 ungrouped", n.Digits)
			}
		}
	}
	return problems
}

// factSheet matches the fact sheet named in any language of the site.
var factSheet = regexp.MustCompile(`(?i)fact[ -]?sheet|fiche d['’]information|fiche technique|ficha (informativa|técnica)|صحيفة (ال)?وقائع|ورقة (ال)?حقائق`)

// claimShortcode matches a claim shortcode; shortcode matches any.
var (
	claimShortcode = regexp.MustCompile(`\{\{[<%]\s*claim\s+"([^"]*)"\s*[>%]\}\}`)
	shortcode      = regexp.MustCompile(`\{\{[<%].*?[>%]\}\}`)
	// What is not text a reader reads as a figure: link targets, heading
	// ids, HTML comments, code, and the markers of ordered lists.
	linkTarget  = regexp.MustCompile(`\]\([^)]*\)`)
	headingID   = regexp.MustCompile(`\{#[^}]*\}`)
	htmlComment = regexp.MustCompile(`<!--.*?-->`)
	codeSpan    = regexp.MustCompile("`[^`]*`")
	listMarker  = regexp.MustCompile(`^\s*[0-9]+[.)]\s`)
	// Names that hold digits but are no figure.
	names = regexp.MustCompile(`I-24/7`)
	digit = regexp.MustCompile(`[0-9٠-٩۰-۹]+`)
)

func lintPage(rel string, b []byte, data Data) []Problem {
	var problems []Problem
	bad := func(line int, format string, args ...any) {
		problems = append(problems, Problem{rel, line, fmt.Sprintf(format, args...)})
	}
	parts := strings.Split(rel, "/")
	// content/<lang>/... is public; content/members/<lang>/... is not.
	public := len(parts) > 2 && parts[1] != "members" && parts[2] != "training"

	lines := bytes.Split(b, []byte("\n"))
	inFrontMatter := len(lines) > 0 && strings.TrimSpace(string(lines[0])) == "---"
	inCode := false
	for i, l := range lines {
		n, line := i+1, string(l)
		if inFrontMatter {
			if i > 0 && strings.TrimSpace(line) == "---" {
				inFrontMatter = false
				continue
			}
			// Only what readers read: the title and description.
			key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			if i == 0 || (key != "title" && key != "description" && key != "linkTitle") {
				continue
			}
		}
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		for _, m := range claimShortcode.FindAllStringSubmatch(line, -1) {
			if _, ok := data.Claims[m[1]]; !ok {
				bad(n, "claim %q is not in %s", m[1], DataFile)
			}
		}
		if m := claimShortcode.FindString(line); m != "" && strings.TrimSpace(line) == m {
			// Hugo leaves a shortcode alone on its line out of any
			// paragraph.
			bad(n, "claim alone on its line renders outside a paragraph: put it in a sentence or a list item")
		}
		text := shortcode.ReplaceAllString(line, " ")
		if m := factSheet.FindString(text); m != "" {
			bad(n, "%q: facts from the fact sheet go through {{< claim \"id\" >}} (%s), which names it as their source", m, DataFile)
		}
		if !public {
			continue
		}
		for _, re := range []*regexp.Regexp{linkTarget, headingID, htmlComment, codeSpan, names} {
			text = re.ReplaceAllString(text, " ")
		}
		text = listMarker.ReplaceAllString(text, " ")
		if m := digit.FindString(text); m != "" {
			bad(n, "figure %q on a public page: figures come from %s through {{< claim \"id\" >}}", m, DataFile)
		}
	}
	return problems
}
