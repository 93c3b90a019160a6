// Package alerts keeps members up with the research library: searches they
// save, with an alert setting; records they follow; the digest pass that
// finds what is new for each and tells them, in the portal's inbox and by
// mail; and the inbox itself.
//
// Documented choices:
//   - Whether a member hears of a record is decided when the digest is
//     made, by access.CanSee for the member as they are then: access lost
//     since saving a search means nothing is sent. The text and filters of
//     a search are matched by the member search itself (search.Searcher's
//     Member, through the filter builder and the member's tenant token),
//     limited to the records that changed; the store has the last word.
//   - Withdrawn records are never listed. A followed record's withdrawal
//     is told, as a withdrawal, to followers who could see it.
//   - Mail leaves the portal, so the TLP label decides what it may say:
//     records labelled TLP:CLEAR and TLP:GREEN are named by title and link;
//     for TLP:AMBER, TLP:AMBER+STRICT and TLP:RED a mail only says how many
//     new records match which saved search, with a link into the portal.
//   - The inbox holds every notification, written without an access check
//     and checked when read: a row whose record the member may no longer
//     see is not shown (see Service.Notifications).
//   - Every alert mail carries, for each search it reports on, a link that
//     turns off that one search's alert without signing in, and for each
//     followed record a link that stops following it. A link's token is an
//     HMAC of what it stops (search or follow) and its ID under a key
//     derived from the portal's secret key: nothing to store, and it dies
//     with the search or follow.
//   - Send is one pass, safe to run at any time and from one process at a
//     time (a database lease may wrap it): it handles the searches whose
//     period has elapsed and the follows, and moves each one's window only
//     when its notifications are committed. A mail queued before a commit
//     that then fails is sent again by the next pass: at least once, never
//     lost.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"portal/access"
	"portal/account"
	"portal/search"
)

// Frequency is a saved search's alert setting.
type Frequency string

// The alert settings.
const (
	Off    Frequency = "off"
	Daily  Frequency = "daily"
	Weekly Frequency = "weekly"
)

// Valid reports whether f is an alert setting.
func (f Frequency) Valid() bool { return f == Off || f == Daily || f == Weekly }

// Period is how long after a digest the next one is due; 0 for Off.
func (f Frequency) Period() time.Duration {
	switch f {
	case Daily:
		return 24 * time.Hour
	case Weekly:
		return 7 * 24 * time.Hour
	}
	return 0
}

// Query is a saved member search: its text and the research filters the
// member search takes (api.parseMemberQuery checks them, with the search
// page's own rules, before they are saved).
type Query struct {
	Text      string   `json:"text"`
	Topics    []string `json:"topics,omitempty"`
	Countries []string `json:"countries,omitempty"`
	Regions   []string `json:"regions,omitempty"`
	Types     []string `json:"type,omitempty"`
	Languages []string `json:"language,omitempty"`
	TLPs      []string `json:"tlp,omitempty"`
	YearFrom  int      `json:"year_from,omitempty"`
	YearTo    int      `json:"year_to,omitempty"`
}

// QueryOf keeps what a saved search keeps of a member search: the text and
// the filters, not the page, sort or language.
func QueryOf(q search.MemberQuery) Query {
	return Query{Text: q.Text, Topics: q.Topics, Countries: q.Countries, Regions: q.Regions, Types: q.Types,
		Languages: q.Languages, TLPs: q.TLPs, YearFrom: q.YearFrom, YearTo: q.YearTo}
}

// memberQuery is the member search that finds, among ids, the records
// matching q.
func (q Query) memberQuery(ids []string) search.MemberQuery {
	return search.MemberQuery{Text: q.Text, Lang: "en", Scope: "research", Sort: "relevance", Page: 1,
		Topics: q.Topics, Countries: q.Countries, Regions: q.Regions, Types: q.Types, Languages: q.Languages,
		TLPs: q.TLPs, YearFrom: q.YearFrom, YearTo: q.YearTo, IDs: ids}
}

