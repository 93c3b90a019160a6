package groups_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/groups"
	"portal/store/storetest"
)

func names(s string) map[string]string {
	return map[string]string{"en": s, "fr": s + " (fr)", "es": s + " (es)", "ar": s + " (ar)"}
}

// The migration's groups are there with their names; admins alone create
// and change groups; only existing, active groups are granted, except
// those already held; names fall back to the source language.
func TestGroupsAsRecords(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	svc, err := groups.New(db.Groups(), audit.New(db, time.Now), nil)
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := svc.ByID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, fr := range map[string]string{"members": "Tous les membres", "victim-identification": "Identification des victimes",
		"access-blocking": "Blocage d'accès", "trainers": "Formateurs"} {
		if g, ok := seeded[id]; !ok || g.Name("fr") != fr || g.Archived {
			t.Errorf("seeded group %s: %+v", id, g)
		}
	}
	admin := &account.User{ID: "admin", Email: "admin@example.org", Role: account.RoleAdmin}
	member := &account.User{ID: "member", Email: "member@example.org", Role: account.RoleMember}
	c := account.Client{}
	if _, err := svc.Create(ctx, member, groups.Input{ID: "desk", Names: names("Desk")}, c); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("a member creates a group: %v", err)
	}
	for _, in := range []groups.Input{
		{ID: "Desk", Names: names("Desk")},
		{ID: "public", Names: names("Public")},
		{ID: "desk", Names: map[string]string{"en": "Desk"}},
		{ID: "desk", Names: names("Desk"), Descriptions: map[string]string{"de": "x"}},
		{ID: "desk", Names: names("Desk"), Leads: &[]string{"no-such-member"}},
	} {
		if _, err := svc.Create(ctx, admin, in, c); !errors.Is(err, account.ErrInvalidInput) {
			t.Errorf("create %+v: %v, want ErrInvalidInput", in, err)
		}
	}
	g, err := svc.Create(ctx, admin, groups.Input{ID: "desk", Names: names("Desk")}, c)
	if err != nil || g.Name("de") != "Desk" || g.Name("ar") != "Desk (ar)" {
		t.Fatalf("create: %+v %v", g, err)
	}
	if _, err := svc.Create(ctx, admin, groups.Input{ID: "desk", Names: names("Desk")}, c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("the same id twice: %v", err)
	}
	if err := svc.Grantable(ctx, []string{"desk", "members"}, nil); err != nil {
		t.Errorf("grant an active group: %v", err)
	}
	archived := true
	if _, err := svc.Update(ctx, admin, "desk", groups.Input{Archived: &archived}, c); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, admin, "members", groups.Input{Archived: &archived}, c); !errors.Is(err, account.ErrConflict) {
		t.Errorf("archive the members group: %v", err)
	}
	for _, gs := range [][]string{{"desk"}, {"nowhere"}} {
		if err := svc.Grantable(ctx, gs, nil); !errors.Is(err, account.ErrInvalidInput) {
			t.Errorf("grant %v: %v, want ErrInvalidInput", gs, err)
		}
	}
	if err := svc.Grantable(ctx, []string{"desk"}, []string{"desk"}); err != nil {
		t.Errorf("keep an archived group already held: %v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
