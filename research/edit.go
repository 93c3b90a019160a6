package research

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
)

// Patch changes some of a record's metadata: nil fields stay as they are.
type Patch struct {
	Title        *string
	Authors      *[]string
	Organisation *string
	Abstract     *string
	Year         *int
	Language     *string
	Type         *Type
	Topics       *[]string
	Countries    *[]string
	Regions      *[]string
	AccessGroups *[]string
	TLP          *access.TLP
}

// apply returns m with p's fields set.
func (p Patch) apply(m Metadata) Metadata {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setList := func(dst *[]string, src *[]string) {
		if src != nil {
			*dst = slices.Clone(*src)
		}
	}
	set(&m.Title, p.Title)
	setList(&m.Authors, p.Authors)
	set(&m.Organisation, p.Organisation)
	set(&m.Abstract, p.Abstract)
	if p.Year != nil {
		m.Year = *p.Year
	}
	set(&m.Language, p.Language)
	if p.Type != nil {
		m.Type = *p.Type
	}
	setList(&m.Topics, p.Topics)
	setList(&m.Countries, p.Countries)
	setList(&m.Regions, p.Regions)
	setList(&m.AccessGroups, p.AccessGroups)
	if p.TLP != nil {
		m.TLP = *p.TLP
	}
	return m
}

// changes names the fields that differ between a and b, for the audit log.
// Access groups and TLP, which decide who sees the record, are given with
// their old and new values; free text is only named.
func changes(a, b Metadata) []string {
	var out []string
	name := func(field string, differ bool) {
		if differ {
			out = append(out, field)
		}
	}
	name("title", a.Title != b.Title)
	name("authors", !slices.Equal(a.Authors, b.Authors))
	name("organisation", a.Organisation != b.Organisation)
	name("abstract", a.Abstract != b.Abstract)
	if a.Year != b.Year {
		out = append(out, fmt.Sprintf("year %d→%d", a.Year, b.Year))
	}
	if a.Language != b.Language {
		out = append(out, fmt.Sprintf("language %s→%s", a.Language, b.Language))
	}
	if a.Type != b.Type {
		out = append(out, fmt.Sprintf("type %s→%s", a.Type, b.Type))
	}
	name("topics", !slices.Equal(a.Topics, b.Topics))
	name("countries", !slices.Equal(a.Countries, b.Countries))
	name("regions", !slices.Equal(a.Regions, b.Regions))
	if !slices.Equal(a.AccessGroups, b.AccessGroups) {
		out = append(out, fmt.Sprintf("access_groups %v→%v", a.AccessGroups, b.AccessGroups))
	}
	if a.TLP != b.TLP {
		out = append(out, fmt.Sprintf("tlp %s→%s", a.TLP, b.TLP))
	}
	return out
}

// Update changes a record's metadata. Only the uploader and admins may;
// others get ErrForbidden if they can see the record and ErrNotFound if
// not. The result is validated as a whole, a non-admin may add only groups
// they belong to, and the record is re-indexed, so that changes of access
// groups and TLP reach the index.
func (s *Service) Update(ctx context.Context, u *account.User, id string, patch Patch, c account.Client) (Document, error) {
	return s.change(ctx, u, id, ActionUpdate, c, func(d *Document) (string, error) {
		next, err := Normalize(patch.apply(d.Metadata), s.now())
		if err != nil {
			return "", err
		}
		if err := checkGrant(u, next.AccessGroups, d.AccessGroups); err != nil {
			return "", err
		}
		changed := changes(d.Metadata, next)
		if len(changed) == 0 {
			return "", nil
		}
		d.Metadata = next
		return "changed " + strings.Join(changed, "; "), nil
	})
}

