package reach_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/groups"
	"portal/reach"
	"portal/store"
	"portal/store/storetest"
)

// world is a random membership and library, as the test generated it:
// the truth the reports are checked against through access.CanSee.
type world struct {
	members map[string]genMember
	records map[string]genRecord
	groups  []string
}

type genMember struct {
	groups              []string
	disabled, suspended bool
}

// subject is what the member may read by the rule: their groups, unless
// they cannot sign in.
func (m genMember) subject() access.Subject {
	if m.disabled || m.suspended {
		return access.Subject{}
	}
	return access.Subject{Groups: m.groups}
}

type genRecord struct {
	obj       access.Object
	withdrawn bool
}

// generate writes a random world into db: members in random groups (some
// disabled, some suspended), records with random groups and labels (some
// withdrawn), straight into the tables, as any history would leave them.
func generate(t *testing.T, db *store.DB, r *rand.Rand) world {
	t.Helper()
	ctx := t.Context()
	pool := []string{"members", "victim-identification", "access-blocking", "trainers", "g-a", "g-b"}
	w := world{members: map[string]genMember{}, records: map[string]genRecord{}, groups: pool}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(audit.TimeFormat)
	sub := func(min int) []string {
		var gs []string
		for _, g := range pool {
			if r.IntN(3) == 0 {
				gs = append(gs, g)
			}
		}
		for len(gs) < min {
			gs = append(gs, pool[r.IntN(len(pool))])
		}
		slices.Sort(gs)
		return slices.Compact(gs)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.ExecRaw(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, g := range pool {
		exec(`INSERT INTO portal_groups (id, name_en, name_fr, name_es, name_ar, description_en, description_fr,
			description_es, description_ar, archived, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '', '', '', '', 0, ?, ?)
			ON CONFLICT (id) DO NOTHING`, g, g, g, g, g, now, now)
	}
	nm := 5 + r.IntN(25)
	for i := range nm {
		id := fmt.Sprintf("%032x", i+1)
		m := genMember{groups: sub(0), disabled: r.IntN(8) == 0, suspended: r.IntN(8) == 0}
		gj, _ := json.Marshal(m.groups)
		exec(`INSERT INTO users (id, email, display_name, role, access_groups, disabled, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, 'member', ?, ?, '', ?, ?)`, id, fmt.Sprintf("m%d@test.invalid", i), fmt.Sprintf("Member %02d", i),
			string(gj), m.disabled, now, now)
		if m.suspended {
			exec(`INSERT INTO attestations (user_id, since, reminded, reminded_at, suspended_at) VALUES (?, ?, 2, ?, ?)`, id, now, now, now)
		}
		w.members[id] = m
	}
	nr := 1 + r.IntN(40)
	for i := range nr {
		id := fmt.Sprintf("%032x", 1<<20+i)
		gs := slices.DeleteFunc(sub(1), func(g string) bool { return g == "public" })
		rec := genRecord{obj: access.Object{Groups: gs, TLP: access.Labels()[r.IntN(len(access.Labels()))]}, withdrawn: r.IntN(10) == 0}
		gj, _ := json.Marshal(gs)
		uploader := fmt.Sprintf("%032x", r.IntN(nm)+1)
		withdrawnBy, withdrawnAt, state := any(nil), any(nil), "indexed"
		if rec.withdrawn {
			withdrawnBy, withdrawnAt, state = uploader, now, "deleted"
		}
		exec(`INSERT INTO research_documents (id, title, authors, organisation, abstract, year, language, type, topics,
			countries, regions, access_groups, tlp, uploader_id, created_at, updated_at, withdrawn, withdrawn_by, withdrawn_at,
			current_version, revision, index_state) VALUES (?, ?, '[]', 'Synthetic', 'Synthetic record.', 2020, 'en', 'study',
			'[]', '[]', '[]', ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)`,
			id, fmt.Sprintf("Synthetic record %d", i), string(gj), string(rec.obj.TLP), uploader, now, now,
			rec.withdrawn, withdrawnBy, withdrawnAt, state)
		w.records[id] = rec
	}
	return w
}

// TestReportsAgreeWithCanSee generates random members, groups and records
// in a real store and checks every report against access.CanSee over every
// pair of member and record: the record report lists exactly the members
// who can read it, the member report exactly the records, with counts that
// add up, and the group report its members and, for each of its records,
// how many of them can read it.
func TestReportsAgreeWithCanSee(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 14))
	for round := range 12 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			ctx := t.Context()
			db := storetest.Open(t)
			w := generate(t, db, r)
			log := audit.New(db, time.Now)
			gs, err := groups.New(db.Groups(), log, nil)
			if err != nil {
				t.Fatal(err)
			}
			svc, err := reach.New(db.Reach(), gs, log)
			if err != nil {
				t.Fatal(err)
			}
			admin := &account.User{ID: "admin", Email: "admin@test.invalid", Role: account.RoleAdmin}
			checkReports(ctx, t, svc, admin, w)
		})
	}
}

