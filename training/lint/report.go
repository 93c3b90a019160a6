package lint

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"portal/language"
)

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

func (l *linter) record(tree, module, page, lang, file string, lastmod time.Time) {
	k := pageKey{tree, module, page}
	ps := l.pages[k]
	if ps == nil {
		ps = &PageStatus{Tree: tree, Module: module, Page: page, Langs: map[string]Version{}}
		l.pages[k] = ps
	}
	ps.Langs[lang] = Version{File: l.rel(file), Lastmod: lastmod}
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
