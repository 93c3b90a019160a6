package api

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"portal/language"
	"portal/search"
)

// site serves the public site that Hugo built, and renders search results
// into the search page for readers without JavaScript.
type site struct {
	root   *os.Root
	search Searcher
	log    *slog.Logger

	mu     sync.Mutex
	shells map[string]*searchShell // by language
}

// The search page carries its own results template, localised by Hugo, in a
// <template> element that browsers never render; the server executes it and
// puts the output where the marker stands.
const (
	resultsMarker   = "<!--portal:search-results-->"
	templateOpenTag = `<template id="portal-results-template">`
	templateEndTag  = `</template>`
)

type searchShell struct {
	modTime time.Time
	before  []byte // page up to the marker
	after   []byte // page after the marker
	tmpl    *template.Template
}

func newSite(dir string, s Searcher, log *slog.Logger) (*site, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open site directory: %w", err)
	}
	return &site{root: root, search: s, log: log, shells: map[string]*searchShell{}}, nil
}

func (s *site) close() error { return s.root.Close() }

// fingerprinted matches Hugo's fingerprinted asset names (name.<sha256>.ext),
// which never change content and may be cached for a year.
var fingerprinted = regexp.MustCompile(`\.[0-9a-f]{64}\.[a-z0-9]+$`)

func (s *site) serve(c *echo.Context) error {
	req := c.Request()
	name := path.Clean("/" + req.URL.Path)
	if name == "/api" || strings.HasPrefix(name, "/api/") {
		// Unknown API paths get the API's JSON 404, not the site's page.
		return echo.ErrNotFound
	}
	if lang, ok := searchPageLang(name); ok && req.URL.Query().Get("q") != "" {
		return s.renderSearch(c, lang)
	}
	rel := strings.TrimPrefix(name, "/")
	if rel == "" {
		rel = "."
	}
	f, info, err := s.open(rel)
	if err == nil && info.IsDir() {
		f.Close()
		if !strings.HasSuffix(req.URL.Path, "/") {
			// Hugo links directories with a trailing slash; keep one URL
			// per page. The target is a local path, never another host.
			return c.Redirect(http.StatusMovedPermanently, strings.TrimSuffix(name, "/")+"/")
		}
		f, info, err = s.open(path.Join(rel, "index.html"))
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s.notFound(c, name)
		}
		return fmt.Errorf("open %s: %w", rel, err)
	}
	defer f.Close()
	h := c.Response().Header()
	if fingerprinted.MatchString(info.Name()) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(c.Response(), req, info.Name(), info.ModTime(), f)
	return nil
}