func checkReports(ctx context.Context, t *testing.T, svc *reach.Service, admin *account.User, w world) {
	t.Helper()
	c := account.Client{IP: "192.0.2.1"}
	readable := map[string][]string{} // member → records, from the member reports
	for id, rec := range w.records {
		rep, err := svc.ForRecord(ctx, admin, id, c)
		if rec.withdrawn {
			if err == nil {
				t.Errorf("record %s is withdrawn, yet reported", id)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, m := range rep.Readers {
			got = append(got, m.ID)
		}
		for mid, m := range w.members {
			if access.CanSee(m.subject(), rec.obj) {
				want = append(want, mid)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("record %s %v: readers %v, CanSee says %v", id, rec.obj, got, want)
		}
		for g, ids := range rep.ByGroup {
			for _, mid := range ids {
				if !slices.Contains(want, mid) || !slices.Contains(w.members[mid].groups, g) {
					t.Errorf("record %s: %s listed under group %s", id, mid, g)
				}
			}
		}
		if rep.Record.Title != "" {
			t.Errorf("an admin in no group was shown the title of %s", id)
		}
	}
	for mid, m := range w.members {
		rep, err := svc.ForMember(ctx, admin, mid, c)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		perGroup := map[string]int{}
		for id, rec := range w.records {
			if !rec.withdrawn && access.CanSee(m.subject(), rec.obj) {
				want = append(want, id)
				for _, g := range rec.obj.Groups {
					perGroup[g]++
				}
			}
		}
		var got []string
		for _, s := range rep.Records {
			got = append(got, s.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("member %s %+v: records %v, CanSee says %v", mid, m, got, want)
		}
		readable[mid] = got
		counted := map[string]int{}
		for _, n := range rep.Counts {
			counted[n.Group] += n.N
		}
		for g, n := range perGroup {
			if counted[g] != n {
				t.Errorf("member %s: group %s counts %d records, CanSee says %d", mid, g, counted[g], n)
			}
		}
		if len(counted) != len(perGroup) {
			t.Errorf("member %s: counts name groups %v, want %v", mid, counted, perGroup)
		}
	}
	for _, g := range w.groups {
		rep, err := svc.ForGroup(ctx, admin, g, c)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, m := range rep.Members {
			got = append(got, m.ID)
		}
		for mid, m := range w.members {
			if slices.Contains(m.groups, g) {
				want = append(want, mid)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("group %s: members %v, want %v", g, got, want)
		}
		for _, s := range rep.Records {
			n := 0
			for _, mid := range want {
				if slices.Contains(readable[mid], s.ID) {
					n++
				}
			}
			if n != s.Readers {
				t.Errorf("group %s, record %s: %d readers reported, CanSee says %d", g, s.ID, s.Readers, n)
			}
			if !slices.Contains(w.records[s.ID].obj.Groups, g) || w.records[s.ID].withdrawn {
				t.Errorf("group %s lists record %s of groups %v", g, s.ID, w.records[s.ID].obj.Groups)
			}
		}
	}
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
