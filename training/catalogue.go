package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"portal/access"
)

// CatalogueFile is the name of the JSON file Hugo writes for each language
// (site/layouts/home.trainingcatalogue.json), in the public build and in the
// members build: <dir>/<lang>/training-catalogue.json.
const CatalogueFile = "training-catalogue.json"

// Module is a training module as the site builds describe it, merged over
// its languages. Lessons, questions and the pass mark come from one language
// (English when the module has it): progress is recorded by id, the same in
// every language.
type Module struct {
	ID string
	// Restricted modules are members-only; Access and TLP then come from
	// the module's front matter. Public modules have Access ["public"] and
	// TLP:CLEAR.
	Restricted bool
	Access     []string
	TLP        access.TLP
	PassMark   int // percent
	Lessons    []Lesson
	Questions  []Question
	// Version names the module's current text (front matter version, or
	// its date); ValidityMonths is how long a pass stays valid (0: always).
	Version        string
	ValidityMonths int
	// Quiz says how the quiz is marked: a self-check quiz's key is in the
	// build output; a graded one's comes from the content tree (keys.go).
	Quiz QuizRules
	// texts holds each language's question texts (HTML the build made),
	// for pages the portal renders: lang → question id → text.
	texts map[string]map[string]questionText
	// explanations holds each language's explanations of a graded quiz
	// (Markdown from quiz.yaml): lang → question id → text.
	explanations map[string]map[string]string
	// keyErr says why a graded quiz's key could not be loaded; such a quiz
	// cannot be marked (ErrUnavailable).
	keyErr error
	// Langs lists the languages the module exists in, canonical one first.
	Langs  []string
	titles map[string]string
	urls   map[string]string
}

// Lesson is one lesson of a module.
type Lesson struct {
	ID     string
	Title  string
	URL    string
	Weight int
}

// Question is one quiz question with its answer key.
type Question struct {
	ID      string
	Type    string // "single" or "multiple"
	Topic   string // "" unless the quiz draws per topic
	Prompt  string // plain text
	Options []string
	Answers []string
}

// QuizRules are a module's quiz settings (module front matter "quiz" and
// the pool settings of quiz.yaml).
type QuizRules struct {
	Graded bool
	// Feedback is when a graded quiz's explanations are shown.
	Feedback string
	// AttemptsPerHour bounds the graded attempts a learner may start.
	AttemptsPerHour int
	// Pick is how many questions an attempt asks (0: all); PickTopics,
	// when set, how many of each topic instead.
	Pick       int
	PickTopics map[string]int
}

// Feedback choices of a graded quiz.
const (
	// FeedbackAfterPass shows explanations only in the result of a passed
	// attempt; failed ones say which answers were wrong.
	FeedbackAfterPass = "after-pass"
	// FeedbackEachAttempt shows every asked question's explanation after
	// each attempt.
	FeedbackEachAttempt = "each-attempt"
)

// questionText is a question as one language's build wrote it.
type questionText struct {
	promptHTML  string
	optionsHTML map[string]string // option id → HTML
}

// Object is what access.CanSee judges for the module.
func (m *Module) Object() access.Object {
	return access.Object{Groups: m.Access, TLP: m.TLP}
}

// Title returns the module's title in lang, or in its canonical language.
func (m *Module) Title(lang string) string {
	if t, ok := m.titles[lang]; ok {
		return t
	}
	return m.titles[m.Langs[0]]
}

// URL returns the module's page in lang, or in its canonical language.
func (m *Module) URL(lang string) string {
	if u, ok := m.urls[lang]; ok {
		return u
	}
	return m.urls[m.Langs[0]]
}

// HasLang reports whether the module exists in lang.
func (m *Module) HasLang(lang string) bool { return slices.Contains(m.Langs, lang) }

// lesson reports whether id is one of the module's lessons.
func (m *Module) lesson(id string) bool {
	return slices.ContainsFunc(m.Lessons, func(l Lesson) bool { return l.ID == id })
}

func (m *Module) question(id string) *Question {
	for i := range m.Questions {
		if m.Questions[i].ID == id {
			return &m.Questions[i]
		}
	}
	return nil
}

// The catalogue file's shape.
type catalogueFile struct {
	Lang    string          `json:"lang"`
	Modules []catalogueItem `json:"modules"`
}

