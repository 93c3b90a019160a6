package site_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"portal/portaltest"
	"portal/search"
	"portal/site"
)

func loadDoc(t *testing.T, root, rel string) *html.Node {
	t.Helper()
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	return strings.Contains(" "+v+" ", " "+class+" ")
}

// all returns the elements under n (in document order) that match.
func all(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// wrapper is the training page's element with the data- attributes.
func wrapper(t *testing.T, doc *html.Node, rel string) *html.Node {
	t.Helper()
	w := all(doc, func(n *html.Node) bool { _, ok := attr(n, "data-training-page"); return ok && hasClass(n, "training") })
	if len(w) != 1 {
		t.Fatalf("%s: %d training wrappers", rel, len(w))
	}
	return w[0]
}

// TestTrainingPages checks the structure the training templates promise,
// on a module in English and in Arabic.
func TestTrainingPages(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	const module = "recognising-and-reporting"
	for _, lang := range []string{"en", "ar"} {
		base := lang + "/training/" + module + "/"

		// Module overview.
		doc := loadDoc(t, root, base+"index.html")
		w := wrapper(t, doc, base)
		lessons, _ := attr(w, "data-training-lessons")
		ids := strings.Fields(lessons)
		if id, _ := attr(w, "data-training-module"); id != module || len(ids) != 5 {
			t.Fatalf("%s: module %q lessons %q", base, id, lessons)
		}
		if n := len(all(w, func(n *html.Node) bool {
			return n.Data == "li" && n.Parent != nil && n.Parent.Parent != nil && hasClass(n.Parent, "training-lessons")
		})); n != 5 {
			t.Errorf("%s lists %d lessons", base, n)
		}
		if len(all(w, func(n *html.Node) bool { v, _ := attr(n, "datetime"); return n.Data == "time" && v == "PT40M" })) != 1 {
			t.Errorf("%s: no machine-readable duration", base)
		}
		for _, href := range []string{"/" + base + "quiz/", "/" + base + "handout/", "/" + base + ids[0] + "/", "/" + lang + "/glossary/"} {
			if len(all(w, func(n *html.Node) bool { v, _ := attr(n, "href"); return n.Data == "a" && v == href })) == 0 {
				t.Errorf("%s does not link to %s", base, href)
			}
		}

		// Lessons: position, data attributes, takeaways, previous and next.
		for i, id := range ids {
			rel := base + id + "/index.html"
			doc := loadDoc(t, root, rel)
			w := wrapper(t, doc, rel)
			if v, _ := attr(w, "data-training-lesson"); v != id {
				t.Errorf("%s: data-training-lesson %q", rel, v)
			}
			if len(all(w, func(n *html.Node) bool { return hasClass(n, "takeaways") })) != 1 {
				t.Errorf("%s: no key takeaways", rel)
			}
			if len(all(w, func(n *html.Node) bool { v, _ := attr(n, "aria-current"); return v == "step" })) != 1 {
				t.Errorf("%s: the lesson list does not mark the current lesson", rel)
			}
			prev := all(w, func(n *html.Node) bool { v, _ := attr(n, "rel"); return n.Data == "a" && v == "prev" })
			next := all(w, func(n *html.Node) bool { v, _ := attr(n, "rel"); return n.Data == "a" && v == "next" })
			if len(prev) != 1 || len(next) != 1 {
				t.Fatalf("%s: %d previous and %d next links", rel, len(prev), len(next))
			}
			wantPrev, wantNext := "/"+base, "/"+base+"quiz/"
			if i > 0 {
				wantPrev = "/" + base + ids[i-1] + "/"
			}
			if i < len(ids)-1 {
				wantNext = "/" + base + ids[i+1] + "/"
			}
			if p, _ := attr(prev[0], "href"); p != wantPrev {
				t.Errorf("%s: previous %s, want %s", rel, p, wantPrev)
			}
			if n, _ := attr(next[0], "href"); n != wantNext {
				t.Errorf("%s: next %s, want %s", rel, n, wantNext)
			}
			box := all(w, func(n *html.Node) bool { v, _ := attr(n, "type"); return n.Data == "input" && v == "checkbox" })
			if len(box) != 1 {
				t.Errorf("%s: %d done checkboxes", rel, len(box))
			}
		}

		// Quiz: a fieldset with a legend per question, a label per input, and
		// the answers with explanations after the form.
		rel := base + "quiz/index.html"
		doc = loadDoc(t, root, rel)
		w = wrapper(t, doc, rel)
		sets := all(w, tag("fieldset"))
		if len(sets) != 5 {
			t.Errorf("%s: %d fieldsets", rel, len(sets))
		}
		labels := map[string]bool{}
		for _, l := range all(w, tag("label")) {
			v, _ := attr(l, "for")
			labels[v] = true
		}
		for _, fs := range sets {
			if len(all(fs, tag("legend"))) != 1 {
				t.Errorf("%s: a fieldset without its legend", rel)
			}
			inputs := all(fs, tag("input"))
			if len(inputs) < 2 {
				t.Errorf("%s: a question with %d options", rel, len(inputs))
			}
			for _, in := range inputs {
				id, _ := attr(in, "id")
				if !labels[id] {
					t.Errorf("%s: input %s has no label", rel, id)
				}
			}
		}
		answers := all(w, func(n *html.Node) bool { _, ok := attr(n, "data-answer-for"); return ok })
		if len(answers) != 5 {
			t.Errorf("%s: %d answers", rel, len(answers))
		}
		for _, a := range answers {
			if v, _ := attr(a, "data-answers"); v == "" || text(a) == "" {
				t.Errorf("%s: an answer without correct options or explanation", rel)
			}
		}
		form := all(w, tag("form"))
		section := all(w, func(n *html.Node) bool { return hasClass(n, "quiz-answers") })
		if len(form) != 1 || len(section) != 1 || form[0].Parent != section[0].Parent {
			t.Errorf("%s: want one form followed by the answers section", rel)
		} else {
			order := 0
			for c := form[0].Parent.FirstChild; c != nil; c = c.NextSibling {
				if c == form[0] {
					order = 1
				}
				if c == section[0] && order != 1 {
					t.Errorf("%s: the answers come before the questions", rel)
				}
			}
		}

		// Handout: every lesson, in order, and the quiz with its answers.
		rel = base + "handout/index.html"
		doc = loadDoc(t, root, rel)
		w = wrapper(t, doc, rel)
		sections := all(w, func(n *html.Node) bool { return hasClass(n, "handout-lesson") })
		if len(sections) != len(ids) {
			t.Errorf("%s: %d lessons, want %d", rel, len(sections), len(ids))
		}
		if len(all(w, func(n *html.Node) bool { _, ok := attr(n, "data-answer-for"); return ok })) != 5 {
			t.Errorf("%s: the quiz answers are missing", rel)
		}
		if len(all(w, func(n *html.Node) bool { return hasClass(n, "handout-footer") })) != 0 {
			t.Errorf("%s: a public handout has the members' footer", rel)
		}
	}

	// Glossary terms link to their definitions (the fragments are checked by
	// TestEveryPage): the lessons use some.
	doc := loadDoc(t, root, "en/training/"+module+"/01-what-it-is/index.html")
	if len(all(doc, func(n *html.Node) bool {
		v, _ := attr(n, "href")
		return hasClass(n, "term") && strings.HasPrefix(v, "/en/glossary/#")
	})) == 0 {
		t.Error("no glossary term links in the first lesson")
	}

	// Every public module exists in French: the French catalogue links to
	// each in French and falls back to English for none.
	src, err := site.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	modules, err := os.ReadDir(filepath.Join(src, "content", "en", "training"))
	if err != nil {
		t.Fatal(err)
	}
	doc = loadDoc(t, root, "fr/training/index.html")
	main := all(doc, tag("main"))
	if len(main) != 1 {
		t.Fatalf("French catalogue: %d main elements", len(main))
	}
	listed := 0
	for _, m := range modules {
		if !m.IsDir() {
			continue
		}
		listed++
		href := "/fr/training/" + m.Name() + "/"
		if len(all(main[0], func(n *html.Node) bool { v, _ := attr(n, "href"); return n.Data == "a" && v == href })) == 0 {
			t.Errorf("French catalogue does not link to %s", href)
		}
	}
	if listed < 4 {
		t.Errorf("only %d public modules in content/en/training", listed)
	}
	if foreign := all(main[0], func(n *html.Node) bool {
		v, _ := attr(n, "href")
		return n.Data == "a" && strings.HasPrefix(v, "/en/training/")
	}); len(foreign) != 0 {
		t.Errorf("French catalogue falls back to %d English modules", len(foreign))
	}
}

// TestTrainingInSearchFeed: training pages are in the feed as kind
// "training"; the quiz and handout pages are not.
func TestTrainingInSearchFeed(t *testing.T) {
	root, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := search.ReadFeeds(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pages {
		isTraining := strings.Contains(p.URL, "/training/")
		if isTraining != (p.Kind == search.KindTraining) {
			t.Errorf("%s: kind %q", p.URL, p.Kind)
		}
		if strings.HasSuffix(p.URL, "/quiz/") || strings.HasSuffix(p.URL, "/handout/") {
			t.Errorf("%s is in the search feed", p.URL)
		}
		if isTraining {
			n++
			if p.Description == "" {
				t.Errorf("%s: no description", p.URL)
			}
		}
	}
	if n < 4*4 {
		t.Errorf("%d training pages in the feeds", n)
	}
}
