package lint

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// page is a parsed content file.
type page struct {
	file      string
	fm        map[string]field // front matter keys
	fmLine    int              // line of the opening ---
	body      string
	bodyLine  int // file line of the body's first line
	url       string
	lang      string
	tree      string
	parsedOK  bool
	endFMLine int
}

type field struct {
	key, value *yaml.Node
}

// parse reads a content file and its YAML front matter.
func (l *linter) parse(file, tree, lang string) (*page, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := &page{file: file, fm: map[string]field{}, tree: tree, lang: lang, fmLine: 1}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	if !strings.HasPrefix(text, "---\n") {
		if strings.HasPrefix(text, "+++") || strings.HasPrefix(text, "{") {
			l.problem(file, 1, "front matter must be YAML, between --- lines")
		} else {
			l.problem(file, 1, "missing front matter (YAML between --- lines)")
		}
		p.body, p.bodyLine = text, 1
		return p, nil
	}
	rest := text[len("---\n"):]
	end := strings.Index(rest, "\n---\n")
	if end < 0 {
		if strings.HasSuffix(rest, "\n---") {
			end = len(rest) - len("\n---")
		} else {
			l.problem(file, 1, "front matter is not closed with a --- line")
			return p, nil
		}
	}
	fmText := rest[:end+1]
	p.endFMLine = 2 + strings.Count(fmText, "\n")
	p.bodyLine = p.endFMLine + 1
	if after := end + len("\n---\n"); after <= len(rest) {
		p.body = rest[after:]
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(fmText), &doc); err != nil {
		line, msg := yamlErrorLine(err)
		l.problem(file, line+p.fmLine, "front matter: %s", msg)
		return p, nil
	}
	p.parsedOK = true
	if len(doc.Content) == 0 {
		return p, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		l.problem(file, m.Line+p.fmLine, "front matter must be a mapping of keys to values")
		return p, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		p.fm[m.Content[i].Value] = field{m.Content[i], m.Content[i+1]}
	}
	return p, nil
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlErrorLine extracts the line from a YAML error ("yaml: line 3: …").
func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, msg
}

// line returns the file line of a front matter key (or of the opening ---).
func (p *page) line(key string) int {
	if f, ok := p.fm[key]; ok {
		return f.key.Line + p.fmLine
	}
	return p.fmLine
}

func (l *linter) missing(p *page, key, what string) {
	if !p.parsedOK {
		return // the parse error is reported
	}
	l.problem(p.file, p.fmLine, "missing required field %s (%s)", key, what)
}

func (l *linter) requireString(p *page, key string) (string, bool) {
	f, ok := p.fm[key]
	if !ok {
		l.missing(p, key, "text")
		return "", false
	}
	if f.value.Kind != yaml.ScalarNode || strings.TrimSpace(f.value.Value) == "" || f.value.Tag == "!!null" {
		l.problem(p.file, f.value.Line+p.fmLine, "%s must be non-empty text", key)
		return "", false
	}
	return f.value.Value, true
}

