package search

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"portal/access"
	"portal/language"
)

// Page is one public page or training page as Hugo's search feed describes it
// and as it is stored in the pages and training indexes.
type Page struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Lang        string `json:"lang"`
	Kind        string `json:"kind"` // "page" or "training"
	Section     string `json:"section"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Content     string `json:"content"`
	Weight      int    `json:"weight"`
	// AccessGroups and TLP say who may find the page; public pages have
	// ["public"] and TLP:CLEAR. The feed of the public build never sets
	// them; ReadFeeds fills them in.
	AccessGroups []string `json:"access_groups"`
	TLP          string   `json:"tlp"`
	// Original holds Title, Description and Content as written when they
	// differ from the searchable fields above, which for Arabic hold the
	// folded text (NormalizeArabic) so that readers' spellings meet. It is
	// displayed, never searched: hits show the reader the page's own
	// words, with the matches found in the folded text marked at the same
	// letters (restoreOriginal). Keeping the folded text in the usual field
	// names leaves other languages' documents, and the indexes' ranking
	// settings, as they were.
	Original *Original `json:"original,omitempty"`
}

// Original is a page's text as written.
type Original struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Content     string `json:"content"`
}

// foldArabic makes an Arabic page searchable across spellings, keeping the
// text as written for display.
func (p *Page) foldArabic() {
	if p.Lang != "ar" {
		return
	}
	p.Original = &Original{Title: p.Title, Description: p.Description, Content: p.Content}
	p.Title, p.Description, p.Content = NormalizeArabic(p.Title), NormalizeArabic(p.Description), NormalizeArabic(p.Content)
}

// Kinds of page in the feed.
const (
	KindPage     = "page"
	KindTraining = "training"
)

var docID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,511}$`)

// ReadFeeds reads the search feed Hugo wrote for every language under the
// built site's directory (public/<lang>/search-feed.json).
func ReadFeeds(siteDir string) ([]Page, error) {
	var pages []Page
	for _, lang := range language.All() {
		path := filepath.Join(siteDir, lang, "search-feed.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read search feed: %w", err)
		}
		var feed struct {
			Lang  string `json:"lang"`
			Pages []Page `json:"pages"`
		}
		if err := json.Unmarshal(b, &feed); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		for i := range feed.Pages {
			p := &feed.Pages[i]
			if err := p.validate(lang); err != nil {
				return nil, fmt.Errorf("%s: page %d (%s): %w", path, i, p.URL, err)
			}
			// The public build holds public pages only, whatever a feed
			// might claim.
			p.AccessGroups, p.TLP = []string{access.Public}, string(access.Clear)
			p.foldArabic()
		}
		pages = append(pages, feed.Pages...)
	}
	return pages, nil
}

func (p Page) validate(lang string) error {
	switch {
	case !docID.MatchString(p.ID):
		return fmt.Errorf("invalid id %q", p.ID)
	case p.Lang != lang:
		return fmt.Errorf("lang %q in the %s feed", p.Lang, lang)
	case p.Kind != KindPage && p.Kind != KindTraining:
		return fmt.Errorf("unknown kind %q", p.Kind)
	case p.Title == "" || p.URL == "":
		return errors.New("missing title or url")
	}
	return nil
}

// MembersFeedFile is the members build's search documents (written by
// site/layouts/home.memberssearch.json at the root of that build): the
// members-only training pages with their access groups and TLP label.
const MembersFeedFile = "members-search.json"

// ReadMembersFeed reads the search documents of the members-only training
// pages from the members build's directory. Unlike ReadFeeds it keeps each
// page's access groups and TLP label, and it refuses a page that would be
// public: no access groups, the "public" group, no valid label, or a URL
// outside /members/.
func ReadMembersFeed(membersDir string) ([]Page, error) {
	path := filepath.Join(membersDir, MembersFeedFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read members search feed: %w", err)
	}
	var feed struct {
		Pages []Page `json:"pages"`
	}
	if err := json.Unmarshal(b, &feed); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	for i := range feed.Pages {
		p := &feed.Pages[i]
		if err := p.validate(p.Lang); err != nil || !language.Valid(p.Lang) {
			return nil, fmt.Errorf("%s: page %d (%s): %v (lang %q)", path, i, p.URL, err, p.Lang)
		}
		switch {
		case p.Kind != KindTraining:
			return nil, fmt.Errorf("%s: page %d (%s): kind %q, want %q", path, i, p.URL, p.Kind, KindTraining)
		case !strings.HasPrefix(p.URL, "/members/"):
			return nil, fmt.Errorf("%s: page %d: url %q is not under /members/", path, i, p.URL)
		case len(p.AccessGroups) == 0 || slices.Contains(p.AccessGroups, access.Public) || !access.TLP(p.TLP).Valid():
			return nil, fmt.Errorf("%s: page %d (%s): members-only pages need access groups (never %q) and a TLP label",
				path, i, p.URL, access.Public)
		case slices.ContainsFunc(p.AccessGroups, func(g string) bool { return !access.ValidGroup(g) }):
			return nil, fmt.Errorf("%s: page %d (%s): access groups %q: names are %s", path, i, p.URL, p.AccessGroups, access.GroupRule)
		}
		p.foldArabic()
	}
	return feed.Pages, nil
}
