package site

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"

	"portal/language"
)

// Offline archives. After the public build, PackOffline writes for each
// public training module and language one ZIP archive that works from the
// file system, with no network: the module's overview, lessons, quiz and
// handout pages, the glossary page their terms link to, and the stylesheet
// and script they load, with every link between them made relative (and
// directory links pointing at index.html, which file:// does not add). A
// graded quiz's page says that it needs a connection instead of offering
// an attempt. The archive is <lang>/training/<module>/<module>-<lang>.zip
// beside the module's page, whose link to it then shows its size.

// Markers in training-module.html and training/quiz-graded.html.
const (
	offlineOpen      = "<!--portal:offline-->"
	offlineClose     = "<!--/portal:offline-->"
	offlineSize      = "<!--portal:offline-size-->"
	quizOpen         = "<!--portal:quiz-->"
	quizClose        = "<!--/portal:quiz-->"
	offlineNoteAttr  = " data-offline-note hidden"
	quizTemplateOpen = `<template id="portal-quiz-template">`
)

// archiveTime dates every entry, so that a build gives the same bytes.
var archiveTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

type offlineModule struct {
	ID         string `json:"id"`
	URL        string `json:"url"`
	Restricted bool   `json:"restricted"`
	Lessons    []struct {
		URL string `json:"url"`
	} `json:"lessons"`
}

// ArchiveName is the offline archive's file name of a module in lang.
func ArchiveName(module, lang string) string { return module + "-" + lang + ".zip" }

// PackOffline writes the offline archives of the public build in dir.
func PackOffline(dir string) error {
	for _, lang := range language.All() {
		b, err := os.ReadFile(filepath.Join(dir, lang, "training-catalogue.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("offline: %w", err)
		}
		var cat struct {
			Modules []offlineModule `json:"modules"`
		}
		if err := json.Unmarshal(b, &cat); err != nil {
			return fmt.Errorf("offline: %s catalogue: %w", lang, err)
		}
		for _, m := range cat.Modules {
			if m.Restricted {
				continue
			}
			if err := packModule(dir, lang, m); err != nil {
				return fmt.Errorf("offline: %s %s: %w", lang, m.ID, err)
			}
		}
	}
	return nil
}

func packModule(dir, lang string, m offlineModule) error {
	// The pages, by URL path ("/en/training/x/01-a/").
	pages := []string{m.URL}
	for _, l := range m.Lessons {
		pages = append(pages, l.URL)
	}
	for _, extra := range []string{m.URL + "quiz/", m.URL + "handout/", "/" + lang + "/glossary/"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(extra), "index.html")); err == nil {
			pages = append(pages, extra)
		}
	}
	inArchive := map[string]string{} // URL path → file in the archive
	for _, p := range pages {
		inArchive[p] = strings.TrimPrefix(p, "/") + "index.html"
	}
	// The stylesheet, script and icons every page loads.
	assets := map[string]bool{}
	docs := map[string]*html.Node{}
	// Links to the rest of the site lead to it online: the public origin
	// comes from the pages' canonical links (none when built for "/").
	origin := ""
	for _, p := range pages {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p), "index.html"))
		if err != nil {
			return err
		}
		doc, err := html.Parse(bytes.NewReader(offlineText(raw)))
		if err != nil {
			return err
		}
		docs[p] = doc
		walk(doc, func(n *html.Node) {
			if u, err := url.Parse(attr(n, "href")); err == nil && n.Data == "link" && attr(n, "rel") == "canonical" &&
				(u.Scheme == "https" || u.Scheme == "http") {
				origin = u.Scheme + "://" + u.Host
			}
			rel := attr(n, "rel")
			if (n.Data == "link" && (rel == "stylesheet" || strings.Contains(rel, "icon"))) || n.Data == "script" {
				for _, key := range []string{"href", "src"} {
					if v := attr(n, key); strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") {
						assets[v] = true
						inArchive[v] = strings.TrimPrefix(v, "/")
					}
				}
			}
		})
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: archiveTime})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	start := inArchive[m.URL]
	if err := add("index.html", []byte(`<!doctype html><html lang="`+lang+`"><meta charset="utf-8"><title>`+m.ID+
		`</title><meta http-equiv="refresh" content="0; url=`+start+`"><p><a href="`+start+`">`+m.ID+`</a></p></html>`)); err != nil {
		return err
	}
	for _, p := range pages {
		doc := docs[p]
		from := path.Dir(inArchive[p])
		walk(doc, func(n *html.Node) { relink(n, from, inArchive, origin) })
		var out bytes.Buffer
		if err := html.Render(&out, doc); err != nil {
			return err
		}
		if err := add(inArchive[p], out.Bytes()); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(assets))
	for a := range assets {
		names = append(names, a)
	}
	slices.Sort(names)
	for _, a := range names {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(a, "/"))))
		if err != nil {
			return err
		}
		if err := add(inArchive[a], b); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	moduleDir := filepath.Join(dir, filepath.FromSlash(m.URL))
	if err := os.WriteFile(filepath.Join(moduleDir, ArchiveName(m.ID, lang)), buf.Bytes(), 0o644); err != nil {
		return err
	}
	// The module page's link says how large the archive is.
	index := filepath.Join(moduleDir, "index.html")
	page, err := os.ReadFile(index)
	if err != nil {
		return err
	}
	kb := (buf.Len() + 1023) / 1024
	return os.WriteFile(index, bytes.ReplaceAll(page, []byte(offlineSize), []byte(strconv.Itoa(kb))), 0o644)
}