// requireList checks a list of non-empty strings; empty reports whether an
// empty list is allowed.
func (l *linter) requireList(p *page, key, what string, empty bool) []string {
	f, ok := p.fm[key]
	if !ok {
		l.missing(p, key, what)
		return nil
	}
	if f.value.Kind != yaml.SequenceNode {
		if f.value.Tag == "!!null" && empty {
			return nil
		}
		l.problem(p.file, f.value.Line+p.fmLine, "%s must be a list (%s)", key, what)
		return nil
	}
	if len(f.value.Content) == 0 && !empty {
		l.problem(p.file, f.value.Line+p.fmLine, "%s is empty (%s)", key, what)
		return nil
	}
	var out []string
	for _, n := range f.value.Content {
		if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
			l.problem(p.file, n.Line+p.fmLine, "%s: each item must be non-empty text", key)
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

func (l *linter) requirePositiveInt(p *page, key, what string) {
	f, ok := p.fm[key]
	if !ok {
		l.missing(p, key, what)
		return
	}
	n, err := strconv.Atoi(f.value.Value)
	if f.value.Kind != yaml.ScalarNode || err != nil || n <= 0 {
		l.problem(p.file, f.value.Line+p.fmLine, "%s must be a whole number greater than 0 (%s)", key, what)
	}
}

var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// lastmod parses the lastmod field; required says whether its absence is a
// problem.
func (l *linter) lastmod(p *page, required bool) time.Time {
	f, ok := p.fm["lastmod"]
	if !ok {
		if required {
			l.missing(p, "lastmod", "date of the last change, e.g. 2026-01-31; the translation report compares it")
		}
		return time.Time{}
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, f.value.Value); err == nil {
			return t
		}
	}
	l.problem(p.file, f.value.Line+p.fmLine, "lastmod %q is not a date (e.g. 2026-01-31)", f.value.Value)
	return time.Time{}
}

func (l *linter) lintModuleIndex(p *page, tree, lang string) {
	l.requireString(p, "title")
	l.requireString(p, "summary")
	l.requireList(p, "audience", "who the module is for", false)
	if v, ok := l.requireString(p, "level"); ok && !slices.Contains(Levels, v) {
		l.problem(p.file, p.fm["level"].value.Line+p.fmLine, "level %q: use one of %s", v, strings.Join(Levels, ", "))
	}
	l.requirePositiveInt(p, "duration", "estimated duration in minutes")
	if _, ok := p.fm["objectives"]; !ok {
		if p.parsedOK {
			l.problem(p.file, p.fmLine, "learning objectives missing: add objectives, a list of what learners will be able to do")
		}
	} else {
		l.requireList(p, "objectives", "learning objectives", false)
	}
	l.requireList(p, "prerequisites", "a list, [] when there are none", true)
	if f, ok := p.fm["weight"]; ok {
		if _, err := strconv.Atoi(f.value.Value); err != nil {
			l.problem(p.file, f.value.Line+p.fmLine, "weight must be a whole number")
		}
	}
	l.checkAccess(p, tree, lang)
	l.checkQuizRules(p)
	l.checkBody(p)
	// Objectives and prerequisites are Markdown too.
	for _, key := range []string{"objectives", "prerequisites"} {
		if f, ok := p.fm[key]; ok && f.value.Kind == yaml.SequenceNode {
			for _, n := range f.value.Content {
				l.checkText(p, n.Value, n.Line+p.fmLine)
			}
		}
	}
}

func (l *linter) lintLesson(p *page) {
	l.requireString(p, "title")
	l.requireString(p, "description")
	l.requirePositiveInt(p, "weight", "the lesson's position in the module")
	l.requireList(p, "takeaways", "key takeaways, shown after the lesson", false)
	for _, key := range []string{"access", "tlp"} {
		if _, ok := p.fm[key]; ok {
			l.problem(p.file, p.line(key), "%s is set on the module (_index.md), not on a lesson", key)
		}
	}
	if f, ok := p.fm["takeaways"]; ok && f.value.Kind == yaml.SequenceNode {
		for _, n := range f.value.Content {
			l.checkText(p, n.Value, n.Line+p.fmLine)
		}
	}
	l.checkBody(p)
}

// checkQuizRules checks how the module's quiz is marked (quiz: kind,
// feedback, attemptsPerHour) and how long a pass is valid (validityMonths).
func (l *linter) checkQuizRules(p *page) {
	positive := func(f field, what string) {
		if n, err := strconv.Atoi(f.value.Value); err != nil || n < 1 || f.value.Kind != yaml.ScalarNode {
			l.problem(p.file, f.value.Line+p.fmLine, "%s must be a whole number of at least 1", what)
		}
	}
	if f, ok := p.fm["validityMonths"]; ok {
		positive(f, "validityMonths")
	}
	f, ok := p.fm["quiz"]
	if !ok {
		return
	}
	if f.value.Kind != yaml.MappingNode {
		l.problem(p.file, f.value.Line+p.fmLine, "quiz must be a mapping: kind (self-check or graded), feedback, attemptsPerHour")
		return
	}
	for key, v := range mapping(f.value) {
		line := v.value.Line + p.fmLine
		switch key {
		case "kind":
			if v.value.Value != "self-check" && v.value.Value != "graded" {
				l.problem(p.file, line, "quiz kind %q: use self-check or graded", v.value.Value)
			}
		case "feedback":
			if v.value.Value != "after-pass" && v.value.Value != "each-attempt" {
				l.problem(p.file, line, "quiz feedback %q: use after-pass or each-attempt", v.value.Value)
			}
		case "attemptsPerHour":
			positive(v, "quiz attemptsPerHour")
		default:
			l.problem(p.file, line, "quiz: unknown setting %q (kind, feedback, attemptsPerHour)", key)
		}
	}
}
