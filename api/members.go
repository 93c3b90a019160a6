package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"portal/access"
	"portal/account"
	"portal/language"
)

// membersSite serves the members build (Hugo's members environment) under
// /members/: the pages of members-only training modules, only to members
// whose groups allow them, as access.CanSee decides from the build's
// manifest (members-manifest.json). Everything else that build holds is
// public content built a second time: its pages are redirected to their
// public address and its assets (CSS, JavaScript) served to logged-in
// members; its JSON files (the manifest, the training catalogue, the
// members' search documents) are never served.
//
// A page one may not see answers exactly like a page that does not exist.
// Without a complete login, any well-formed path is sent to the login page,
// whether or not it exists.
type membersSite struct {
	root *os.Root // nil when there is no members build
	site *site    // for the 404 page
	log  *slog.Logger
	now  func() time.Time

	mu       sync.Mutex
	manifest *membersManifest
}

// ManifestFile is the members build's manifest at the root of its output.
const ManifestFile = "members-manifest.json"

// The placeholders of a members-only handout's footer
// (site/layouts/training/training-handout.html), filled for the reader.
const (
	readerNamePlaceholder = "<span data-reader-name></span>"
	printDatePlaceholder  = "<span data-print-date></span>"
)

type membersManifest struct {
	modTime time.Time
	// objects holds what CanSee judges per "<lang>/<module>"; modules lists
	// every members-only module id, whatever the language.
	objects map[string]access.Object
	modules map[string]bool
}

func newMembersSite(dir string, s *site, log *slog.Logger) (*membersSite, error) {
	m := &membersSite{site: s, log: log, now: time.Now}
	if dir == "" {
		return m, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open members site directory: %w", err)
	}
	m.root = root
	if _, err := m.load(); err != nil {
		// Serving nothing is safe; refusing to start over it would not help.
		log.Error("members site: manifest", "error", err)
	}
	return m, nil
}

func (m *membersSite) close() error {
	if m.root == nil {
		return nil
	}
	return m.root.Close()
}

// load returns the manifest, reading it again when the build changed it. A
// missing or malformed manifest is an error: nothing members-only is
// served then.
func (m *membersSite) load() (*membersManifest, error) {
	if m.root == nil {
		return nil, errors.New("no members build configured")
	}
	info, err := m.root.Stat(ManifestFile)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.manifest != nil && m.manifest.modTime.Equal(info.ModTime()) {
		return m.manifest, nil
	}
	b, err := m.root.ReadFile(ManifestFile)
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Path   string   `json:"path"`
		Lang   string   `json:"lang"`
		Module string   `json:"module"`
		Access []string `json:"access"`
		TLP    string   `json:"tlp"`
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("parse %s: %w", ManifestFile, err)
	}
	man := &membersManifest{modTime: info.ModTime(), objects: map[string]access.Object{}, modules: map[string]bool{}}
	for _, e := range entries {
		if e.Module == "" || e.Lang == "" || strings.ContainsAny(e.Module+e.Lang, "/\\") {
			return nil, fmt.Errorf("%s: entry %s without a valid module or language", ManifestFile, e.Path)
		}
		obj := access.Object{Groups: e.Access, TLP: access.TLP(e.TLP)}
		key := e.Lang + "/" + e.Module
		if prev, ok := man.objects[key]; ok && (prev.TLP != obj.TLP || strings.Join(prev.Groups, ",") != strings.Join(obj.Groups, ",")) {
			return nil, fmt.Errorf("%s: module %s has pages with different access", ManifestFile, key)
		}
		man.objects[key] = obj
		man.modules[e.Module] = true
	}
	m.manifest = man
	return man, nil
}

// safeMembersPath matches the paths worth sending to the login page: plain
// segments under /members/, nothing that could be read as another origin.
var safeMembersPath = regexp.MustCompile(`^/members(/[A-Za-z0-9._~-]+)*/?$`)

