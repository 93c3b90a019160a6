package attest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"portal/account"
	"portal/attest"
	"portal/audit"
	"portal/groups"
	"portal/store"
	"portal/store/storetest"
)

type env struct {
	t        *testing.T
	db       *store.DB
	accounts *account.Service
	groups   *groups.Service
	svc      *attest.Service
	now      time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := storetest.Open(t)
	e := &env{t: t, db: db, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now }
	log := audit.New(db, clock)
	var err error
	if e.accounts, err = account.New(db, log, account.Options{Now: clock, SecretKey: make([]byte, 32), Argon2: account.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}); err != nil {
		t.Fatal(err)
	}
	if e.groups, err = groups.New(db.Groups(), log, clock); err != nil {
		t.Fatal(err)
	}
	if e.svc, err = attest.New(db.Attestations(), e.groups, log, attest.Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) seed(email string, role account.Role, groups ...string) *account.User {
	e.t.Helper()
	u, _, err := e.accounts.SeedUser(context.Background(), email, "Synthetic "+email, role, groups, "quiet-harbour-lantern-9127")
	if err != nil {
		e.t.Fatal(err)
	}
	return &u
}

func (e *env) run(at time.Time) attest.Summary {
	e.t.Helper()
	sum, err := e.svc.Run(context.Background(), at)
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

func (e *env) record(id string) attest.Record {
	e.t.Helper()
	r, err := e.db.Attestations().AttestationRecord(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// The schedule of one period: a reminder 30 days before, one 7 days
// before, suspension at the due date; each once, whatever the number of
// passes.
func TestRunRemindsTwiceThenSuspends(t *testing.T) {
	e := newEnv(t)
	m := e.seed("member@example.org", account.RoleMember)
	day := 24 * time.Hour
	due := e.now.Add(attest.DefaultPeriod)
	for _, step := range []struct {
		at               time.Time
		reminded, suspnd int
		status           attest.Status
	}{
		{due.Add(-31 * day), 0, 0, attest.Current},
		{due.Add(-30 * day), 1, 0, attest.Due},
		{due.Add(-20 * day), 0, 0, attest.Due},
		{due.Add(-7 * day), 1, 0, attest.Due},
		{due.Add(-time.Second), 0, 0, attest.Due},
		{due, 0, 1, attest.Suspended},
		{due.Add(day), 0, 0, attest.Suspended},
	} {
		sum := e.run(step.at)
		if sum.Reminded != step.reminded || sum.Suspended != step.suspnd {
			t.Errorf("pass at due%+v: %+v, want %d reminded, %d suspended", step.at.Sub(due), sum, step.reminded, step.suspnd)
		}
		if got := e.svc.StatusAt(e.record(m.ID), step.at); got != step.status {
			t.Errorf("status at due%+v: %s, want %s", step.at.Sub(due), got, step.status)
		}
	}
}

// A member whose period ended before re-attestation existed is reminded
// first and suspended a week after the reminder, not on the first pass.
func TestLongLapsedMemberIsRemindedFirst(t *testing.T) {
	e := newEnv(t)
	m := e.seed("old@example.org", account.RoleMember)
	later := e.now.Add(3 * attest.DefaultPeriod)
	if sum := e.run(later); sum.Reminded != 1 || sum.Suspended != 0 {
		t.Fatalf("first pass long after the due date: %+v, want one reminder", sum)
	}
	if sum := e.run(later.Add(6 * 24 * time.Hour)); sum != (attest.Summary{}) {
		t.Errorf("six days later: %+v, want nothing", sum)
	}
	if sum := e.run(later.Add(7 * 24 * time.Hour)); sum.Suspended != 1 {
		t.Errorf("a week later: %+v, want the suspension", sum)
	}
	if e.record(m.ID).SuspendedAt.IsZero() {
		t.Error("not suspended")
	}
}

// Who may confirm and extend: the sponsor, a lead of one of the member's
// groups, an admin; not the member, not a stranger. Confirming needs the
// member's statement that they still serve (unless suspended); an
// extension is granted once a period.
func TestConfirmAndExtendRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.seed("admin@example.org", account.RoleAdmin)
	lead := e.seed("lead@example.org", account.RoleMember)
	stranger := e.seed("stranger@example.org", account.RoleMember)
	m := e.seed("member@example.org", account.RoleMember, "victim-identification")
	leads := []string{lead.ID}
	if _, err := e.groups.Update(ctx, admin, "victim-identification", groups.Input{Leads: &leads}, account.Client{}); err != nil {
		t.Fatal(err)
	}
	c := account.Client{}
	for _, who := range []*account.User{m, stranger} {
		if _, err := e.svc.Extend(ctx, who, m.ID, "synthetic reason", c); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("%s extends: %v, want ErrForbidden", who.Email, err)
		}
	}
	if _, err := e.svc.Confirm(ctx, lead, m.ID, c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("confirm without a statement: %v, want ErrConflict", err)
	}
	if _, err := e.svc.Attest(ctx, m, attest.Claim{Serving: false, Organisation: "Synthetic Ministry", Role: "Adviser", Country: "FR"}, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Confirm(ctx, lead, m.ID, c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("confirm a member who no longer serves: %v, want ErrConflict", err)
	}
	if _, err := e.svc.Attest(ctx, m, attest.Claim{Serving: true, Organisation: "Synthetic Police", Role: "Analyst", Country: "FR"}, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Confirm(ctx, m, m.ID, c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("the member confirms themselves: %v, want ErrForbidden", err)
	}
	e.now = e.now.Add(100 * 24 * time.Hour)
	v, err := e.svc.Confirm(ctx, lead, m.ID, c)
	if err != nil || !v.DueAt.Equal(e.now.Add(attest.DefaultPeriod)) || v.Claim != nil {
		t.Fatalf("the lead confirms: %+v %v", v, err)
	}
	v, err = e.svc.Extend(ctx, admin, m.ID, "synthetic secondment", c)
	if err != nil || !v.DueAt.Equal(e.now.Add(attest.DefaultPeriod+attest.Extension)) {
		t.Fatalf("the admin extends: %+v %v", v, err)
	}
	if _, err := e.svc.Extend(ctx, lead, m.ID, "again", c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("a second extension: %v, want ErrConflict", err)
	}
	list, err := e.svc.List(ctx, lead)
	if err != nil || len(list) != 1 || list[0].UserID != m.ID {
		t.Errorf("the lead's list: %+v %v, want the member alone", list, err)
	}
	if list, err := e.svc.List(ctx, stranger); err != nil || len(list) != 0 {
		t.Errorf("a stranger's list: %+v %v, want none", list, err)
	}
}

// A pass acts only on the state it read: a member confirmed after the pass
// read them is not suspended on that stale reading.
func TestRunDoesNotActOnStaleState(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.seed("admin@example.org", account.RoleAdmin)
	m := e.seed("member@example.org", account.RoleMember)
	due := e.now.Add(attest.DefaultPeriod)
	e.run(due.Add(-7 * 24 * time.Hour))
	read := e.record(m.ID) // what a pass at the due date would have read
	e.now = due.Add(-time.Hour)
	if _, err := e.svc.Confirm(ctx, admin, m.ID, account.Client{}); !errors.Is(err, account.ErrConflict) {
		t.Fatalf("confirm without a statement: %v", err)
	}
	if _, err := e.svc.Extend(ctx, admin, m.ID, "synthetic leave", account.Client{}); err != nil {
		t.Fatal(err)
	}
	next := read
	next.SuspendedAt = due
	written, _, err := e.db.Attestations().SwapAttestation(ctx, &read, &next)
	if err != nil || written {
		t.Errorf("suspension on a stale reading: written=%t %v", written, err)
	}
	e.run(due)
	if r := e.record(m.ID); !r.SuspendedAt.IsZero() || r.Reminded != 1 {
		t.Errorf("after a pass at the old due date, past the extension: %+v, want reminded once anew, not suspended", r)
	}
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