type catalogueItem struct {
	ID         string   `json:"id"`
	Lang       string   `json:"lang"`
	Title      string   `json:"title"`
	URL        string   `json:"url"`
	Restricted bool     `json:"restricted"`
	Access     []string `json:"access"`
	TLP        string   `json:"tlp"`
	PassMark   int      `json:"passMark"`
	Graded     bool     `json:"graded"`
	Feedback   string   `json:"feedback"`
	// AttemptsPerHour and Pick come from front matter and quiz.yaml as
	// trainers wrote them: a number, or for Pick a map of topics.
	AttemptsPerHour json.RawMessage `json:"attemptsPerHour"`
	Pick            json.RawMessage `json:"pick"`
	Version         string          `json:"version"`
	ValidityMonths  int             `json:"validityMonths"`
	Lessons         []struct {
		ID     string `json:"id"`
		URL    string `json:"url"`
		Weight int    `json:"weight"`
		Title  string `json:"title"`
	} `json:"lessons"`
	Quiz []struct {
		ID          string   `json:"id"`
		Type        string   `json:"type"`
		Topic       string   `json:"topic"`
		Prompt      string   `json:"prompt"`
		PromptHTML  string   `json:"promptHTML"`
		Options     []string `json:"options"`
		OptionsHTML []string `json:"optionsHTML"`
		Answers     []string `json:"answers"`
	} `json:"quiz"`
}

