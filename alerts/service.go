package alerts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/mail"
	"portal/search"
)

// Searcher is what matching a saved search needs: the member search.
type Searcher interface {
	Member(ctx context.Context, subj access.Subject, q search.MemberQuery) (*search.MemberResults, error)
}

// Mailer queues mail (mail.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, m mail.Message) error
}

// Options configure a Service.
type Options struct {
	// PublicURL is the origin that mailed links name (https://portal.example).
	PublicURL string
	// SecretKey is the portal's secret key; unsubscribe tokens are signed
	// under a key derived from it. At least 32 bytes.
	SecretKey []byte
	// Audit records what a mailed link stops, since no session does it.
	// Optional.
	Audit  *audit.Log
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
}

// ActionUnsubscribe is the audit action of a mailed link that stopped a
// saved search's alert or a follow; its actor is the member the link was
// mailed to.
const ActionUnsubscribe = "alerts.unsubscribe"

// Limits.
const (
	MaxSearches      = 50  // saved searches per member
	MaxFollows       = 500 // followed records per member
	MaxNameRunes     = 100
	InboxSize        = 200 // notifications listed, newest first
	maxSearchHitsIDs = search.MemberPageSize
)

// Service holds the rules of saved searches, follows, digests and the
// inbox. It is safe for concurrent use.
type Service struct {
	st     Store
	search Searcher
	mail   Mailer
	opts   Options
	key    []byte // signs unsubscribe tokens
	log    *slog.Logger
}

