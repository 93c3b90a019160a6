package site_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"portal/claims"
	"portal/portaltest"
	"portal/search"
	"portal/site"
)

func TestMain(m *testing.M) {
	code := m.Run()
	portaltest.RemoveSite()
	os.Exit(code)
}

// page is what the checks need from one generated HTML file.
type page struct {
	rel         string // path under the site root, e.g. en/notices/index.html
	lang, dir   string
	title       string
	description string
	h1          int
	ids         map[string]bool
	links       []string // href/src values
	problems    []string
}

func parsePage(t *testing.T, root, rel string) *page {
	t.Helper()
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	p := &page{rel: rel, ids: map[string]bool{}}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
				if strings.HasPrefix(a.Key, "on") {
					p.problems = append(p.problems, "inline event handler "+a.Key+" on <"+n.Data+">")
				}
				if a.Key == "style" {
					p.problems = append(p.problems, "style attribute on <"+n.Data+">")
				}
				if a.Key == "id" {
					if p.ids[a.Val] {
						p.problems = append(p.problems, "duplicate id "+a.Val)
					}
					p.ids[a.Val] = true
				}
			}
			switch n.Data {
			case "html":
				p.lang, p.dir = attrs["lang"], attrs["dir"]
			case "title":
				if n.FirstChild != nil {
					p.title = strings.TrimSpace(n.FirstChild.Data)
				}
			case "meta":
				if attrs["name"] == "description" {
					p.description = attrs["content"]
				}
			case "h1":
				p.h1++
			case "img":
				if _, ok := attrs["alt"]; !ok {
					p.problems = append(p.problems, "img without alt: "+attrs["src"])
				}
			case "style":
				p.problems = append(p.problems, "inline <style>")
			case "script":
				if attrs["src"] == "" {
					p.problems = append(p.problems, "inline <script>")
				}
			case "template":
				// The search page's results template is for the server; its
				// links are checked when rendered (api tests).
				return
			}
			for _, k := range []string{"href", "src"} {
				if v, ok := attrs[k]; ok {
					p.links = append(p.links, v)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

func htmlPages(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".html") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryPage builds the public site with the pinned Hugo and checks every
// generated HTML page.
func TestEveryPage(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	rels := htmlPages(t, root)
	if len(rels) < 4*12 {
		t.Fatalf("only %d pages built", len(rels))
	}
	pages := map[string]*page{}
	for _, rel := range rels {
		pages[rel] = parsePage(t, root, rel)
	}
	for _, rel := range rels {
		p := pages[rel]
		first, _, _ := strings.Cut(rel, "/")
		if rel == "index.html" {
			first = "en" // the root page sends readers to the English home
		}
		if !search.IsLanguage(first) {
			t.Errorf("%s: page outside a language folder", rel)
			continue
		}
		wantDir := "ltr"
		if first == "ar" {
			wantDir = "rtl"
		}
		if p.lang != first || p.dir != wantDir {
			t.Errorf("%s: lang=%q dir=%q, want %q %q", rel, p.lang, p.dir, first, wantDir)
		}
		if p.h1 != 1 {
			t.Errorf("%s: %d h1 elements, want 1", rel, p.h1)
		}
		if p.title == "" || p.description == "" {
			t.Errorf("%s: title %q, description %q", rel, p.title, p.description)
		}
		for _, prob := range p.problems {
			t.Errorf("%s: %s", rel, prob)
		}
		checkLinks(t, root, pages, p)
	}
}

// checkLinks resolves every local link and asset to a built file, and every
// fragment to an id on the target page.
func checkLinks(t *testing.T, root string, pages map[string]*page, p *page) {
	t.Helper()
	base := "/" + path.Dir(p.rel) + "/"
	for _, link := range p.links {
		u, err := url.Parse(link)
		if err != nil {
			t.Errorf("%s: bad link %q", p.rel, link)
			continue
		}
		if u.Scheme != "" || u.Host != "" {
			if u.Scheme != "https" && u.Scheme != "mailto" && u.Scheme != "tel" {
				t.Errorf("%s: external link %q is not https", p.rel, link)
			}
			continue
		}
		target := p.rel
		if u.Path != "" {
			abs := u.Path
			if !strings.HasPrefix(abs, "/") {
				abs = path.Join(base, abs)
				if strings.HasSuffix(u.Path, "/") {
					abs += "/"
				}
			}
			target = strings.TrimPrefix(abs, "/")
			if target == "" || strings.HasSuffix(target, "/") {
				target += "index.html"
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
				t.Errorf("%s: link %q does not resolve", p.rel, link)
				continue
			}
		}
		if u.Fragment != "" {
			if tp, ok := pages[target]; ok && !tp.ids[u.Fragment] {
				t.Errorf("%s: link %q: no id %q on %s", p.rel, link, u.Fragment, target)
			}
		}
	}
}

// TestEveryPageInEveryLanguage: a reader can switch any page to any of the
// four languages. Training modules are the exception: they may exist in
// fewer languages (the language switcher then falls back to the language's
// home), and `portal training lint` reports which translations are missing.
func TestEveryPageInEveryLanguage(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]map[string]bool{}
	for _, rel := range htmlPages(t, root) {
		lang, rest, ok := strings.Cut(rel, "/")
		if !ok || !search.IsLanguage(lang) {
			continue
		}
		if strings.HasPrefix(rest, "training/") && rest != "training/index.html" {
			continue
		}
		if byPath[rest] == nil {
			byPath[rest] = map[string]bool{}
		}
		byPath[rest][lang] = true
	}
	for rest, langs := range byPath {
		for _, lang := range search.Languages {
			if !langs[lang] {
				t.Errorf("%s exists in %v but not in %s", rest, keys(langs), lang)
			}
		}
	}
	for _, f := range []string{"robots.txt", "sitemap.xml"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}

// TestSearchFeeds: each language has a feed that covers its pages, and the
// indexer accepts it.
func TestSearchFeeds(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := search.ReadFeeds(root)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{} // pages other than training modules, which may be partly translated
	urls := map[string]bool{}
	for _, p := range pages {
		if p.Kind != search.KindTraining || strings.HasSuffix(p.URL, "/training/") {
			count[p.Lang]++
		}
		if urls[p.URL] {
			t.Errorf("feed lists %s twice", p.URL)
		}
		urls[p.URL] = true
		if strings.TrimSpace(p.Content) == "" || p.Section == "" {
			t.Errorf("feed page %s lacks content or section", p.URL)
		}
		if strings.Contains(p.Content, "<") && strings.Contains(p.Content, "</") {
			t.Errorf("feed page %s carries markup in its content", p.URL)
		}
	}
	for _, lang := range search.Languages {
		if count[lang] < 12 || count[lang] != count["en"] {
			t.Errorf("%s feed: %d pages (en has %d)", lang, count[lang], count["en"])
		}
	}
	for u := range urls {
		if strings.HasSuffix(u, "/search/") {
			t.Errorf("the search page itself is in the feed: %s", u)
		}
	}
	var anyFeed map[string]any
	b, _ := os.ReadFile(filepath.Join(root, "ar", "search-feed.json"))
	if err := json.Unmarshal(b, &anyFeed); err != nil || anyFeed["lang"] != "ar" {
		t.Errorf("ar feed: %v", err)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestSourcesSections: every page that shows claims (content with claim
// shortcodes, site/data/claims.yaml) shows each statement in its language
// with a footnote, and ends with a Sources section listing each source once
// under the footnotes' numbers, the fact sheet with its section named in the
// page's language; pages without claims have no such section.
func TestSourcesSections(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	data, problems, err := claims.Load(repo)
	if err != nil || len(problems) > 0 {
		t.Fatalf("claims data: %v %v", err, problems)
	}
	use := regexp.MustCompile(`\{\{<\s*claim\s+"([^"]+)"\s*>\}\}`)
	withClaims, checked := 0, 0
	for _, lang := range search.Languages {
		dir := filepath.Join(repo, "content", lang)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".md" {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(strings.TrimSuffix(rel, ".md"))
			if path.Base(rel) == "_index" {
				rel = path.Dir(rel)
			}
			out := path.Join(lang, rel, "index.html")
			if rel == "." {
				out = path.Join(lang, "index.html")
			}
			if rel == "search" {
				return nil // the search page has its own layout, without content claims
			}
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(out)))
			if err != nil {
				t.Errorf("%s: no page %s: %v", p, out, err)
				return nil
			}
			checked++
			got := readSources(t, out, b)
			// What the Markdown asks for: the claims, and their sources
			// in the order of first use.
			var want []string
			var statements []string
			for _, m := range use.FindAllStringSubmatch(string(src), -1) {
				c, ok := data.Claims[m[1]]
				if !ok {
					t.Errorf("%s: unknown claim %q", p, m[1])
					continue
				}
				statements = append(statements, c.Text[lang])
				var name string
				if c.Source == claims.FactSheet {
					name = data.Sources[c.Source].Sections[c.Section][lang]
				} else {
					name = data.Sources[c.Source].Title
				}
				if !slices.Contains(want, name) {
					want = append(want, name)
				}
			}
			if len(want) == 0 {
				if got.heading != "" || len(got.items) > 0 {
					t.Errorf("%s has a Sources section but shows no claim", out)
				}
				return nil
			}
			withClaims++
			if got.heading == "" {
				t.Errorf("%s shows claims but has no Sources section", out)
				return nil
			}
			if len(got.items) != len(want) {
				t.Errorf("%s lists %d sources, want %d (%q): %q", out, len(got.items), len(want), want, got.items)
				return nil
			}
			for i, name := range want {
				if !strings.Contains(got.items[i], name) {
					t.Errorf("%s: source %d is %q, want it to name %q", out, i+1, got.items[i], name)
				}
			}
			for _, s := range statements {
				if !strings.Contains(got.text, s) {
					t.Errorf("%s does not show the statement %q", out, s)
				}
			}
			if len(got.refs) < len(statements) {
				t.Errorf("%s: %d footnote references for %d claims", out, len(got.refs), len(statements))
			}
			for _, ref := range got.refs {
				if n, err := strconv.Atoi(strings.TrimPrefix(ref, "#claims-source-")); err != nil || n < 1 || n > len(want) {
					t.Errorf("%s: footnote %q points to no source", out, ref)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if withClaims < 40 || checked < 60 {
		t.Errorf("checked %d pages, %d with claims: is the content there?", checked, withClaims)
	}
}

type sources struct {
	heading string   // the Sources section's heading
	items   []string // its entries' text, in order
	refs    []string // footnote links in the page
	text    string   // the page's text
}

func readSources(t *testing.T, rel string, b []byte) sources {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	attr := func(n *html.Node, key string) string {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val
			}
		}
		return ""
	}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var sb strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			sb.WriteString(text(c))
		}
		return sb.String()
	}
	var s sources
	var walk func(n *html.Node, inSources bool)
	walk = func(n *html.Node, inSources bool) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "section" && attr(n, "class") == "sources":
				inSources = true
			case inSources && n.Data == "h2" && attr(n, "id") == "claims-sources":
				s.heading = strings.TrimSpace(text(n))
			case inSources && n.Data == "li" && strings.HasPrefix(attr(n, "id"), "claims-source-"):
				if attr(n, "id") != fmt.Sprintf("claims-source-%d", len(s.items)+1) {
					t.Errorf("%s: source entry %q out of order", rel, attr(n, "id"))
				}
				s.items = append(s.items, strings.TrimSpace(text(n)))
			case n.Data == "sup" && attr(n, "class") == "claim-ref":
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "a" {
						s.refs = append(s.refs, attr(c, "href"))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inSources)
		}
	}
	walk(doc, false)
	s.text = text(doc)
	return s
}
