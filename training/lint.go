// Package training checks the training modules that trainers write as
// Markdown for Hugo, and reports which of them exist in which language.
//
// A module is a Hugo branch bundle, public under content/<lang>/training/
// or members-only under content/members/<lang>/training/:
//
//	<module>/_index.md    the overview: title, summary, audience, level,
//	                      duration (minutes), objectives, prerequisites,
//	                      access ("public", or a list of access groups and a
//	                      tlp label for members-only modules), lastmod
//	<module>/NN-name.md   lessons: title, description, weight, lastmod,
//	                      takeaways
//	<module>/quiz.md      the quiz page (title); its questions are in quiz.yaml
//	<module>/quiz.yaml    passMark and questions (see Quiz)
//	<module>/handout.md   the printable handout page (title)
//
// Lint reports, with file and line, what would make a module incomplete,
// wrong or unsafe to publish; `portal training lint` prints it.
package training

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"portal/access"
	"portal/language"
)

// Trees of content that hold modules.
const (
	TreePublic  = "public"  // content/<lang>/training
	TreeMembers = "members" // content/members/<lang>/training
)

// Levels a module may declare.
var Levels = []string{"introductory", "intermediate", "advanced"}

// Names of the files of a module bundle that are not lessons.
const (
	ModuleFile  = "_index.md"
	QuizFile    = "quiz.md"
	QuizData    = "quiz.yaml"
	HandoutFile = "handout.md"
)

var (
	// Module, lesson, question and option ids end up in URLs, HTML ids and
	// the progress API.
	idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// Problem is one defect, at a line of a file (Line 0: the file as a whole).
type Problem struct {
	File    string // relative to the root, with forward slashes
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Report is the result of Lint: the problems, and for the translation
// report every page of every module with the languages it exists in.
type Report struct {
	Problems []Problem
	Pages    []PageStatus
}

// PageStatus is one page of a module across the languages.
type PageStatus struct {
	Tree   string // TreePublic or TreeMembers
	Module string // the module id (its directory name)
	Page   string // "" for the overview, a lesson id, "quiz" or "handout"
	Langs  map[string]Version
}

// Version is a page in one language.
type Version struct {
	File    string
	Lastmod time.Time // zero when the page has no valid lastmod
	// Outdated: older (by lastmod) than the English page.
	Outdated bool
}

// Lint checks every module under root (the repository root, holding
// content/). The error is for what prevents checking at all; defects in
// the modules are Problems.
func Lint(root string) (Report, error) {
	l := &linter{root: root, pages: map[pageKey]*PageStatus{}}
	if _, err := os.Stat(filepath.Join(root, "content")); err != nil {
		return Report{}, fmt.Errorf("no content directory under %s: %w", root, err)
	}
	if err := l.indexSite(); err != nil {
		return Report{}, err
	}
	for _, tree := range []string{TreePublic, TreeMembers} {
		for _, lang := range language.All() {
			if err := l.lintTree(tree, lang); err != nil {
				return Report{}, err
			}
		}
	}
	l.checkModuleIDs()
	l.compareTranslations()

	r := Report{Problems: l.problems}
	sort.SliceStable(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i], r.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	for _, p := range l.pages {
		r.Pages = append(r.Pages, *p)
	}
	sort.Slice(r.Pages, func(i, j int) bool {
		a, b := r.Pages[i], r.Pages[j]
		if a.Tree != b.Tree {
			return a.Tree == TreePublic
		}
		if a.Module != b.Module {
			return a.Module < b.Module
		}
		return pageOrder(a.Page) < pageOrder(b.Page)
	})
	return r, nil
}

// pageOrder sorts the overview first and the quiz and handout last.
func pageOrder(page string) string {
	switch page {
	case "":
		return ""
	case "quiz":
		return "\uffff1"
	case "handout":
		return "\uffff2"
	}
	return page
}

type pageKey struct{ tree, module, page string }

type linter struct {
	root     string
	problems []Problem
	pages    map[pageKey]*PageStatus
	// URLs of every content page, public and members-only.
	publicURLs, membersURLs map[string]bool
	// Heading ids of each language's glossary (nil: no glossary).
	glossary map[string]map[string]bool
	// Where each module id is defined, per tree.
	moduleDirs map[string]map[string]string
}

func (l *linter) rel(p string) string {
	r, err := filepath.Rel(l.root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}

func (l *linter) problem(file string, line int, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.rel(file), Line: line, Message: fmt.Sprintf(format, args...)})
}

func treeDir(root, tree, lang string) string {
	if tree == TreeMembers {
		return filepath.Join(root, "content", "members", lang)
	}
	return filepath.Join(root, "content", lang)
}

// indexSite records the URL of every content page (for link checks) and
// the ids of each glossary.
func (l *linter) indexSite() error {
	l.publicURLs, l.membersURLs = map[string]bool{}, map[string]bool{}
	l.glossary = map[string]map[string]bool{}
	l.moduleDirs = map[string]map[string]string{TreePublic: {}, TreeMembers: {}}
	for _, lang := range language.All() {
		for _, tree := range []string{TreePublic, TreeMembers} {
			dir := treeDir(l.root, tree, lang)
			urls, prefix := l.publicURLs, "/"+lang+"/"
			if tree == TreeMembers {
				urls, prefix = l.membersURLs, "/members/"+lang+"/"
			}
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) && p == dir {
						return fs.SkipDir
					}
					return err
				}
				if d.IsDir() || !strings.HasSuffix(p, ".md") {
					return nil
				}
				rel, _ := filepath.Rel(dir, p)
				urls[contentURL(prefix, filepath.ToSlash(rel))] = true
				return nil
			})
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		b, err := os.ReadFile(filepath.Join(l.root, "content", lang, "glossary", "_index.md"))
		if err == nil {
			ids := map[string]bool{}
			for _, m := range headingID.FindAllSubmatch(b, -1) {
				ids[string(m[1])] = true
			}
			l.glossary[lang] = ids
		}
	}
	return nil
}

