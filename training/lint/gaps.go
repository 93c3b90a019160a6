package lint

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"portal/language"
)

// Gap is public content that a language lacks, or has only in a version
// older than its English source.
type Gap struct {
	Lang   string
	File   string // the translation's path, relative to the root
	Source string // the English page it translates
	Reason string // "missing" or "older than the English page"
}

func (g Gap) String() string { return fmt.Sprintf("%s: %s (source %s)", g.File, g.Reason, g.Source) }

// PublicGaps lists what public readers of a language would miss: every page
// of a public training module, and every other public page under content/,
// must exist in each of the site's languages and be no older than its
// English source. Members-only modules are not public content; their
// translations stay in the report only.
func (r Report) PublicGaps() []Gap {
	var gaps []Gap
	for _, ps := range r.Pages {
		if ps.Tree != TreePublic {
			continue
		}
		src, ok := ps.Langs[language.Source]
		if !ok {
			continue
		}
		for _, lang := range language.All() {
			v, ok := ps.Langs[lang]
			switch {
			case !ok:
				gaps = append(gaps, Gap{Lang: lang, File: translationPath(src.File, lang), Source: src.File, Reason: "missing"})
			case v.Outdated:
				gaps = append(gaps, Gap{Lang: lang, File: v.File, Source: src.File, Reason: "older than the English page"})
			}
		}
	}
	return append(gaps, r.pageGaps...)
}

// translationPath is where the lang version of an English file under
// content/en/ lives.
func translationPath(file, lang string) string {
	rel, err := filepath.Rel(filepath.Join("content", language.Source), file)
	if err != nil {
		return file
	}
	return filepath.Join("content", lang, rel)
}

// checkPages records a gap for every public page outside the training
// modules (which lintTree records page by page) that a language lacks.
func (l *linter) checkPages() error {
	src := filepath.Join(l.root, "content", language.Source)
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == filepath.Join(src, "training") {
				return fs.SkipDir
			}
			return nil
		}
		if filepath.Ext(p) != ".md" {
			return nil
		}
		file := l.rel(p)
		for _, lang := range language.All() {
			if lang == language.Source {
				continue
			}
			t := translationPath(file, lang)
			if _, err := os.Stat(filepath.Join(l.root, t)); err != nil {
				l.pageGaps = append(l.pageGaps, Gap{Lang: lang, File: t, Source: file, Reason: "missing"})
			}
		}
		return nil
	})
}

// sortGaps orders gaps by file, so that the output reads like the tree.
func sortGaps(gaps []Gap) {
	slices.SortFunc(gaps, func(a, b Gap) int {
		switch {
		case a.File < b.File:
			return -1
		case a.File > b.File:
			return 1
		}
		return 0
	})
}
