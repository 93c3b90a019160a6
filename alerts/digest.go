package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"portal/access"
	"portal/account"
	"portal/mail"
)

// Report counts what a pass did.
type Report struct {
	Searches      int // saved searches whose digest was made
	Follows       int // follows whose record changed
	Notifications int
	Mails         int
}

// Send makes one digest pass at now: each saved search with an alert whose
// period has elapsed since its last digest gets the records new, or with a
// new version, since then that match it and that its member may see now;
// each follow gets its record's new versions and withdrawal since it was
// last checked. Each member gets the notifications in the inbox and one
// mail. A search that cannot be matched now (Meilisearch down) keeps its
// window for the next pass; the error is returned with the others.
func (s *Service) Send(ctx context.Context, now time.Time) (Report, error) {
	now = now.UTC().Round(0)
	var rep Report
	due, err := s.st.DueSearches(ctx, now.Add(-Daily.Period()), now.Add(-Weekly.Period()))
	if err != nil {
		return rep, fmt.Errorf("alerts: due searches: %w", err)
	}
	follows, err := s.st.FollowStates(ctx, now)
	if err != nil {
		return rep, fmt.Errorf("alerts: follows: %w", err)
	}
	type work struct {
		searches []SavedSearch
		follows  []FollowState
	}
	byUser := map[string]*work{}
	get := func(id string) *work {
		if byUser[id] == nil {
			byUser[id] = &work{}
		}
		return byUser[id]
	}
	for _, ss := range due {
		get(ss.UserID).searches = append(get(ss.UserID).searches, ss)
	}
	for _, f := range follows {
		get(f.UserID).follows = append(get(f.UserID).follows, f)
	}
	ids := make([]string, 0, len(byUser))
	for id := range byUser {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	users, err := s.st.Users(ctx, ids)
	if err != nil {
		return rep, fmt.Errorf("alerts: members: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		u, ok := users[id]
		if !ok {
			continue // deleted meanwhile: its rows went with it
		}
		w := byUser[id]
		if err := s.digest(ctx, &u, w.searches, w.follows, now, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// section is one saved search's part of a digest.
type section struct {
	search  SavedSearch
	matched []Change
}

// digest makes one member's digest: it decides, with access.CanSee for u
// as u is now, what u hears of, queues the mail and commits the
// notifications with the windows they close.
func (s *Service) digest(ctx context.Context, u *account.User, searches []SavedSearch, follows []FollowState, now time.Time, rep *Report) error {
	subj := u.Subject() // a disabled member is a subject that sees nothing
	d := Digested{At: now}
	var (
		sections []section
		events   []FollowState
		errs     []error
	)
	for _, ss := range searches {
		matched, err := s.match(ctx, u, subj, ss, now)
		if err != nil {
			s.log.WarnContext(ctx, "alerts: saved search not matched; it stays due", "search", ss.ID, "error", err)
			errs = append(errs, err)
			continue
		}
		d.Searches = append(d.Searches, ss.ID)
		rep.Searches++
		for _, c := range matched {
			d.Notifications = append(d.Notifications, Notification{UserID: u.ID, Kind: KindMatch, DocID: c.ID,
				Version: c.Version, SearchID: ss.ID, SearchName: ss.Name, CreatedAt: now})
		}
		if len(matched) > 0 {
			sections = append(sections, section{ss, matched})
		}
	}
	for _, f := range follows {
		rep.Follows++
		r := f.Record
		withdrawn := r.Withdrawn && r.WithdrawnAt.After(f.CheckedAt) && !r.WithdrawnAt.After(now)
		if !withdrawn && f.NewVersion == 0 {
			continue // nothing happened: the follow's window stays, unwritten
		}
		d.Follows = append(d.Follows, f.ID)
		switch {
		case !access.CanSee(subj, r.Object):
			// Access lost since following: nothing to hear of.
		case withdrawn:
			d.Notifications = append(d.Notifications, Notification{UserID: u.ID, Kind: KindWithdrawn, DocID: r.ID,
				Version: r.CurrentVersion, CreatedAt: now})
			events = append(events, f)
		case !r.Withdrawn && f.NewVersion > 0:
			d.Notifications = append(d.Notifications, Notification{UserID: u.ID, Kind: KindVersion, DocID: r.ID,
				Version: f.NewVersion, CreatedAt: now})
			events = append(events, f)
		}
	}
	if len(sections) > 0 || len(events) > 0 {
		if err := s.mail.Enqueue(ctx, s.digestMail(u.Email, sections, events)); err != nil {
			// Nothing committed: the next pass tries again.
			return errors.Join(append(errs, fmt.Errorf("alerts: queue digest for %s: %w", u.ID, err))...)
		}
		rep.Mails++
	}
	if len(d.Searches) == 0 && len(d.Follows) == 0 {
		return errors.Join(errs...)
	}
	if err := s.st.Digest(ctx, d); err != nil {
		return errors.Join(append(errs, fmt.Errorf("alerts: commit digest for %s: %w", u.ID, err))...)
	}
	rep.Notifications += len(d.Notifications)
	return errors.Join(errs...)
}

// match returns the records new, or with a new version, in ss's window
// that u may see now and that ss's text and filters match. Records u
// changed are left out: u knows of them.
func (s *Service) match(ctx context.Context, u *account.User, subj access.Subject, ss SavedSearch, now time.Time) ([]Change, error) {
	changes, err := s.st.Changes(ctx, ss.LastDigestAt, now)
	if err != nil {
		return nil, fmt.Errorf("alerts: changes for %s: %w", ss.ID, err)
	}
	var cand []Change
	for _, c := range changes {
		if c.By != u.ID && visibleNow(subj, c.Record) {
			cand = append(cand, c)
		}
	}
	found := map[string]bool{}
	for chunk := range slices.Chunk(cand, maxSearchHitsIDs) {
		ids := make([]string, len(chunk))
		for i, c := range chunk {
			ids[i] = c.ID
		}
		res, err := s.search.Member(ctx, subj, ss.Query.memberQuery(ids))
		if err != nil {
			return nil, fmt.Errorf("alerts: match %s: %w", ss.ID, err)
		}
		for _, h := range res.Hits {
			if h.Kind == "research" {
				found[h.ID] = true
			}
		}
	}
	var out []Change
	for _, c := range cand {
		if found[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}

// mailable reports whether a record's title may leave the portal by mail:
// only TLP:CLEAR and TLP:GREEN may be shared beyond the recipient's
// organisation's walls that mail crosses.
func mailable(t access.TLP) bool { return t == access.Clear || t == access.Green }

// unmailable names the labels mailable refuses, from access.Labels:
// "TLP:AMBER, TLP:AMBER+STRICT or TLP:RED".
func unmailable() string {
	var l []string
	for _, t := range access.Labels() {
		if !mailable(t) {
			l = append(l, string(t))
		}
	}
	if len(l) < 2 {
		return strings.Join(l, "")
	}
	return strings.Join(l[:len(l)-1], ", ") + " or " + l[len(l)-1]
}

// digestMail writes the digest to to. Titles and links only for records
// that mailable allows; the others are counted per search.
func (s *Service) digestMail(to string, sections []section, events []FollowState) mail.Message {
	base := s.opts.PublicURL
	inbox := base + "/en/account/notifications/"
	var b strings.Builder
	b.WriteString("New research in the members' portal of INTERPOL's Specialist Group on Crimes Against Children.\n")
	for _, sec := range sections {
		fmt.Fprintf(&b, "\nSaved search %q: %d new or updated %s\n", sec.search.Name, len(sec.matched), plural(len(sec.matched), "record"))
		restricted := 0
		for _, c := range sec.matched {
			if !mailable(c.Object.TLP) {
				restricted++
				continue
			}
			fmt.Fprintf(&b, "- %s (%s)\n  %s/en/research/document/?id=%s\n", c.Title, c.Object.TLP, base, c.ID)
		}
		if restricted > 0 {
			fmt.Fprintf(&b, "- %d %s labelled %s, not named by mail. Sign in to see %s:\n  %s\n",
				restricted, plural(restricted, "record"), unmailable(), pronoun(restricted), inbox)
		}
		fmt.Fprintf(&b, "  To stop the alerts of this search (no sign-in needed):\n  %s/en/account/unsubscribe/#token=%s\n",
			base, s.UnsubscribeToken(sec.search.ID))
	}
	if len(events) > 0 {
		b.WriteString("\nRecords you follow:\n")
		for _, f := range events {
			what := fmt.Sprintf("has a new version (%d)", f.NewVersion)
			if f.Record.Withdrawn {
				what = "was withdrawn"
			}
			if mailable(f.Record.Object.TLP) {
				fmt.Fprintf(&b, "- %s (%s) %s\n  %s/en/research/document/?id=%s\n", f.Record.Title, f.Record.Object.TLP, what, base, f.Record.ID)
			} else {
				fmt.Fprintf(&b, "- A record you follow, labelled %s, %s. Sign in to see it:\n  %s\n", f.Record.Object.TLP, what, inbox)
			}
			fmt.Fprintf(&b, "  To stop following this record (no sign-in needed):\n  %s/en/account/unsubscribe/#token=%s\n",
				base, s.UnfollowToken(f.ID))
		}
	}
	b.WriteString("\nYour saved searches, alerts and followed records are on your notifications page:\n" + inbox + "\n")
	subject := "New research in your saved searches"
	if len(sections) == 0 {
		subject = "Records you follow have changed"
	}
	return mail.Message{To: to, Subject: subject, Text: b.String()}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
