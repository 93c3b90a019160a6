// Package groups holds the access groups as records: the one list of the
// groups that exist (the store's portal_groups table, seeded by migration
// 0017 with the groups in use before it), their names and descriptions in
// the portal's languages, their leads, and whether they are archived.
//
// A group's ID is the name that members, invitations, research records and
// training modules carry (access.GroupPattern), so access.CanSee is
// untouched: it still compares names. What this package adds is who may
// grant a group (only existing, active groups are granted: Grantable), how
// a group is shown to a reader (Name, in the reader's language), and who
// leads it. Leads add and remove the members of their own group through
// account.Service.SetGroupMember, which checks the lead in the same
// transaction as the change; being a lead gives no other power.
package groups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/language"
)

// Audit actions of this package.
const (
	ActionCreate = "group.create"
	ActionUpdate = "group.update"
)

// Limits on the texts of a group.
const (
	MaxNameBytes        = 120
	MaxDescriptionBytes = 1000
	MaxLeads            = 20
)

// Group is an access group as a record.
type Group struct {
	ID           string
	Names        map[string]string // by language; every one of language.All
	Descriptions map[string]string // by language; may be empty
	Leads        []string          // user IDs, sorted
	Archived     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Name is the group's name in lang, or in the source language when lang
// is not one of the portal's.
func (g Group) Name(lang string) string {
	if n := g.Names[lang]; n != "" {
		return n
	}
	return g.Names[language.All()[0]]
}

// Description is the group's description in lang (see Name).
func (g Group) Description(lang string) string {
	if !language.Valid(lang) {
		lang = language.All()[0]
	}
	return g.Descriptions[lang]
}

// IsLead reports whether user id leads g.
func (g Group) IsLead(id string) bool { return slices.Contains(g.Leads, id) }

// Store keeps the groups. Lookups return account.ErrNotFound for a missing
// group; InsertGroup returns account.ErrConflict for an existing ID.
type Store interface {
	ListGroups(ctx context.Context) ([]Group, error) // by ID, leads included
	InsertGroup(ctx context.Context, g *Group) error
	// UpdateGroup reads group id, lets change change it, and writes every
	// field but ID and CreatedAt, leads included, in one transaction; an
	// error from change is returned as it is and nothing is written.
	UpdateGroup(ctx context.Context, id string, change func(*Group) error) (Group, error)
}

// Service is the groups domain logic.
type Service struct {
	st    Store
	audit *audit.Log
	now   func() time.Time
}

// New returns a Service over st recording to log; now may be nil for
// time.Now.
func New(st Store, log *audit.Log, now func() time.Time) (*Service, error) {
	if st == nil || log == nil {
		return nil, errors.New("groups: store and audit log are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, audit: log, now: func() time.Time { return now().UTC().Round(0) }}, nil
}

// List returns every group, archived ones included, by ID.
func (s *Service) List(ctx context.Context) ([]Group, error) {
	gs, err := s.st.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("groups: list: %w", err)
	}
	return gs, nil
}

// Get returns group id.
func (s *Service) Get(ctx context.Context, id string) (Group, error) {
	gs, err := s.List(ctx)
	if err != nil {
		return Group{}, err
	}
	i := slices.IndexFunc(gs, func(g Group) bool { return g.ID == id })
	if i < 0 {
		return Group{}, account.ErrNotFound
	}
	return gs[i], nil
}

// ByID returns every group keyed by ID, for showing names.
func (s *Service) ByID(ctx context.Context) (map[string]Group, error) {
	gs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Group, len(gs))
	for _, g := range gs {
		m[g.ID] = g
	}
	return m, nil
}

// Led returns the IDs of the groups user id leads, archived ones too.
func (s *Service) Led(ctx context.Context, id string) ([]string, error) {
	gs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gs {
		if g.IsLead(id) {
			out = append(out, g.ID)
		}
	}
	return out, nil
}

// Grantable checks that every name is an existing, active group: what an
// invitation, a change of a member's groups, an upload or an edit may
// grant. Names already granted (prev) pass even when archived since: an
// archived group stays on what carries it, it is only not granted anew.
func (s *Service) Grantable(ctx context.Context, names, prev []string) error {
	m, err := s.ByID(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if slices.Contains(prev, n) {
			continue
		}
		g, ok := m[n]
		switch {
		case !ok:
			return &account.InputError{Field: "groups", Reason: fmt.Sprintf("there is no group %q", n)}
		case g.Archived:
			return &account.InputError{Field: "groups", Reason: fmt.Sprintf("group %q is archived", n)}
		}
	}
	return nil
}

// Input is what an admin gives to create or change a group; nil fields
// of a change are left alone.
type Input struct {
	ID           string
	Names        map[string]string
	Descriptions map[string]string
	Leads        *[]string
	Archived     *bool
}

func requireAdmin(u *account.User) error {
	if u == nil || u.Role != account.RoleAdmin || u.Disabled {
		return account.ErrForbidden
	}
	return nil
}

// Create adds a group. Only admins create groups.
func (s *Service) Create(ctx context.Context, actor *account.User, in Input, c account.Client) (Group, error) {
	if err := requireAdmin(actor); err != nil {
		s.denied(ctx, actor, ActionCreate, in.ID, c)
		return Group{}, err
	}
	if !access.ValidGroup(in.ID) || in.ID == access.Public {
		return Group{}, &account.InputError{Field: "id", Reason: "must be " + access.GroupRule + `, and not "public"`}
	}
	now := s.now()
	g := Group{ID: in.ID, CreatedAt: now, UpdatedAt: now}
	if err := apply(&g, in, true); err != nil {
		return Group{}, err
	}
	if err := s.st.InsertGroup(ctx, &g); err != nil {
		if errors.Is(err, account.ErrConflict) {
			return Group{}, fmt.Errorf("%w: a group with this id exists", account.ErrConflict)
		}
		return Group{}, fmt.Errorf("groups: create: %w", err)
	}
	if err := s.record(ctx, actor, ActionCreate, g.ID, describe(g), c); err != nil {
		return Group{}, err
	}
	return g, nil
}

// Update changes a group's names, descriptions, leads or archived flag.
// Only admins change groups. The members group cannot be archived: every
// member is in it.
func (s *Service) Update(ctx context.Context, actor *account.User, id string, in Input, c account.Client) (Group, error) {
	if err := requireAdmin(actor); err != nil {
		s.denied(ctx, actor, ActionUpdate, id, c)
		return Group{}, err
	}
	if in.Archived != nil && *in.Archived && id == access.Members {
		return Group{}, fmt.Errorf("%w: the members group cannot be archived", account.ErrConflict)
	}
	g, err := s.st.UpdateGroup(ctx, id, func(g *Group) error {
		if err := apply(g, in, false); err != nil {
			return err
		}
		g.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, account.ErrNotFound) || errors.Is(err, account.ErrInvalidInput) {
		return Group{}, err
	}
	if err != nil {
		return Group{}, fmt.Errorf("groups: update: %w", err)
	}
	if err := s.record(ctx, actor, ActionUpdate, g.ID, describe(g), c); err != nil {
		return Group{}, err
	}
	return g, nil
}

// apply validates in and writes it to g; creating, every name is needed.
func apply(g *Group, in Input, creating bool) error {
	if in.Names != nil || creating {
		names := map[string]string{}
		for _, lang := range language.All() {
			n := strings.TrimSpace(in.Names[lang])
			if n == "" || len(n) > MaxNameBytes || !utf8.ValidString(n) {
				return &account.InputError{Field: "names." + lang, Reason: fmt.Sprintf("a name of 1 to %d bytes is needed in every language", MaxNameBytes)}
			}
			names[lang] = n
		}
		if err := onlyLanguages("names", in.Names); err != nil {
			return err
		}
		g.Names = names
	}
	if in.Descriptions != nil || creating {
		ds := map[string]string{}
		for _, lang := range language.All() {
			d := strings.TrimSpace(in.Descriptions[lang])
			if len(d) > MaxDescriptionBytes || !utf8.ValidString(d) {
				return &account.InputError{Field: "descriptions." + lang, Reason: fmt.Sprintf("at most %d bytes", MaxDescriptionBytes)}
			}
			ds[lang] = d
		}
		if err := onlyLanguages("descriptions", in.Descriptions); err != nil {
			return err
		}
		g.Descriptions = ds
	}
	if in.Leads != nil {
		leads := slices.Clone(*in.Leads)
		slices.Sort(leads)
		leads = slices.Compact(leads)
		if len(leads) > MaxLeads || slices.Contains(leads, "") {
			return &account.InputError{Field: "leads", Reason: fmt.Sprintf("at most %d member IDs", MaxLeads)}
		}
		g.Leads = leads
	}
	if in.Archived != nil {
		g.Archived = *in.Archived
	}
	return nil
}

func onlyLanguages(field string, m map[string]string) error {
	for k := range m {
		if !language.Valid(k) {
			return &account.InputError{Field: field, Reason: fmt.Sprintf("%q is not one of the portal's languages", k)}
		}
	}
	return nil
}

func describe(g Group) string {
	return fmt.Sprintf("name %q; leads %s; archived %t", g.Names[language.All()[0]], strings.Join(g.Leads, ","), g.Archived)
}

func (s *Service) record(ctx context.Context, actor *account.User, action, target, detail string, c account.Client) error {
	err := s.audit.Record(ctx, audit.Entry{Actor: actor.ID, ActorEmail: actor.Email, Action: action, Target: target,
		IP: c.IP, Outcome: audit.OutcomeSuccess, Detail: detail})
	if err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	return nil
}

func (s *Service) denied(ctx context.Context, actor *account.User, action, target string, c account.Client) {
	e := audit.Entry{Action: audit.ActionAccessDenied, Target: target, IP: c.IP, Outcome: audit.OutcomeDenied, Detail: "admin action " + action}
	if actor != nil {
		e.Actor, e.ActorEmail = actor.ID, actor.Email
	}
	_ = s.audit.Record(ctx, e) // the refusal stands whether or not it is written
}