// SavedSearch is a member's saved search.
type SavedSearch struct {
	ID        string    `json:"id"`
	UserID    string    `json:"-"`
	Name      string    `json:"name"`
	Query     Query     `json:"query"`
	Alert     Frequency `json:"alert"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// LastDigestAt starts the next digest's window.
	LastDigestAt time.Time `json:"lastDigestAt"`
}

// Follow is a member following one record.
type Follow struct {
	ID        string    `json:"id"`
	UserID    string    `json:"-"`
	DocID     string    `json:"docId"`
	CreatedAt time.Time `json:"createdAt"`
	CheckedAt time.Time `json:"-"`
	// Title is the record's, filled by Service.Follows while the member
	// may see the record, empty otherwise.
	Title string `json:"title,omitempty"`
}

// Kind is what a notification tells.
type Kind string

// Notification kinds.
const (
	KindMatch     Kind = "match"     // a record new or with a new version matches a saved search
	KindVersion   Kind = "version"   // a followed record has a new version
	KindWithdrawn Kind = "withdrawn" // a followed record was withdrawn
)

// Notification is a row of a member's inbox as stored: it names the
// record by ID only.
type Notification struct {
	ID         int64
	UserID     string
	Kind       Kind
	DocID      string
	Version    int
	SearchID   string // KindMatch only
	SearchName string
	CreatedAt  time.Time
	ReadAt     time.Time // zero while unread
}

// Record is what the store holds now of a research record.
type Record struct {
	ID             string
	Title          string
	Object         access.Object
	Withdrawn      bool
	WithdrawnAt    time.Time
	CurrentVersion int
}

// Change is a record that is new, or has a new version, in a window.
type Change struct {
	Record
	// Version is the newest version uploaded in the window; By uploaded it.
	Version int
	By      string
}

// FollowState is a follow with what happened to its record since the
// follow was last checked.
type FollowState struct {
	Follow
	Record Record
	// NewVersion is the newest version uploaded after CheckedAt and up to
	// the pass's time, 0 if none.
	NewVersion int
}

// Digested is what a pass commits for one member at once: the
// notifications, and the windows it closed.
type Digested struct {
	At            time.Time
	Searches      []string // IDs whose LastDigestAt becomes At
	Follows       []string // IDs whose CheckedAt becomes At
	Notifications []Notification
}

// Store keeps saved searches, follows and notifications. Lookups of a
// missing row, or of another member's, return ErrNotFound.
type Store interface {
	CreateSearch(ctx context.Context, s *SavedSearch) error // ErrConflict on a name the member already uses
	Searches(ctx context.Context, userID string) ([]SavedSearch, error)
	Search(ctx context.Context, userID, id string) (*SavedSearch, error)
	// SearchByID finds a search whoever owns it, for unsubscribe links.
	SearchByID(ctx context.Context, id string) (*SavedSearch, error)
	UpdateSearch(ctx context.Context, s *SavedSearch) error // name, query, alert, updated_at
	DeleteSearch(ctx context.Context, userID, id string) error
	// DueSearches returns the searches with an alert on whose window began
	// at or before dailyBefore (daily) or weeklyBefore (weekly).
	DueSearches(ctx context.Context, dailyBefore, weeklyBefore time.Time) ([]SavedSearch, error)

	CreateFollow(ctx context.Context, f *Follow) error // ErrConflict if already followed
	Follows(ctx context.Context, userID string) ([]Follow, error)
	DeleteFollow(ctx context.Context, userID, docID string) error
	// DeleteFollowByID removes a follow whoever owns it, for the links in
	// mails, and returns its owner's ID.
	DeleteFollowByID(ctx context.Context, id string) (userID string, err error)
	// FollowStates returns the follows whose record got a new version, or
	// was withdrawn, after the follow was last checked and up to until,
	// with the record's state.
	FollowStates(ctx context.Context, until time.Time) ([]FollowState, error)

	// Changes returns the records, withdrawn or not, created or given a
	// new version after since and up to until.
	Changes(ctx context.Context, since, until time.Time) ([]Change, error)
	// Records returns the records of ids that exist.
	Records(ctx context.Context, ids []string) (map[string]Record, error)
	// Users returns the accounts of ids that exist (ID, Email, Groups,
	// Disabled).
	Users(ctx context.Context, ids []string) (map[string]account.User, error)

	// Digest commits d for one member in one transaction.
	Digest(ctx context.Context, d Digested) error
	// Notifications returns a member's newest notifications first, up to
	// limit.
	Notifications(ctx context.Context, userID string, limit int) ([]Notification, error)
	// MarkRead marks one of a member's notifications read, or all of them
	// when id is 0.
	MarkRead(ctx context.Context, userID string, id int64, at time.Time) error
}

// Errors. The API maps them to statuses; compare with errors.Is.
var (
	ErrNotFound = errors.New("alerts: not found") // 404; also for records the member may not see
	ErrConflict = errors.New("alerts: conflict")  // 409
	ErrInvalid  = errors.New("alerts: invalid")   // 400; see ValidationError
)

// ValidationError names a field and says, in words safe to show, what is
// wrong with it. It wraps ErrInvalid.
type ValidationError struct {
	Field, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Reason)
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }
