// Package lint checks the training modules that trainers write as
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
package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

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
	pageGaps []Gap // public pages outside the modules; see PublicGaps
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
	l.compareQuizzes()
	if err := l.checkPages(); err != nil {
		return Report{}, fmt.Errorf("public pages: %w", err)
	}
	sortGaps(l.pageGaps)

	r := Report{Problems: l.problems, pageGaps: l.pageGaps}
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

type linter struct {
	root     string
	problems []Problem
	quizzes  []quizIDs // every quiz.yaml read, for compareQuizzes
	pages    map[pageKey]*PageStatus
	pageGaps []Gap
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

// checkModuleIDs: a module id is unique across the public and members trees
// (progress and the members' manifest are keyed by it).
func (l *linter) checkModuleIDs() {
	for id, dir := range l.moduleDirs[TreeMembers] {
		if pub, ok := l.moduleDirs[TreePublic][id]; ok {
			l.problems = append(l.problems, Problem{File: dir, Message: fmt.Sprintf("module id %q is also used by the public module %s", id, pub)})
		}
	}
}
