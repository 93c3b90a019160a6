// Package reach answers "who can see what": for a record, the members who
// can read it; for a member, what they can read, counted by group and TLP
// label; for a group, its members, its records and their labels. Every
// answer is access.CanSee applied to each pair of member and record: there
// is no second rule here to drift from it (reach_test.go checks each report
// against CanSee over every pair of random members and records).
//
// Who may ask: for a record, its uploader, the leads of its groups and
// admins; for a member, admins and the leads of the member's groups; for a
// group, its leads and admins. Reports name records by ID, label and
// groups, and by title only to a viewer who can read the record: asking
// who can see something never opens it (package access). Each report is
// audited.
package reach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/groups"
)

// Audit actions of this package.
const (
	ActionRecord = "report.record"
	ActionMember = "report.member"
	ActionGroup  = "report.group"
)

// Member is a member as the reports see them.
type Member struct {
	ID, DisplayName, Email string
	Groups                 []string
	// Subject is what CanSee judges: account.User.Subject, and nothing for
	// a suspended member, who cannot sign in.
	Subject access.Subject
}

// Record is a research record as the reports see it.
type Record struct {
	ID, Title, UploaderID string
	Object                access.Object
}

// Readers lists the members who can read one record.
func Readers(r Record, members []Member) []Member {
	var out []Member
	for _, m := range members {
		if access.CanSee(m.Subject, r.Object) {
			out = append(out, m)
		}
	}
	sortMembers(out)
	return out
}

// Readable lists the records m can read.
func Readable(m Member, records []Record) []Record {
	var out []Record
	for _, r := range records {
		if access.CanSee(m.Subject, r.Object) {
			out = append(out, r)
		}
	}
	return out
}

// Count is how many records carry a group and a label.
type Count struct {
	Group string
	TLP   access.TLP
	N     int
}

// Counts counts records by each of their groups and their label, by group
// then label from least to most restricted. A record in two groups counts
// in both.
func Counts(records []Record) []Count {
	m := map[string]map[access.TLP]int{}
	for _, r := range records {
		for _, g := range r.Object.Groups {
			if m[g] == nil {
				m[g] = map[access.TLP]int{}
			}
			m[g][r.Object.TLP]++
		}
	}
	var out []Count
	for _, g := range sortedKeys(m) {
		for _, t := range access.Labels() {
			if n := m[g][t]; n > 0 {
				out = append(out, Count{Group: g, TLP: t, N: n})
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.DisplayName, b.DisplayName), cmp.Compare(a.ID, b.ID))
	})
}

// GroupRecord is a record of a group with how many of the group's members
// can read it.
type GroupRecord struct {
	Record
	Readers int // members of the group who can read it
}

// InGroup returns the members of group g and its records, each with how
// many of those members can read it.
func InGroup(g string, members []Member, records []Record) ([]Member, []GroupRecord) {
	var ms []Member
	for _, m := range members {
		if slices.Contains(m.Groups, g) {
			ms = append(ms, m)
		}
	}
	sortMembers(ms)
	var rs []GroupRecord
	for _, r := range records {
		if slices.Contains(r.Object.Groups, g) {
			rs = append(rs, GroupRecord{Record: r, Readers: len(Readers(r, ms))})
		}
	}
	return ms, rs
}

// Store is what the reports read: every member and every record that is
// not withdrawn.
type Store interface {
	ReachMembers(ctx context.Context) ([]Member, error)
	ReachRecords(ctx context.Context) ([]Record, error)
}

// Service runs the reports for a viewer.
type Service struct {
	st     Store
	groups *groups.Service
	audit  *audit.Log
}

// New returns a Service.
func New(st Store, gs *groups.Service, log *audit.Log) (*Service, error) {
	if st == nil || gs == nil || log == nil {
		return nil, errors.New("reach: store, groups and audit log are required")
	}
	return &Service{st: st, groups: gs, audit: log}, nil
}

// Shown is a record as a report shows it to its viewer: the title only
// when the viewer can read the record.
type Shown struct {
	ID, Title string
	TLP       access.TLP
	Groups    []string
	Readers   int // in a group report: the group's members who can read it
}

func show(viewer *account.User, r Record) Shown {
	s := Shown{ID: r.ID, TLP: r.Object.TLP, Groups: r.Object.Groups}
	if access.CanSee(viewer.Subject(), r.Object) {
		s.Title = r.Title
	}
	return s
}

// RecordReport is who can read a record.
type RecordReport struct {
	Record  Shown
	Readers []Member
	// ByGroup lists, for each of the record's groups, its readers in that
	// group (IDs, in the order of Readers).
	ByGroup map[string][]string
}

// MemberReport is what a member can read.
type MemberReport struct {
	Member  Member
	Counts  []Count
	Records []Shown
}

// GroupReport is a group's members, records and labels.
type GroupReport struct {
	Group   groups.Group
	Members []Member
	Records []Shown
	Labels  []Count // the group's records by label (Group is the group)
}

