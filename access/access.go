// Package access decides who may see what. It is the one place that does:
// research documents, members-only training pages and every output built
// from them (search hits, facet counts, document pages, downloads, version
// histories) ask CanSee, and the search filter that Meilisearch applies is
// derived from the same rule by Filter.
//
// The rule knows groups only, never roles: administering people does not
// open content. An admin reads research and members-only training through
// the admin's own groups, like every member, and TLP:RED only through the
// groups a record names. There is deliberately no break-glass path that
// lets an admin read past the rule: a record that nobody in its groups can
// reach any more is fixed by someone in them, or by an admin adding another
// account to a group (an audited act), never by a role that sees
// everything. An admin cannot add groups to their own account
// (account.Service.UpdateUser). What remains is the admin's power to invite
// a new account into any group, audited like every admin act; the audit
// log that admins read names records by ID, groups and label, never by
// title, file name or text.
package access

import (
	"fmt"
	"regexp"
	"slices"
)

// TLP is a Traffic Light Protocol 2.0 label (FIRST), as the portal stores it.
type TLP string

// The TLP 2.0 labels.
const (
	Clear       TLP = "TLP:CLEAR"
	Green       TLP = "TLP:GREEN"
	Amber       TLP = "TLP:AMBER"
	AmberStrict TLP = "TLP:AMBER+STRICT"
	Red         TLP = "TLP:RED"
)

// Labels lists the labels from least to most restricted.
func Labels() []TLP { return []TLP{Clear, Green, Amber, AmberStrict, Red} }

// Valid reports whether t is a TLP 2.0 label.
func (t TLP) Valid() bool { return slices.Contains(Labels(), t) }

// Group names with a meaning of their own.
const (
	// Public marks public pages and training: everyone may see them.
	Public = "public"
	// Members is every member's group. It is too broad to open TLP:RED
	// material: a TLP:RED document is for the groups it names, and naming
	// "members" does not count.
	Members = "members"
)

// GroupPattern is the one rule for access group names (accounts, research
// records, training modules, search documents, and the browser forms through
// site/assets/js/lib/vocabulary.js): 1–64 lower-case letters, digits and
// hyphens, starting with a letter or digit so that a name never reads as an
// option. It is written in the syntax Go and JavaScript share.
const GroupPattern = `^[a-z0-9][a-z0-9-]{0,63}$`

// GroupRule says GroupPattern in words, for error messages.
const GroupRule = "1–64 lower-case letters, digits and hyphens, starting with a letter or digit"

var groupRE = regexp.MustCompile(GroupPattern)

// ValidGroup reports whether name is a well-formed access group name.
func ValidGroup(name string) bool { return groupRE.MatchString(name) }

// Subject is who is asking: their groups, and nothing of their role (see
// the package documentation).
type Subject struct {
	Groups []string
}

// Object is what is asked for: its access groups and its TLP label.
type Object struct {
	Groups []string
	TLP    TLP
}

// CanSee reports whether s may see o: whether o's groups meet s's groups
// (everyone is in Public), and, for TLP:RED, whether they meet one of s's
// named groups. Invalid labels and empty group lists are refused: the rule
// fails closed.
func CanSee(s Subject, o Object) bool {
	if !o.TLP.Valid() || len(o.Groups) == 0 {
		return false
	}
	r := Filter(s)
	groups := r.Groups
	if o.TLP == Red {
		groups = r.RedGroups
	}
	for _, g := range o.Groups {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

// Rule is CanSee in the form a search engine can apply: documents are
// visible when their label is not TLP:RED and their groups meet Groups, or
// their label is TLP:RED and their groups meet RedGroups. CanSee is
// defined by it, so the two cannot disagree.
type Rule struct {
	Groups    []string // always includes Public
	RedGroups []string // Groups without Public and Members; may be empty
}

// Filter derives the search rule for s. The search package turns it into
// filter syntax; its tests check that the filter and CanSee agree on every
// document of a corpus.
func Filter(s Subject) Rule {
	r := Rule{Groups: []string{Public}}
	for _, g := range s.Groups {
		if g == Public || slices.Contains(r.Groups, g) {
			continue
		}
		r.Groups = append(r.Groups, g)
		if g != Members {
			r.RedGroups = append(r.RedGroups, g)
		}
	}
	return r
}

// String describes the rule for logs.
func (r Rule) String() string {
	return fmt.Sprintf("groups %v, red %v", r.Groups, r.RedGroups)
}