// offlineText drops from a page what needs the portal: the archive's own
// download link, a graded quiz's attempt form and template; and shows the
// graded quiz's note that it needs a connection.
func offlineText(page []byte) []byte {
	page = cut(page, offlineOpen, offlineClose)
	if bytes.Contains(page, []byte(quizOpen)) {
		page = cut(page, quizOpen, quizClose)
		page = cut(page, quizTemplateOpen, "</template>")
		page = bytes.Replace(page, []byte(offlineNoteAttr), []byte(" data-offline-note"), 1)
	}
	return page
}

// cut removes from open to close, both included.
func cut(page []byte, open, close string) []byte {
	for {
		i := bytes.Index(page, []byte(open))
		if i < 0 {
			return page
		}
		j := bytes.Index(page[i:], []byte(close))
		if j < 0 {
			return page
		}
		page = append(page[:i:i], page[i+j+len(close):]...)
	}
}

// relink makes n's links to archived files relative to the page's folder,
// its other site links absolute (to origin, when known), and drops what
// file:// cannot honour (Subresource Integrity with CORS).
func relink(n *html.Node, from string, inArchive map[string]string, origin string) {
	if n.Data == "link" || n.Data == "script" {
		n.Attr = dropAttrs(n.Attr, "integrity", "crossorigin")
	}
	for i, a := range n.Attr {
		if a.Key != "href" && a.Key != "src" {
			continue
		}
		target, frag, _ := strings.Cut(a.Val, "#")
		target, _, _ = strings.Cut(target, "?")
		if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
			continue
		}
		file, ok := inArchive[target]
		if !ok {
			if origin != "" {
				n.Attr[i].Val = origin + a.Val
			}
			continue
		}
		rel := relPath(from, file)
		if frag != "" {
			rel += "#" + frag
		}
		n.Attr[i].Val = rel
	}
}

// relPath is the relative path from folder from to file, both relative to
// the archive's root.
func relPath(from, file string) string {
	r, err := filepath.Rel(filepath.FromSlash("/"+from), filepath.FromSlash("/"+file))
	if err != nil {
		return file
	}
	return filepath.ToSlash(r)
}

func dropAttrs(attrs []html.Attribute, keys ...string) []html.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		drop := false
		for _, k := range keys {
			drop = drop || a.Key == k
		}
		if !drop {
			out = append(out, a)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}
