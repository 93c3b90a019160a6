package access

import (
	"strings"
	"testing"
)

func TestCanSee(t *testing.T) {
	vi := Subject{Groups: []string{Members, "victim-identification"}}
	plain := Subject{Groups: []string{Members}}
	// An admin's subject is built from the admin's groups alone
	// (account.User.Subject): this is an admin in no named group.
	admin := Subject{Groups: []string{Members}}
	cases := []struct {
		name string
		s    Subject
		o    Object
		want bool
	}{
		{"public page, anonymous", Subject{}, Object{[]string{Public}, Clear}, true},
		{"members doc, anonymous", Subject{}, Object{[]string{Members}, Green}, false},
		{"members doc, member", plain, Object{[]string{Members}, Amber}, true},
		{"group doc, other member", plain, Object{[]string{"victim-identification"}, Amber}, false},
		{"group doc, group member", vi, Object{[]string{"victim-identification"}, AmberStrict}, true},
		{"red for members, member", plain, Object{[]string{Members}, Red}, false},
		{"red for members, group member", vi, Object{[]string{Members}, Red}, false},
		{"red for group, group member", vi, Object{[]string{"victim-identification"}, Red}, true},
		{"red for group, plain member", plain, Object{[]string{"victim-identification", Members}, Red}, false},
		{"red, admin without the group", admin, Object{[]string{"victim-identification"}, Red}, false},
		{"group doc, admin without the group", admin, Object{[]string{"victim-identification"}, Amber}, false},
		{"members doc, admin", admin, Object{[]string{Members}, AmberStrict}, true},
		{"invalid label", vi, Object{[]string{Members}, "TLP:WHITE"}, false},
		{"no groups", admin, Object{nil, Clear}, false},
		{"public red, anonymous", Subject{}, Object{[]string{Public}, Red}, false},
	}
	for _, c := range cases {
		if got := CanSee(c.s, c.o); got != c.want {
			t.Errorf("%s: CanSee = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFilterNeverOpensRedToMembers(t *testing.T) {
	r := Filter(Subject{Groups: []string{Members, Public, "a", "a"}})
	if len(r.RedGroups) != 1 || r.RedGroups[0] != "a" {
		t.Errorf("red groups %v, want [a]", r.RedGroups)
	}
	if len(r.Groups) != 3 {
		t.Errorf("groups %v, want public, members, a once each", r.Groups)
	}
}

func TestValidGroup(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, name := range []string{"a", "0", "members", "victim-identification", "x-", "a--b", long} {
		if !ValidGroup(name) {
			t.Errorf("ValidGroup(%q) = false, want true", name)
		}
	}
	for _, name := range []string{"", "-x", "-", "X", "a b", "a_b", "a.b", "é", long + "a", "a\n"} {
		if ValidGroup(name) {
			t.Errorf("ValidGroup(%q) = true, want false", name)
		}
	}
}