func (s *site) open(name string) (*os.File, os.FileInfo, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// notFound answers with the 404 page of the language the path starts with.
func (s *site) notFound(c *echo.Context, name string) error {
	lang := "en"
	if first, _, _ := strings.Cut(strings.TrimPrefix(name, "/"), "/"); language.Valid(first) {
		lang = first
	}
	page, err := s.root.ReadFile(path.Join(lang, "404.html"))
	if err != nil {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.HTMLBlob(http.StatusNotFound, page)
}

// searchPageLang reports whether name is a language's search page.
func searchPageLang(name string) (string, bool) {
	parts := strings.Split(strings.Trim(name, "/"), "/")
	if len(parts) == 2 && parts[1] == "search" && language.Valid(parts[0]) {
		return parts[0], true
	}
	return "", false
}

// resultsView is the data the search page's results template receives.
type resultsView struct {
	Query      string
	Total      int
	Page       int
	TotalPages int
	Error      string // "", "invalid" or "unavailable"
	Hits       []hitView
	Facets     []facetView
	PrevURL    string
	NextURL    string
}

type hitView struct {
	Title, URL, Section, Kind string
	Snippet                   template.HTML
}

type facetView struct {
	Value    string
	Count    int
	Selected bool
	URL      string
}

func (s *site) renderSearch(c *echo.Context, lang string) error {
	shell, err := s.shell(lang)
	if err != nil {
		return err
	}
	params := c.QueryParams()
	params.Set("lang", lang)
	view := resultsView{Query: params.Get("q")}
	status := http.StatusOK
	q, err := parsePublicQuery(params)
	if err != nil {
		view.Error, status = "invalid", http.StatusBadRequest
	} else if res, err := s.search.Public(c.Request().Context(), q); err != nil {
		apiErr := searchError(err)
		s.log.Error("search page", "error", err)
		view.Error, status = "unavailable", apiErr.Status
		if apiErr.Status < 500 {
			view.Error = "invalid"
		}
	} else {
		view = newResultsView(lang, q, res)
	}
	var buf bytes.Buffer
	buf.Write(shell.before)
	if err := shell.tmpl.Execute(&buf, view); err != nil {
		return fmt.Errorf("render search results: %w", err)
	}
	buf.Write(shell.after)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

func newResultsView(lang string, q search.PublicQuery, res *search.Results) resultsView {
	link := func(section string, page int) string {
		v := url.Values{"q": {q.Text}}
		if section != "" {
			v.Set("section", section)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return "/" + lang + "/search/?" + v.Encode()
	}
	view := resultsView{Query: q.Text, Total: res.Total, Page: res.Page, TotalPages: res.TotalPages}
	for _, h := range res.Hits {
		view.Hits = append(view.Hits, hitView{Title: h.Title, URL: h.URL, Section: h.Section, Kind: h.Kind,
			// Safe: search escapes the text and adds only <mark> elements.
			Snippet: template.HTML(h.Snippet)})
	}
	for _, f := range res.Facets["section"] {
		fv := facetView{Value: f.Value, Count: f.Count, Selected: f.Value == q.Section, URL: link(f.Value, 1)}
		if fv.Selected {
			fv.URL = link("", 1)
		}
		view.Facets = append(view.Facets, fv)
	}
	if q.Page > 1 {
		view.PrevURL = link(q.Section, q.Page-1)
	}
	if q.Page < res.TotalPages {
		view.NextURL = link(q.Section, q.Page+1)
	}
	return view
}

// shell returns the parsed search page of lang, reparsing it when Hugo has
// rebuilt the file.
func (s *site) shell(lang string) (*searchShell, error) {
	name := path.Join(lang, "search", "index.html")
	info, err := s.root.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("search page: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh := s.shells[lang]; sh != nil && sh.modTime.Equal(info.ModTime()) {
		return sh, nil
	}
	page, err := s.root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("search page: %w", err)
	}
	sh, err := parseShell(page)
	if err != nil {
		return nil, fmt.Errorf("search page %s: %w", name, err)
	}
	sh.modTime = info.ModTime()
	s.shells[lang] = sh
	return sh, nil
}

func parseShell(page []byte) (*searchShell, error) {
	return parseShellAt(page, resultsMarker, templateOpenTag)
}

// parseShellAt splits a page rendered by the server at its marker and
// parses the Go template that follows the template's opening tag.
func parseShellAt(page []byte, resultsMarker, templateOpenTag string) (*searchShell, error) {
	marker := bytes.Index(page, []byte(resultsMarker))
	open := bytes.Index(page, []byte(templateOpenTag))
	if marker < 0 || open < 0 {
		return nil, errors.New("results marker or template missing")
	}
	body := page[open+len(templateOpenTag):]
	end := bytes.Index(body, []byte(templateEndTag))
	if end < 0 {
		return nil, errors.New("results template not closed")
	}
	tmpl, err := template.New("results").Delims("[[", "]]").Parse(string(body[:end]))
	if err != nil {
		return nil, fmt.Errorf("parse results template: %w", err)
	}
	return &searchShell{
		before: page[:marker],
		after:  page[marker+len(resultsMarker):],
		tmpl:   tmpl,
	}, nil
}
