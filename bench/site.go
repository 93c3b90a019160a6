package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// Hugo runs the pinned Hugo ($HUGO, which the Makefile builds into bin/,
// or `go tool -modfile=tools/go.mod hugo` from the repository) over source into dest.
func Hugo(ctx context.Context, root, source, dest string, extra ...string) (time.Duration, []byte, error) {
	args := []string{"--source", source, "--destination", dest, "--cleanDestinationDir",
		"--panicOnWarning", "--logLevel", "warn", "--baseURL", "/"}
	args = append(args, extra...)
	var cmd *exec.Cmd
	if h := os.Getenv("HUGO"); h != "" {
		cmd = exec.CommandContext(ctx, h, args...)
	} else {
		cmd = exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=tools/go.mod", "hugo"}, args...)...)
	}
	cmd.Dir = root
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, out, fmt.Errorf("hugo: %w\n%s", err, out)
	}
	return d, out, nil
}

// HugoVersion reports the Hugo that Hugo runs.
func HugoVersion(ctx context.Context, root string) string {
	var cmd *exec.Cmd
	if h := os.Getenv("HUGO"); h != "" {
		cmd = exec.CommandContext(ctx, h, "version")
	} else {
		cmd = exec.CommandContext(ctx, "go", "tool", "-modfile=tools/go.mod", "hugo", "version")
	}
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(out))
	if len(f) > 1 {
		return f[1]
	}
	return strings.TrimSpace(string(out))
}

// HugoResult is the build of the site with generated lessons.
type HugoResult struct {
	Lessons   int
	Pages     int // HTML files written
	Builds    []time.Duration
	HugoTotal []time.Duration // what Hugo itself reports ("Total in … ms")
	MsPerPage float64         // best build's wall time / pages
	Templates string          // the slowest templates (--templateMetrics), if asked
}

// HugoBench copies the site and its content into work, adds lessons
// generated training lessons (in modules of 25, marked synthetic), builds
// builds times with the pinned Hugo and reports the fastest build's wall
// time per HTML page.
func HugoBench(ctx context.Context, root, work string, lessons, builds int, metrics bool, seed uint64) (*HugoResult, error) {
	if err := copyTree(filepath.Join(root, "site"), filepath.Join(work, "site"), func(rel string) bool {
		return rel == "public" || rel == "resources" || rel == ".hugo_build.lock" || strings.HasSuffix(rel, "_test.go")
	}); err != nil {
		return nil, err
	}
	if err := copyTree(filepath.Join(root, "content"), filepath.Join(work, "content"), nil); err != nil {
		return nil, err
	}
	for _, name := range []string{"node_modules", "package.json", "package-lock.json"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			_ = os.Symlink(filepath.Join(root, name), filepath.Join(work, name))
		}
	}
	if err := writeLessons(filepath.Join(work, "content", "en", "training"), lessons, seed); err != nil {
		return nil, err
	}
	res := &HugoResult{Lessons: lessons}
	dest := filepath.Join(work, "public")
	for range max(builds, 1) {
		d, out, err := Hugo(ctx, root, filepath.Join(work, "site"), dest)
		if err != nil {
			return nil, err
		}
		res.Builds = append(res.Builds, d)
		if m := hugoTotal.FindSubmatch(out); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			res.HugoTotal = append(res.HugoTotal, time.Duration(n)*time.Millisecond)
		}
	}
	pages, err := htmlFiles(dest)
	if err != nil {
		return nil, err
	}
	res.Pages = len(pages)
	if metrics {
		// One more build, untimed, for Hugo's template metrics.
		_, out, err := Hugo(ctx, root, filepath.Join(work, "site"), filepath.Join(work, "public-metrics"), "--templateMetrics")
		if err != nil {
			return nil, err
		}
		res.Templates = topTemplates(string(out), 10)
	}
	best := slices.Min(res.Builds)
	res.MsPerPage = float64(best.Microseconds()) / 1000 / float64(max(res.Pages, 1))
	return res, nil
}

var hugoTotal = regexp.MustCompile(`Total in (\d+) ms`)

// topTemplates keeps the header and the first n rows of Hugo's template
// metrics table (sorted by cumulative time).
func topTemplates(out string, n int) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "cumulative") {
			end := min(len(lines), i+3+n) // two header lines, a rule, n rows
			var keep []string
			for _, k := range lines[i:end] {
				if strings.TrimSpace(k) != "" {
					keep = append(keep, strings.TrimRight(k, " "))
				}
			}
			return strings.Join(keep, "\n")
		}
	}
	return ""
}