// New returns a Service.
func New(st Store, s Searcher, m Mailer, opts Options) (*Service, error) {
	if st == nil || s == nil || m == nil {
		return nil, errors.New("alerts: store, searcher and mailer are required")
	}
	if len(opts.SecretKey) < 32 {
		return nil, errors.New("alerts: SecretKey must be at least 32 bytes")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	mac := hmac.New(sha256.New, opts.SecretKey)
	mac.Write([]byte("portal alerts unsubscribe v1"))
	return &Service{st: st, search: s, mail: m, opts: opts, key: mac.Sum(nil), log: opts.Logger}, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Round(0) }

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("alerts: random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validID reports whether id has the shape of the portal's IDs (16 bytes,
// hex), so that junk never reaches the store.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// checkName checks a search's name by the rule of every name members type
// (account.NormText).
func checkName(name string) (string, error) {
	name, err := account.NormText("name", MaxNameRunes, name)
	var invalid *account.InputError
	if errors.As(err, &invalid) {
		return "", &ValidationError{invalid.Field, invalid.Reason}
	}
	return name, err
}

// SaveSearch saves q under name for u.
func (s *Service) SaveSearch(ctx context.Context, u *account.User, name string, q Query, alert Frequency) (SavedSearch, error) {
	name, err := checkName(name)
	if err != nil {
		return SavedSearch{}, err
	}
	if !alert.Valid() {
		return SavedSearch{}, &ValidationError{"alert", `must be "off", "daily" or "weekly"`}
	}
	have, err := s.st.Searches(ctx, u.ID)
	if err != nil {
		return SavedSearch{}, fmt.Errorf("alerts: saved searches: %w", err)
	}
	if len(have) >= MaxSearches {
		return SavedSearch{}, &ValidationError{"name", fmt.Sprintf("a member keeps at most %d saved searches", MaxSearches)}
	}
	id, err := newID()
	if err != nil {
		return SavedSearch{}, err
	}
	now := s.now()
	ss := SavedSearch{ID: id, UserID: u.ID, Name: name, Query: q, Alert: alert, CreatedAt: now, UpdatedAt: now, LastDigestAt: now}
	if err := s.st.CreateSearch(ctx, &ss); err != nil {
		return SavedSearch{}, fmt.Errorf("alerts: save search: %w", err)
	}
	return ss, nil
}

// Searches lists u's saved searches.
func (s *Service) Searches(ctx context.Context, u *account.User) ([]SavedSearch, error) {
	out, err := s.st.Searches(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("alerts: saved searches: %w", err)
	}
	return out, nil
}

// Change is a change to a saved search; nil fields stay as they are.
type SearchChange struct {
	Name  *string
	Query *Query
	Alert *Frequency
}

// UpdateSearch changes one of u's saved searches.
func (s *Service) UpdateSearch(ctx context.Context, u *account.User, id string, ch SearchChange) (SavedSearch, error) {
	if !validID(id) {
		return SavedSearch{}, ErrNotFound
	}
	ss, err := s.st.Search(ctx, u.ID, id)
	if err != nil {
		return SavedSearch{}, err
	}
	if ch.Name != nil {
		if ss.Name, err = checkName(*ch.Name); err != nil {
			return SavedSearch{}, err
		}
	}
	if ch.Query != nil {
		ss.Query = *ch.Query
	}
	if ch.Alert != nil {
		if !ch.Alert.Valid() {
			return SavedSearch{}, &ValidationError{"alert", `must be "off", "daily" or "weekly"`}
		}
		ss.Alert = *ch.Alert
	}
	ss.UpdatedAt = s.now()
	if err := s.st.UpdateSearch(ctx, ss); err != nil {
		return SavedSearch{}, fmt.Errorf("alerts: update search: %w", err)
	}
	return *ss, nil
}

// DeleteSearch deletes one of u's saved searches.
func (s *Service) DeleteSearch(ctx context.Context, u *account.User, id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	return s.st.DeleteSearch(ctx, u.ID, id)
}

// visibleNow reports whether u may see r now in a list: access.CanSee
// decides, and withdrawn records are never listed.
func visibleNow(subj access.Subject, r Record) bool {
	return !r.Withdrawn && access.CanSee(subj, r.Object)
}

// FollowRecord makes u follow a record u can see. A record u cannot see
// answers ErrNotFound, as one that does not exist.
func (s *Service) FollowRecord(ctx context.Context, u *account.User, docID string) (Follow, error) {
	if !validID(docID) {
		return Follow{}, ErrNotFound
	}
	recs, err := s.st.Records(ctx, []string{docID})
	if err != nil {
		return Follow{}, fmt.Errorf("alerts: follow: %w", err)
	}
	if r, ok := recs[docID]; !ok || !visibleNow(u.Subject(), r) {
		return Follow{}, ErrNotFound
	}
	have, err := s.st.Follows(ctx, u.ID)
	if err != nil {
		return Follow{}, fmt.Errorf("alerts: follows: %w", err)
	}
	if len(have) >= MaxFollows {
		return Follow{}, &ValidationError{"docId", fmt.Sprintf("a member follows at most %d records", MaxFollows)}
	}
	id, err := newID()
	if err != nil {
		return Follow{}, err
	}
	now := s.now()
	f := Follow{ID: id, UserID: u.ID, DocID: docID, CreatedAt: now, CheckedAt: now}
	if err := s.st.CreateFollow(ctx, &f); err != nil {
		return Follow{}, fmt.Errorf("alerts: follow: %w", err)
	}
	return f, nil
}

// Follows lists the records u follows.
func (s *Service) Follows(ctx context.Context, u *account.User) ([]Follow, error) {
	out, err := s.st.Follows(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("alerts: follows: %w", err)
	}
	ids := make([]string, len(out))
	for i, f := range out {
		ids[i] = f.DocID
	}
	recs, err := s.st.Records(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("alerts: follows: %w", err)
	}
	subj := u.Subject()
	for i, f := range out {
		if r, ok := recs[f.DocID]; ok && visibleNow(subj, r) {
			out[i].Title = r.Title
		}
	}
	return out, nil
}

// Unfollow stops u following a record.
func (s *Service) Unfollow(ctx context.Context, u *account.User, docID string) error {
	if !validID(docID) {
		return ErrNotFound
	}
	return s.st.DeleteFollow(ctx, u.ID, docID)
}

// Item is a notification as its member reads it.
type Item struct {
	ID        int64     `json:"id"`
	Kind      Kind      `json:"kind"`
	CreatedAt time.Time `json:"createdAt"`
	Read      bool      `json:"read"`
	Search    *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"search,omitempty"`
	Record struct {
		ID      string     `json:"id"`
		Title   string     `json:"title"`
		TLP     access.TLP `json:"tlp"`
		Version int        `json:"version"`
	} `json:"record"`
}

// Inbox is what the inbox shows.
type Inbox struct {
	Unread int    `json:"unread"`
	Items  []Item `json:"items"`
}

// Notifications returns u's inbox, checked now: a notification about a
// record u may no longer see is left out. A withdrawal is shown to who
// may see the record apart from its withdrawal; everything else only
// while the record is not withdrawn.
func (s *Service) Notifications(ctx context.Context, u *account.User) (Inbox, error) {
	ns, err := s.st.Notifications(ctx, u.ID, InboxSize)
	if err != nil {
		return Inbox{}, fmt.Errorf("alerts: notifications: %w", err)
	}
	ids := make([]string, 0, len(ns))
	for _, n := range ns {
		ids = append(ids, n.DocID)
	}
	recs, err := s.st.Records(ctx, ids)
	if err != nil {
		return Inbox{}, fmt.Errorf("alerts: notifications: %w", err)
	}
	subj := u.Subject()
	in := Inbox{Items: []Item{}}
	for _, n := range ns {
		r, ok := recs[n.DocID]
		if !ok || !access.CanSee(subj, r.Object) || (n.Kind != KindWithdrawn && r.Withdrawn) {
			continue
		}
		it := Item{ID: n.ID, Kind: n.Kind, CreatedAt: n.CreatedAt, Read: !n.ReadAt.IsZero()}
		it.Record.ID, it.Record.Title, it.Record.TLP, it.Record.Version = r.ID, r.Title, r.Object.TLP, n.Version
		if n.Kind == KindMatch {
			it.Search = &struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}{n.SearchID, n.SearchName}
		}
		if !it.Read {
			in.Unread++
		}
		in.Items = append(in.Items, it)
	}
	return in, nil
}

// MarkRead marks one of u's notifications read, or all when id is 0.
func (s *Service) MarkRead(ctx context.Context, u *account.User, id int64) error {
	if id < 0 {
		return ErrNotFound
	}
	return s.st.MarkRead(ctx, u.ID, id, s.now())
}

// What an unsubscribe token stops: a saved search's alert, or a follow.
const (
	tokenSearch = "search"
	tokenFollow = "follow"
)

// token signs kind and id: the link of a mail that stops one search's
// alert, or one follow.
func (s *Service) token(kind, id string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(kind + ":" + id))
	return id + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// UnsubscribeToken returns the token of a search's unsubscribe link.
func (s *Service) UnsubscribeToken(searchID string) string { return s.token(tokenSearch, searchID) }

// UnfollowToken returns the token of a follow's link in a mail.
func (s *Service) UnfollowToken(followID string) string { return s.token(tokenFollow, followID) }

// Unsubscribed says what an unsubscribe link stopped. Name is the saved
// search's; a follow's record is not named, since the link works without
// a session.
type Unsubscribed struct {
	Kind string `json:"kind"` // "search" or "follow"
	Name string `json:"name,omitempty"`
}

// Unsubscribe stops what a mailed token names, without a session (the
// token is the credential): the alert of one saved search, which stays
// saved, or one follow. A bad token, or one of a search or follow that
// no longer exists, gives ErrNotFound.
func (s *Service) Unsubscribe(ctx context.Context, token string, c account.Client) (Unsubscribed, error) {
	id, _, ok := strings.Cut(token, ".")
	if !ok || !validID(id) {
		return Unsubscribed{}, ErrNotFound
	}
	var (
		done  Unsubscribed
		owner string
	)
	switch {
	case hmac.Equal([]byte(token), []byte(s.UnsubscribeToken(id))):
		ss, err := s.st.SearchByID(ctx, id)
		if err != nil {
			return Unsubscribed{}, err
		}
		ss.Alert, ss.UpdatedAt = Off, s.now()
		if err := s.st.UpdateSearch(ctx, ss); err != nil {
			return Unsubscribed{}, fmt.Errorf("alerts: unsubscribe: %w", err)
		}
		done, owner = Unsubscribed{Kind: tokenSearch, Name: ss.Name}, ss.UserID
	case hmac.Equal([]byte(token), []byte(s.UnfollowToken(id))):
		var err error
		if owner, err = s.st.DeleteFollowByID(ctx, id); err != nil {
			return Unsubscribed{}, err
		}
		done = Unsubscribed{Kind: tokenFollow}
	default:
		return Unsubscribed{}, ErrNotFound
	}
	if s.opts.Audit != nil {
		// Written even if the client has gone: the change is made.
		err := s.opts.Audit.Record(context.WithoutCancel(ctx), audit.Entry{Actor: owner, Action: ActionUnsubscribe,
			Target: id, IP: c.IP, Outcome: audit.OutcomeSuccess, Detail: done.Kind + " stopped by a mailed link"})
		if err != nil {
			return done, fmt.Errorf("alerts: audit unsubscribe: %w", err)
		}
	}
	return done, nil
}