func (m *membersSite) serve(c *echo.Context) error {
	h := c.Response().Header()
	// Per-reader pages: no shared or browser cache may keep them.
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	req := c.Request()
	name := path.Clean("/" + req.URL.Path)
	rel := strings.TrimPrefix(strings.TrimPrefix(name, "/members"), "/")
	parts := strings.Split(rel, "/")
	lang := "en"
	if language.Valid(parts[0]) {
		lang = parts[0]
	}

	u, sess := currentUser(c), currentSession(c)
	if u == nil || sess == nil || sess.Stage != account.StageFull {
		raw := req.URL.Path
		if len(raw) <= 512 && safeMembersPath.MatchString(raw) && !strings.Contains(raw, "..") && !strings.Contains(raw, "//") {
			return c.Redirect(http.StatusSeeOther, "/"+lang+"/account/login/?next="+url.QueryEscape(raw))
		}
		return m.notFound(c, lang)
	}
	if m.root == nil || strings.HasSuffix(name, ".json") || name == "/members" && !strings.HasSuffix(req.URL.Path, "/") {
		return m.notFound(c, lang)
	}
	man, err := m.load()
	if err != nil {
		m.log.Error("members site: manifest", "error", err)
		return m.notFound(c, lang)
	}
	restricted := len(parts) >= 3 && parts[1] == "training" && man.modules[parts[2]]
	if restricted {
		obj, ok := man.objects[parts[0]+"/"+parts[2]]
		if !ok || !access.CanSee(u.Subject(), obj) {
			return m.notFound(c, lang)
		}
	}

	file := rel
	if file == "" {
		file = "."
	}
	info, err := m.root.Stat(file)
	if err == nil && info.IsDir() {
		if !strings.HasSuffix(req.URL.Path, "/") {
			return c.Redirect(http.StatusMovedPermanently, name+"/")
		}
		file = path.Join(file, "index.html")
		info, err = m.root.Stat(file)
	}
	if err != nil || info.IsDir() {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Error("members site", "file", file, "error", err)
		}
		return m.notFound(c, lang)
	}
	isPage := strings.HasSuffix(file, ".html")
	if !restricted {
		if isPage {
			// Public content: the public site has it at the same path
			// without /members.
			target := "/" + rel
			if strings.HasSuffix(req.URL.Path, "/") && rel != "" {
				target += "/"
			}
			return c.Redirect(http.StatusFound, target)
		}
		return m.serveFile(c, file, info)
	}
	if !isPage {
		return m.serveFile(c, file, info)
	}
	page, err := m.root.ReadFile(file)
	if err != nil {
		return fmt.Errorf("members site: %w", err)
	}
	page = bytes.ReplaceAll(page, []byte(readerNamePlaceholder),
		[]byte("<span data-reader-name>"+html.EscapeString(u.DisplayName)+"</span>"))
	today := m.now().UTC().Format(dateFormat)
	page = bytes.ReplaceAll(page, []byte(printDatePlaceholder),
		[]byte(`<span data-print-date><time datetime="`+today+`">`+today+`</time></span>`))
	return c.HTMLBlob(http.StatusOK, page)
}

func (m *membersSite) serveFile(c *echo.Context, file string, info os.FileInfo) error {
	f, err := m.root.Open(file)
	if err != nil {
		return m.notFound(c, "en")
	}
	defer f.Close()
	http.ServeContent(c.Response(), c.Request(), info.Name(), info.ModTime(), f)
	return nil
}

// quizPage returns a members-only module's quiz page for u, when u may see
// the module (graded quizzes' forms, quiz.go).
func (m *membersSite) quizPage(u *account.User, lang, module string) ([]byte, error) {
	if u == nil || m.root == nil {
		return nil, fs.ErrNotExist
	}
	man, err := m.load()
	if err != nil {
		return nil, err
	}
	obj, ok := man.objects[lang+"/"+module]
	if !ok || !access.CanSee(u.Subject(), obj) {
		return nil, fs.ErrNotExist
	}
	return m.root.ReadFile(path.Join(lang, "training", module, "quiz", "index.html"))
}

// notFound answers like the public site does for a missing page, but never
// cacheable.
func (m *membersSite) notFound(c *echo.Context, lang string) error {
	page, err := m.site.root.ReadFile(path.Join(lang, "404.html"))
	if err != nil {
		return echo.ErrNotFound
	}
	return c.HTMLBlob(http.StatusNotFound, page)
}