// Withdraw takes a record out of the library: it disappears from search and
// from everyone but its uploader and admins. Nothing is deleted, and
// Restore undoes it. Withdrawing a withdrawn record changes nothing.
func (s *Service) Withdraw(ctx context.Context, u *account.User, id string, c account.Client) (Document, error) {
	return s.change(ctx, u, id, ActionWithdraw, c, func(d *Document) (string, error) {
		if d.Withdrawn {
			return "", nil
		}
		d.Withdrawn, d.WithdrawnBy, d.WithdrawnAt = true, u.ID, s.now()
		return "withdrawn", nil
	})
}

// Restore returns a withdrawn record to the library and to the index. A
// record withdrawn by an admin can only be restored by an admin.
func (s *Service) Restore(ctx context.Context, u *account.User, id string, c account.Client) (Document, error) {
	return s.change(ctx, u, id, ActionRestore, c, func(d *Document) (string, error) {
		if !d.Withdrawn {
			return "", nil
		}
		if !isAdmin(u) && d.WithdrawnBy != u.ID {
			return "", &ForbiddenError{Reason: "an administrator withdrew this record; only an administrator can restore it"}
		}
		d.Withdrawn, d.WithdrawnBy, d.WithdrawnAt = false, "", time.Time{}
		return "restored", nil
	})
}

// change runs edit on record id inside a write transaction, once u is
// known to be allowed to change it. edit returns the audit detail, or ""
// when it changed nothing. The change is audited and pushed to the index.
func (s *Service) change(ctx context.Context, u *account.User, id, action string, c account.Client,
	edit func(d *Document) (string, error)) (Document, error) {
	var (
		d      *Document
		detail string
	)
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		if d, err = s.changeable(ctx, tx, u, id); err != nil {
			return err
		}
		if detail, err = edit(d); err != nil || detail == "" {
			return err
		}
		d.touch(s.now())
		return tx.SaveDocument(ctx, d)
	})
	if err != nil {
		return Document{}, s.refused(ctx, u, action, id, err, c)
	}
	if detail == "" {
		return *d, nil
	}
	if action == ActionWithdraw {
		s.clearPreviews(ctx, d.ID)
	}
	if err := s.record(ctx, u, action, d.ID, audit.OutcomeSuccess, detail+asAdmin(u, d), c); err != nil {
		return *d, err
	}
	return s.pushAfterCommit(ctx, *d), nil
}

// changeable loads record id for a change by u: ErrNotFound if it is
// missing or u may not see it, a *ForbiddenError if u may see it but is
// neither its uploader nor an admin.
func (s *Service) changeable(ctx context.Context, tx Tx, u *account.User, id string) (*Document, error) {
	if u == nil || !validID(id) {
		return nil, ErrNotFound
	}
	d, err := tx.Document(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(u, d) {
		return nil, ErrNotFound
	}
	if !mayChange(u, d) {
		return nil, &ForbiddenError{Reason: "only the uploader or an administrator can change this record"}
	}
	return d, nil
}

// refused audits and returns the error of a failed change.
func (s *Service) refused(ctx context.Context, u *account.User, action, id string, err error, c account.Client) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return s.denied(ctx, u, action, id, ErrNotFound, c)
	case errors.Is(err, ErrForbidden):
		return s.denied(ctx, u, action, id, err, c)
	case errors.Is(err, ErrInvalid):
		s.Audit(ctx, u, action, id, audit.OutcomeFailure, err.Error(), c)
		return err
	}
	return fmt.Errorf("research: %s: %w", action, err)
}

// touch marks d changed at now: a new revision, whose index entry is yet
// to be written (or, for a withdrawn record, confirmed absent).
func (d *Document) touch(now time.Time) {
	d.UpdatedAt = now
	d.Revision++
	switch {
	case !d.Withdrawn:
		d.IndexState = IndexPending
	case d.IndexState != IndexDeleted:
		d.IndexState = IndexDeleting
	}
}

// asAdmin notes in the audit detail when an admin changed someone else's
// record.
func asAdmin(u *account.User, d *Document) string {
	if isAdmin(u) && u.ID != d.UploaderID {
		return "; by an administrator"
	}
	return ""
}