var headingID = regexp.MustCompile(`(?m)^#{1,6}\s.*\{#([^}\s]+)\}\s*$`)

// contentURL is the URL Hugo gives a content file (no slug or url front
// matter is used in this project).
func contentURL(prefix, rel string) string {
	dir, file := path.Split(rel)
	switch file {
	case "_index.md", "index.md":
		return strings.ToLower(prefix + dir)
	}
	return strings.ToLower(prefix + dir + strings.TrimSuffix(file, ".md") + "/")
}

// lintTree checks the modules of one language in one tree.
func (l *linter) lintTree(tree, lang string) error {
	dir := filepath.Join(treeDir(l.root, tree, lang), "training")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue // the catalogue (_index.md) and nothing else
		}
		if err := l.lintModule(tree, lang, filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (l *linter) record(tree, module, page, lang, file string, lastmod time.Time) {
	k := pageKey{tree, module, page}
	ps := l.pages[k]
	if ps == nil {
		ps = &PageStatus{Tree: tree, Module: module, Page: page, Langs: map[string]Version{}}
		l.pages[k] = ps
	}
	ps.Langs[lang] = Version{File: l.rel(file), Lastmod: lastmod}
}

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

func (l *linter) lintModule(tree, lang, dir string) error {
	id := filepath.Base(dir)
	l.moduleDirs[tree][id] = l.rel(dir)
	if !idPattern.MatchString(id) {
		l.problem(dir, 0, "module id %q (the folder name) must be lower-case letters, digits and hyphens", id)
	}
	urlPrefix := "/" + lang + "/training/" + id + "/"
	if tree == TreeMembers {
		urlPrefix = "/members" + urlPrefix
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	var lessons []*page
	var module *page
	for _, e := range entries {
		name := e.Name()
		full := filepath.Join(dir, name)
		if e.IsDir() {
			l.problem(full, 0, "unexpected folder in a module: lessons are .md files beside _index.md")
			continue
		}
		has[name] = true
		if !strings.HasSuffix(name, ".md") {
			continue
		}
		p, err := l.parse(full, tree, lang)
		if err != nil {
			return err
		}
		switch name {
		case ModuleFile:
			p.url = urlPrefix
			module = p
		case QuizFile, HandoutFile:
			base := strings.TrimSuffix(name, ".md")
			p.url = urlPrefix + base + "/"
			l.requireString(p, "title")
			l.record(tree, id, base, lang, full, l.lastmod(p, false))
			l.checkBody(p)
		default:
			base := strings.TrimSuffix(name, ".md")
			p.url = urlPrefix + base + "/"
			if !idPattern.MatchString(base) {
				l.problem(full, 0, "lesson id %q (the file name) must be lower-case letters, digits and hyphens", base)
			}
			lessons = append(lessons, p)
		}
	}

	if module == nil {
		l.problem(filepath.Join(dir, ModuleFile), 0, "missing: a module needs an _index.md overview")
	} else {
		l.lintModuleIndex(module, tree, lang)
		l.record(tree, id, "", lang, module.file, l.lastmod(module, true))
	}
	if len(lessons) == 0 {
		l.problem(dir, 0, "module has no lessons")
	}
	for _, f := range []string{QuizFile, QuizData, HandoutFile} {
		if !has[f] {
			l.problem(filepath.Join(dir, f), 0, "missing: every module has %s", map[string]string{
				QuizFile:    "a quiz page (quiz.md, with a title)",
				QuizData:    "quiz questions (quiz.yaml)",
				HandoutFile: "a handout page (handout.md, with a title)",
			}[f])
		}
	}
	if has[QuizData] {
		if err := l.lintQuiz(filepath.Join(dir, QuizData), tree, lang, urlPrefix+"quiz/"); err != nil {
			return err
		}
	}

	weights := map[int]*page{}
	for _, p := range lessons {
		l.lintLesson(p)
		l.record(tree, id, strings.TrimSuffix(filepath.Base(p.file), ".md"), lang, p.file, l.lastmod(p, true))
		f, ok := p.fm["weight"]
		if !ok {
			continue
		}
		w, err := strconv.Atoi(f.value.Value)
		if err != nil || f.value.Kind != yaml.ScalarNode {
			continue
		}
		if other, dup := weights[w]; dup {
			l.problem(p.file, f.value.Line+p.fmLine, "duplicate lesson weight %d: %s has it too (lessons are ordered by weight)", w, filepath.Base(other.file))
		} else {
			weights[w] = p
		}
	}
	return nil
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

// checkAccess: public modules say access: public (and no TLP label other
// than TLP:CLEAR); members-only modules list access groups and carry a TLP
// label, and live in the members tree.
func (l *linter) checkAccess(p *page, tree, lang string) {
	f, ok := p.fm["access"]
	if !ok {
		l.missing(p, "access", `"public", or a list of access groups for a members-only module`)
		return
	}
	line := f.value.Line + p.fmLine
	var groups []string
	public := false
	switch f.value.Kind {
	case yaml.ScalarNode:
		if f.value.Value == "public" {
			public = true
		} else {
			groups = []string{f.value.Value}
		}
	case yaml.SequenceNode:
		for _, n := range f.value.Content {
			groups = append(groups, n.Value)
			if !access.ValidGroup(n.Value) {
				l.problem(p.file, n.Line+p.fmLine, "access group %q: names are %s", n.Value, access.GroupRule)
			}
		}
		if len(groups) == 0 {
			l.problem(p.file, line, `access is an empty list: say "public", or name the access groups`)
			return
		}
	default:
		l.problem(p.file, line, `access must be "public" or a list of access groups`)
		return
	}
	tlp, tlpLine := "", line
	if t, ok := p.fm["tlp"]; ok {
		tlp, tlpLine = t.value.Value, t.value.Line+p.fmLine
		if !access.TLP(tlp).Valid() {
			l.problem(p.file, tlpLine, "tlp %q: use one of %s", tlp, tlpList())
		}
	}
	restricted := !public || (tlp != "" && access.TLP(tlp) != access.Clear)
	switch {
	case tree == TreePublic && restricted:
		l.problem(p.file, line, "members-only module (access %s, tlp %q) in the public tree: move it to content/members/%s/training/",
			describeAccess(public, groups), tlp, lang)
	case tree == TreeMembers && public:
		l.problem(p.file, line, `access: public in the members-only tree: name the access groups, or move the module to content/%s/training/`, lang)
	case tree == TreeMembers && tlp == "":
		l.problem(p.file, p.fmLine, "missing required field tlp (a members-only module carries a TLP label, e.g. TLP:AMBER)")
	case tree == TreeMembers && access.TLP(tlp) == access.Clear:
		l.problem(p.file, tlpLine, "TLP:CLEAR is for public information: a members-only module needs TLP:GREEN or stricter")
	}
}

func describeAccess(public bool, groups []string) string {
	if public {
		return "public"
	}
	return "[" + strings.Join(groups, ", ") + "]"
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

// ---------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------

var (
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]*)>?(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)`)
	refLink    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	rawLink    = regexp.MustCompile(`(?i)<a\s[^>]*href\s*=\s*["']([^"']*)["']`)
	termCode   = regexp.MustCompile(`\{\{[<%]\s*term\s+(?:"([^"]*)"|(\S+))`)
	fenced     = regexp.MustCompile("(?ms)^ {0,3}(```|~~~).*?^ {0,3}(```|~~~)[^\n]*$")
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	notNewline = regexp.MustCompile(`[^\n]`)
)

func (l *linter) checkBody(p *page) {
	if p.body != "" {
		l.checkText(p, p.body, p.bodyLine)
	}
}

// checkText checks the links and glossary terms in Markdown text whose
// first line is line firstLine of p's file.
func (l *linter) checkText(p *page, text string, firstLine int) {
	// Code is not checked: blank it out, keeping offsets and lines.
	blank := func(s string) string { return notNewline.ReplaceAllString(s, " ") }
	text = fenced.ReplaceAllStringFunc(text, blank)
	text = codeSpan.ReplaceAllStringFunc(text, blank)
	lineAt := func(offset int) int { return firstLine + strings.Count(text[:offset], "\n") }

	for _, re := range []*regexp.Regexp{inlineLink, refLink, rawLink} {
		for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
			target := text[m[2]:m[3]]
			if msg := l.checkLink(p, target); msg != "" {
				l.problem(p.file, lineAt(m[2]), "%s", msg)
			}
		}
	}
	for _, m := range termCode.FindAllStringSubmatchIndex(text, -1) {
		var id string
		if m[2] >= 0 {
			id = text[m[2]:m[3]]
		} else {
			id = text[m[4]:m[5]]
		}
		ids, ok := l.glossary[p.lang]
		switch {
		case !ok:
			l.problem(p.file, lineAt(m[0]), "term %q: there is no glossary in %s (content/%s/glossary/_index.md)", id, p.lang, p.lang)
		case !ids[id]:
			l.problem(p.file, lineAt(m[0]), "term %q is not in the %s glossary (content/%s/glossary/_index.md needs a heading `## … {#%s}`)", id, p.lang, p.lang, id)
		}
	}
}

// checkLink returns what is wrong with a link target, or "".
func (l *linter) checkLink(p *page, target string) string {
	if target == "" {
		return "empty link"
	}
	lower := strings.ToLower(target)
	switch {
	case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "mailto:"), strings.HasPrefix(lower, "tel:"):
		return "" // external: not fetched
	case strings.HasPrefix(lower, "http://"):
		return fmt.Sprintf("broken link %q: use https", target)
	case strings.HasPrefix(target, "//"), strings.Contains(strings.SplitN(target, "/", 2)[0], ":"):
		return fmt.Sprintf("broken link %q: unsupported scheme", target)
	case strings.HasPrefix(target, "#"):
		return ""
	}
	pathPart, fragment, _ := strings.Cut(target, "#")
	pathPart, _, _ = strings.Cut(pathPart, "?")
	resolved := pathPart
	if !strings.HasPrefix(pathPart, "/") {
		resolved = path.Join(p.url, pathPart)
	}
	resolved = path.Clean(resolved)
	if resolved != "/" {
		resolved += "/"
	}
	resolved = strings.ToLower(resolved)

	public := l.publicURLs[resolved]
	members := l.membersURLs[resolved]
	switch {
	case !public && !members:
		if strings.HasSuffix(pathPart, ".md") {
			return fmt.Sprintf("broken link %q: link to the page's URL (e.g. /%s/report/), not to its file", target, p.lang)
		}
		return fmt.Sprintf("broken link %q: no page at %s", target, resolved)
	case members && !public && p.tree == TreePublic:
		return fmt.Sprintf("broken link %q: a public page cannot link to the members-only area", target)
	}
	if fragment != "" && public {
		// Glossary terms have explicit ids: check them.
		for lang, ids := range l.glossary {
			if resolved == "/"+lang+"/glossary/" && !ids[fragment] {
				return fmt.Sprintf("broken link %q: the %s glossary has no term #%s", target, lang, fragment)
			}
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// Module ids and translations
// ---------------------------------------------------------------------------

// checkModuleIDs: a module id is unique across the public and members trees
// (progress and the members' manifest are keyed by it).
func (l *linter) checkModuleIDs() {
	for id, dir := range l.moduleDirs[TreeMembers] {
		if pub, ok := l.moduleDirs[TreePublic][id]; ok {
			l.problems = append(l.problems, Problem{File: dir, Message: fmt.Sprintf("module id %q is also used by the public module %s", id, pub)})
		}
	}
}

func (l *linter) compareTranslations() {
	for _, ps := range l.pages {
		src, ok := ps.Langs[language.Source]
		if !ok || src.Lastmod.IsZero() {
			continue
		}
		for lang, v := range ps.Langs {
			if lang != language.Source && !v.Lastmod.IsZero() && v.Lastmod.Before(src.Lastmod) {
				v.Outdated = true
				ps.Langs[lang] = v
			}
		}
	}
}

// OK reports whether there are no problems.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Outdated lists the translations older than their English source.
func (r Report) Outdated() []Version {
	var out []Version
	for _, ps := range r.Pages {
		for _, lang := range language.All() {
			if v, ok := ps.Langs[lang]; ok && v.Outdated {
				out = append(out, v)
			}
		}
	}
	return out
}

// TranslationReport writes which modules and pages exist in which language
// and which translations are older than their English source.
func (r Report) TranslationReport() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Translation report (source: %s; yes = translated, old = older than the %s page, - = missing)\n", language.Source, language.Source)
	for _, tree := range []string{TreePublic, TreeMembers} {
		var rows []PageStatus
		for _, ps := range r.Pages {
			if ps.Tree == tree {
				rows = append(rows, ps)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s modules\n", tree)
		width := len("module / page")
		for _, ps := range rows {
			width = max(width, len(rowName(ps)))
		}
		line := fmt.Sprintf("  %-*s", width, "module / page")
		for _, lang := range language.All() {
			line += fmt.Sprintf("  %-3s", lang)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		complete := map[string]int{}
		modules := 0
		for _, ps := range rows {
			line := fmt.Sprintf("  %-*s", width, rowName(ps))
			for _, lang := range language.All() {
				cell := "-"
				if v, ok := ps.Langs[lang]; ok {
					cell = "yes"
					if v.Outdated {
						cell = "old"
					}
				}
				line += fmt.Sprintf("  %-3s", cell)
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			if ps.Page == "" {
				modules++
				for _, lang := range language.All() {
					if _, ok := ps.Langs[lang]; ok {
						complete[lang]++
					}
				}
			}
		}
		fmt.Fprintf(&b, "  modules per language:")
		for _, lang := range language.All() {
			fmt.Fprintf(&b, " %s %d/%d", lang, complete[lang], modules)
		}
		b.WriteString("\n")
	}
	if old := r.Outdated(); len(old) > 0 {
		b.WriteString("\nTranslations older than their English source:\n")
		for _, ps := range r.Pages {
			src := ps.Langs[language.Source]
			for _, lang := range language.All() {
				if v, ok := ps.Langs[lang]; ok && v.Outdated {
					fmt.Fprintf(&b, "  %s (%s) is older than %s (%s)\n", v.File, v.Lastmod.Format("2006-01-02"), src.File, src.Lastmod.Format("2006-01-02"))
				}
			}
		}
	}
	return b.String()
}

func rowName(ps PageStatus) string {
	if ps.Page == "" {
		return ps.Module
	}
	return "  " + ps.Page
}

// tlpList is the TLP labels for messages.
func tlpList() string {
	labels := make([]string, 0, len(access.Labels()))
	for _, t := range access.Labels() {
		labels = append(labels, string(t))
	}
	return strings.Join(labels, ", ")
}