func (s *Service) load(ctx context.Context) ([]Member, []Record, error) {
	ms, err := s.st.ReachMembers(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reach: members: %w", err)
	}
	rs, err := s.st.ReachRecords(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reach: records: %w", err)
	}
	return ms, rs, nil
}

func isAdmin(u *account.User) bool { return u != nil && !u.Disabled && u.Role == account.RoleAdmin }

func (s *Service) leads(ctx context.Context, viewer *account.User, gs []string) (bool, error) {
	led, err := s.groups.Led(ctx, viewer.ID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(gs, func(g string) bool { return slices.Contains(led, g) }), nil
}

// ForRecord reports who can read record id.
func (s *Service) ForRecord(ctx context.Context, viewer *account.User, id string, c account.Client) (RecordReport, error) {
	ms, rs, err := s.load(ctx)
	if err != nil {
		return RecordReport{}, err
	}
	i := slices.IndexFunc(rs, func(r Record) bool { return r.ID == id })
	if i < 0 {
		return RecordReport{}, account.ErrNotFound
	}
	r := rs[i]
	ok := isAdmin(viewer) || viewer.ID == r.UploaderID
	if !ok {
		if ok, err = s.leads(ctx, viewer, r.Object.Groups); err != nil {
			return RecordReport{}, err
		}
	}
	if !ok {
		// Whether the record exists is itself not for everyone.
		s.denied(ctx, viewer, ActionRecord, id, c)
		return RecordReport{}, account.ErrNotFound
	}
	readers := Readers(r, ms)
	rep := RecordReport{Record: show(viewer, r), Readers: readers, ByGroup: map[string][]string{}}
	for _, g := range r.Object.Groups {
		ids := []string{}
		for _, m := range readers {
			if slices.Contains(m.Groups, g) {
				ids = append(ids, m.ID)
			}
		}
		rep.ByGroup[g] = ids
	}
	return rep, s.record(ctx, viewer, ActionRecord, id, fmt.Sprintf("%d readers", len(readers)), c)
}

// ForMember reports what member id can read.
func (s *Service) ForMember(ctx context.Context, viewer *account.User, id string, c account.Client) (MemberReport, error) {
	ms, rs, err := s.load(ctx)
	if err != nil {
		return MemberReport{}, err
	}
	i := slices.IndexFunc(ms, func(m Member) bool { return m.ID == id })
	if i < 0 {
		return MemberReport{}, account.ErrNotFound
	}
	m := ms[i]
	ok := isAdmin(viewer)
	if !ok {
		if ok, err = s.leads(ctx, viewer, m.Groups); err != nil {
			return MemberReport{}, err
		}
	}
	if !ok {
		s.denied(ctx, viewer, ActionMember, id, c)
		return MemberReport{}, account.ErrForbidden
	}
	readable := Readable(m, rs)
	rep := MemberReport{Member: m, Counts: Counts(readable)}
	for _, r := range readable {
		rep.Records = append(rep.Records, show(viewer, r))
	}
	return rep, s.record(ctx, viewer, ActionMember, id, fmt.Sprintf("%d records", len(readable)), c)
}

// ForGroup reports group id's members, records and labels.
func (s *Service) ForGroup(ctx context.Context, viewer *account.User, id string, c account.Client) (GroupReport, error) {
	g, err := s.groups.Get(ctx, id)
	if err != nil {
		return GroupReport{}, err
	}
	if !isAdmin(viewer) && !g.IsLead(viewer.ID) {
		s.denied(ctx, viewer, ActionGroup, id, c)
		return GroupReport{}, account.ErrForbidden
	}
	ms, rs, err := s.load(ctx)
	if err != nil {
		return GroupReport{}, err
	}
	members, records := InGroup(id, ms, rs)
	rep := GroupReport{Group: g, Members: members}
	var plain []Record
	for _, r := range records {
		sh := show(viewer, r.Record)
		sh.Readers = r.Readers
		rep.Records = append(rep.Records, sh)
		plain = append(plain, Record{ID: r.ID, Object: access.Object{Groups: []string{id}, TLP: r.Object.TLP}})
	}
	rep.Labels = Counts(plain)
	return rep, s.record(ctx, viewer, ActionGroup, id, fmt.Sprintf("%d members, %d records", len(members), len(records)), c)
}

func (s *Service) record(ctx context.Context, viewer *account.User, action, target, detail string, c account.Client) error {
	if err := s.audit.Record(ctx, audit.Entry{Actor: viewer.ID, ActorEmail: viewer.Email, Action: action, Target: target,
		IP: c.IP, Outcome: audit.OutcomeSuccess, Detail: detail}); err != nil {
		return fmt.Errorf("reach: %w", err)
	}
	return nil
}

func (s *Service) denied(ctx context.Context, viewer *account.User, action, target string, c account.Client) {
	_ = s.audit.Record(ctx, audit.Entry{Actor: viewer.ID, ActorEmail: viewer.Email, Action: audit.ActionAccessDenied,
		Target: target, IP: c.IP, Outcome: audit.OutcomeDenied, Detail: action}) // the refusal stands either way
}