func writeLessons(dir string, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x6c6573736f6e))
	en := newLexicon(r, englishDomain)
	common := newLexicon(r, englishCommon)
	sentence := func(words int) string {
		var b strings.Builder
		for i := range words {
			w := common.word()
			if i%2 == 0 {
				w = en.word()
			}
			if i == 0 {
				w = capitalise(w)
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteByte('.')
		return b.String()
	}
	const perModule = 25
	for m := 0; m*perModule < n; m++ {
		mdir := filepath.Join(dir, fmt.Sprintf("bench-synthetic-%03d", m+1))
		if err := os.MkdirAll(mdir, 0o755); err != nil {
			return err
		}
		index := fmt.Sprintf(`---
title: "Synthetic benchmark module %d"
summary: "Generated for the build benchmark; synthetic text, not training material. %s"
weight: %d
audience:
  - "Benchmark readers"
level: introductory
duration: 30
objectives:
  - "%s"
prerequisites: []
access: public
---

This module is synthetic: the benchmark harness generated it to time the site build.
`, m+1, sentence(12), 1000+m, sentence(8))
		if err := os.WriteFile(filepath.Join(mdir, "_index.md"), []byte(index), 0o644); err != nil {
			return err
		}
		for l := 0; l < perModule && m*perModule+l < n; l++ {
			var body strings.Builder
			for s := range 4 + r.IntN(3) {
				fmt.Fprintf(&body, "## Section %d\n\n", s+1)
				for range 2 + r.IntN(2) {
					for range 3 + r.IntN(4) {
						body.WriteString(sentence(8 + r.IntN(12)))
						body.WriteByte(' ')
					}
					body.WriteString("\n\n")
				}
				if r.IntN(3) == 0 {
					for range 3 {
						fmt.Fprintf(&body, "- %s\n", sentence(6))
					}
					body.WriteString("\n")
				}
			}
			lesson := fmt.Sprintf(`---
title: "Synthetic lesson %d.%d"
description: "%s"
weight: %d
takeaways:
  - "%s"
  - "%s"
---

%s`, m+1, l+1, sentence(14), l+1, sentence(9), sentence(9), body.String())
			if err := os.WriteFile(filepath.Join(mdir, fmt.Sprintf("%02d-lesson.md", l+1)), []byte(lesson), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// CopyDir copies a directory tree; directories are created private (0700).
func CopyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
}

func copyTree(src, dst string, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if skip != nil && rel != "." && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func htmlFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") {
			out = append(out, p)
		}
		return err
	})
	return out, err
}

// PageWeight is one public page's first-view transfer: the HTML and the
// CSS and JavaScript it references, each gzip-compressed (level 6).
type PageWeight struct {
	Page        string
	HTML, CSS   int
	JS          int
	Total       int
	Blocking    []string // scripts without defer, async or type=module
	Unresolved  []string // local references not found in the build
	Stylesheets int
	Scripts     int
}

// PageWeights measures every HTML page of a built site.
func PageWeights(siteDir string) ([]PageWeight, error) {
	files, err := htmlFiles(siteDir)
	if err != nil {
		return nil, err
	}
	cache := map[string]int{}
	gz := func(p string) (int, bool) {
		if n, ok := cache[p]; ok {
			return n, true
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		n := gzipSize(b)
		cache[p] = n
		return n, true
	}
	var out []PageWeight
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(siteDir, f)
		w := PageWeight{Page: "/" + filepath.ToSlash(rel), HTML: gzipSize(b)}
		if isRedirectStub(b) {
			continue // Hugo's alias pages: a meta refresh, no assets
		}
		resolve := func(ref string) string {
			ref = strings.SplitN(strings.SplitN(ref, "#", 2)[0], "?", 2)[0]
			if strings.HasPrefix(ref, "//") || strings.Contains(ref, "://") || ref == "" {
				return ""
			}
			if strings.HasPrefix(ref, "/") {
				return filepath.Join(siteDir, filepath.FromSlash(ref))
			}
			return filepath.Join(filepath.Dir(f), filepath.FromSlash(path.Clean(ref)))
		}
		z := html.NewTokenizer(bytes.NewReader(b))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			t := z.Token()
			attr := map[string]string{}
			has := map[string]bool{}
			for _, a := range t.Attr {
				attr[strings.ToLower(a.Key)] = a.Val
				has[strings.ToLower(a.Key)] = true
			}
			switch t.Data {
			case "link":
				rels := strings.Fields(strings.ToLower(attr["rel"]))
				if slices.Contains(rels, "stylesheet") {
					w.Stylesheets++
					if p := resolve(attr["href"]); p != "" {
						if n, ok := gz(p); ok {
							w.CSS += n
						} else {
							w.Unresolved = append(w.Unresolved, attr["href"])
						}
					}
				}
				if slices.Contains(rels, "modulepreload") {
					if p := resolve(attr["href"]); p != "" {
						if n, ok := gz(p); ok {
							w.JS += n
						}
					}
				}
			case "script":
				src, external := attr["src"]
				if !has["defer"] && !has["async"] && strings.ToLower(attr["type"]) != "module" &&
					!strings.Contains(strings.ToLower(attr["type"]), "json") {
					name := src
					if !external {
						name = "inline script"
					}
					w.Blocking = append(w.Blocking, name)
				}
				if external {
					w.Scripts++
					if p := resolve(src); p != "" {
						if n, ok := gz(p); ok {
							w.JS += n
						} else {
							w.Unresolved = append(w.Unresolved, src)
						}
					}
				}
			}
		}
		w.Total = w.HTML + w.CSS + w.JS
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b PageWeight) int { return b.Total - a.Total })
	return out, nil
}

func isRedirectStub(b []byte) bool {
	return len(b) < 1024 && bytes.Contains(bytes.ToLower(b), []byte(`http-equiv="refresh"`))
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, 6)
	w.Write(b)
	w.Close()
	return buf.Len()
}
