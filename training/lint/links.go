package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"portal/language"
)

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