var (
	moduleID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,99}$`)
	itemID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	langCode = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// Catalogue holds the modules of the built sites. It reads the catalogue
// files of the public build and of the members build, and reads them again
// when they change (checked at most once per CheckInterval), so that a site
// rebuild needs no restart. A file that fails to parse keeps the previous
// catalogue in force and is logged.
type Catalogue struct {
	publicDir, membersDir string
	// contentDir is the content tree graded quizzes' keys are read from
	// (SetContentDir); "" leaves graded quizzes unmarkable.
	contentDir string
	log        *slog.Logger
	now        func() time.Time

	mu      sync.Mutex
	checked time.Time
	stamps  map[string]time.Time // file → modification time
	modules map[string]*Module
}

// CheckInterval is how often the catalogue looks for rebuilt files.
const CheckInterval = 2 * time.Second

// OpenCatalogue loads the catalogues under publicDir (the public build) and
// membersDir (the members build; "" for none). It fails on a malformed
// file; a missing one just contributes no modules.
func OpenCatalogue(publicDir, membersDir string, log *slog.Logger) (*Catalogue, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Catalogue{publicDir: publicDir, membersDir: membersDir, log: log, now: time.Now}
	stamps, err := c.stat()
	if err != nil {
		return nil, err
	}
	modules, err := c.load(stamps)
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		log.Warn("training: no modules in the site builds' catalogues", "public", publicDir, "members", membersDir)
	}
	c.stamps, c.modules, c.checked = stamps, modules, c.now()
	return c, nil
}

// SetContentDir names the content tree (the repository's content/
// directory, or the copy a release ships) that graded quizzes' answer keys
// are read from, and reads them. The keys are read again whenever the
// catalogue is. Call it before the catalogue is shared.
func (c *Catalogue) SetContentDir(dir string) error {
	c.contentDir = dir
	modules, err := c.load(c.stamps)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.modules = modules
	c.mu.Unlock()
	return nil
}

// Module returns the module with this id.
func (c *Catalogue) Module(id string) (*Module, bool) {
	c.refresh()
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.modules[id]
	return m, ok
}

// Modules returns every module, by id.
func (c *Catalogue) Modules() []*Module {
	c.refresh()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Module, 0, len(c.modules))
	for _, m := range c.modules {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Module) int { return cmpString(a.ID, b.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refresh reloads the catalogue when a file was added, removed or changed.
func (c *Catalogue) refresh() {
	c.mu.Lock()
	if c.now().Sub(c.checked) < CheckInterval {
		c.mu.Unlock()
		return
	}
	c.checked = c.now()
	old := c.stamps
	c.mu.Unlock()

	stamps, err := c.stat()
	if err != nil {
		c.log.Error("training: catalogue", "error", err)
		return
	}
	if equalStamps(old, stamps) {
		return
	}
	modules, err := c.load(stamps)
	if err != nil {
		c.log.Error("training: catalogue changed but cannot be read; keeping the previous one", "error", err)
		return
	}
	c.mu.Lock()
	c.stamps, c.modules = stamps, modules
	c.mu.Unlock()
	c.log.Info("training: catalogue reloaded", "modules", len(modules))
}

func equalStamps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

// catFile is one catalogue file and the build it belongs to.
type catFile struct {
	path    string
	members bool
}

// files lists the catalogue files of both builds; the public build's first.
func (c *Catalogue) files() ([]catFile, error) {
	var out []catFile
	for i, dir := range []string{c.publicDir, c.membersDir} {
		if dir == "" {
			continue
		}
		matches, err := filepath.Glob(filepath.Join(dir, "*", CatalogueFile))
		if err != nil {
			return nil, err
		}
		sort.Strings(matches)
		for _, m := range matches {
			out = append(out, catFile{path: m, members: i == 1})
		}
	}
	return out, nil
}

func (c *Catalogue) stat() (map[string]time.Time, error) {
	files, err := c.files()
	if err != nil {
		return nil, fmt.Errorf("training catalogue: %w", err)
	}
	stamps := map[string]time.Time{}
	for _, f := range files {
		info, err := os.Stat(f.path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed between the glob and now
			}
			return nil, fmt.Errorf("training catalogue: %w", err)
		}
		stamps[f.path] = info.ModTime()
	}
	return stamps, nil
}

// load reads the files and merges their modules. A module that is
// restricted in any file is restricted (fail closed); the public build's
// titles and URLs win for public modules.
func (c *Catalogue) load(stamps map[string]time.Time) (map[string]*Module, error) {
	files, err := c.files()
	if err != nil {
		return nil, err
	}
	type entry struct {
		item    catalogueItem
		members bool
	}
	byID := map[string][]entry{}
	for _, cf := range files {
		f, members := cf.path, cf.members
		if _, ok := stamps[f]; !ok {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("training catalogue: %w", err)
		}
		var doc catalogueFile
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("training catalogue %s: %w", f, err)
		}
		for i, it := range doc.Modules {
			if err := it.validate(); err != nil {
				return nil, fmt.Errorf("training catalogue %s: module %d (%s): %w", f, i, it.ID, err)
			}
			if it.Restricted && !members {
				c.log.Error("training: the public build's catalogue lists a members-only module", "file", f, "module", it.ID)
			}
			byID[it.ID] = append(byID[it.ID], entry{it, members})
		}
	}
	out := map[string]*Module{}
	for id, entries := range byID {
		// Canonical entry: English if present, then by language; public
		// build before members build for equal languages.
		slices.SortStableFunc(entries, func(a, b entry) int {
			ka, kb := langRank(a.item.Lang), langRank(b.item.Lang)
			if ka != kb {
				return cmpString(ka, kb)
			}
			if a.members != b.members {
				if !a.members {
					return -1
				}
				return 1
			}
			return 0
		})
		canon := entries[0].item
		m := &Module{ID: id, PassMark: canon.PassMark, titles: map[string]string{}, urls: map[string]string{}}
		for _, l := range canon.Lessons {
			m.Lessons = append(m.Lessons, Lesson{ID: l.ID, Title: l.Title, URL: l.URL, Weight: l.Weight})
		}
		rules, err := canon.rules()
		if err != nil {
			return nil, fmt.Errorf("training catalogue: module %s: %w", id, err)
		}
		m.Quiz, m.texts = rules, map[string]map[string]questionText{}
		m.Version, m.ValidityMonths = canon.Version, max(canon.ValidityMonths, 0)
		for _, q := range canon.Quiz {
			answers := slices.Clone(q.Answers)
			if rules.Graded {
				answers = nil // only ever from the content tree
			}
			m.Questions = append(m.Questions, Question{ID: q.ID, Type: q.Type, Topic: q.Topic, Prompt: q.Prompt,
				Options: slices.Clone(q.Options), Answers: answers})
		}
		for _, e := range entries {
			it := e.item
			if it.Restricted {
				if !m.Restricted {
					// The first restricted entry sets the rule; a public
					// one never loosens it.
					m.Restricted, m.Access, m.TLP = true, slices.Clone(it.Access), access.TLP(it.TLP)
				} else if !slices.Equal(sorted(it.Access), sorted(m.Access)) || access.TLP(it.TLP) != m.TLP {
					c.log.Warn("training: a module's languages disagree on its access; the first is used",
						"module", id, "lang", it.Lang)
				}
			}
			if _, seen := m.titles[it.Lang]; !seen {
				m.titles[it.Lang], m.urls[it.Lang] = it.Title, it.URL
				m.Langs = append(m.Langs, it.Lang)
				m.texts[it.Lang] = it.questionTexts()
			}
			if !sameStructure(canon, it) {
				c.log.Warn("training: a translation's lessons or quiz differ from the canonical language's; progress uses the canonical ones",
					"module", id, "canonical", canon.Lang, "lang", it.Lang)
			}
		}
		if !m.Restricted {
			m.Access, m.TLP = []string{access.Public}, access.Clear
		}
		out[id] = m
	}
	if c.contentDir != "" {
		loadKeys(c.contentDir, out, c.log)
	}
	for _, m := range out {
		if m.Quiz.Graded && c.contentDir == "" {
			m.keyErr = errors.New("no content directory to read the answer key from")
		}
	}
	return out, nil
}

// rules reads the quiz settings of a catalogue entry.
func (it *catalogueItem) rules() (QuizRules, error) {
	r := QuizRules{Graded: it.Graded, Feedback: it.Feedback, AttemptsPerHour: 5}
	if r.Feedback == "" {
		r.Feedback = FeedbackAfterPass
	}
	if r.Feedback != FeedbackAfterPass && r.Feedback != FeedbackEachAttempt {
		return r, fmt.Errorf("quiz feedback %q: want %s or %s", r.Feedback, FeedbackAfterPass, FeedbackEachAttempt)
	}
	if len(it.AttemptsPerHour) > 0 && string(it.AttemptsPerHour) != "null" {
		if err := json.Unmarshal(it.AttemptsPerHour, &r.AttemptsPerHour); err != nil || r.AttemptsPerHour < 1 {
			return r, fmt.Errorf("quiz attemptsPerHour %s: want a whole number of at least 1", it.AttemptsPerHour)
		}
	}
	if len(it.Pick) > 0 && string(it.Pick) != "null" {
		if it.Pick[0] == '{' {
			if err := json.Unmarshal(it.Pick, &r.PickTopics); err != nil {
				return r, fmt.Errorf("quiz pick: %w", err)
			}
			for topic, n := range r.PickTopics {
				if n < 1 {
					return r, fmt.Errorf("quiz pick: topic %q: want at least 1 question", topic)
				}
			}
		} else if err := json.Unmarshal(it.Pick, &r.Pick); err != nil || r.Pick < 0 {
			return r, fmt.Errorf("quiz pick %s: want a whole number or a map of topics to numbers", it.Pick)
		}
	}
	return r, nil
}

// questionTexts returns the entry's question texts by question id.
func (it *catalogueItem) questionTexts() map[string]questionText {
	out := map[string]questionText{}
	for _, q := range it.Quiz {
		t := questionText{promptHTML: q.PromptHTML, optionsHTML: map[string]string{}}
		for i, o := range q.Options {
			if i < len(q.OptionsHTML) {
				t.optionsHTML[o] = q.OptionsHTML[i]
			}
		}
		out[q.ID] = t
	}
	return out
}

func langRank(lang string) string {
	if lang == "en" {
		return ""
	}
	return lang
}

func sorted(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

func sameStructure(a, b catalogueItem) bool {
	if a.PassMark != b.PassMark || len(a.Lessons) != len(b.Lessons) || len(a.Quiz) != len(b.Quiz) {
		return false
	}
	for i := range a.Lessons {
		if a.Lessons[i].ID != b.Lessons[i].ID {
			return false
		}
	}
	for i := range a.Quiz {
		if a.Quiz[i].ID != b.Quiz[i].ID || !slices.Equal(sorted(a.Quiz[i].Options), sorted(b.Quiz[i].Options)) ||
			!slices.Equal(sorted(a.Quiz[i].Answers), sorted(b.Quiz[i].Answers)) {
			return false
		}
	}
	return true
}

func (it *catalogueItem) validate() error {
	switch {
	case !moduleID.MatchString(it.ID):
		return fmt.Errorf("invalid module id %q", it.ID)
	case !langCode.MatchString(it.Lang):
		return fmt.Errorf("invalid lang %q", it.Lang)
	case it.Title == "":
		return errors.New("missing title")
	case it.PassMark < 0 || it.PassMark > 100:
		return fmt.Errorf("passMark %d is not a percentage", it.PassMark)
	}
	if it.Restricted {
		if len(it.Access) == 0 || slices.Contains(it.Access, access.Public) || !access.TLP(it.TLP).Valid() {
			return fmt.Errorf("members-only module needs access groups (not %q) and a TLP label", access.Public)
		}
	}
	seen := map[string]bool{}
	for _, l := range it.Lessons {
		if !itemID.MatchString(l.ID) || seen[l.ID] {
			return fmt.Errorf("invalid or repeated lesson id %q", l.ID)
		}
		seen[l.ID] = true
	}
	seen = map[string]bool{}
	for _, q := range it.Quiz {
		if !itemID.MatchString(q.ID) || seen[q.ID] {
			return fmt.Errorf("invalid or repeated question id %q", q.ID)
		}
		seen[q.ID] = true
		if q.Type != "single" && q.Type != "multiple" {
			return fmt.Errorf("question %q: unknown type %q", q.ID, q.Type)
		}
		if it.Graded {
			continue // the key is not here, whatever the file says
		}
		if len(q.Answers) == 0 || (q.Type == "single" && len(q.Answers) != 1) {
			return fmt.Errorf("question %q: bad answer key", q.ID)
		}
		for _, a := range q.Answers {
			if !slices.Contains(q.Options, a) {
				return fmt.Errorf("question %q: answer %q is not an option", q.ID, a)
			}
		}
	}
	return nil
}
