package lint

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"portal/access"
)

// checkAccess: public modules say access: public (and no TLP label other
// than TLP:CLEAR); members-only modules list access groups and carry a TLP
// label, and live in the members tree.
func (l *linter) checkAccess(p *page, tree, lang string) {
	f, ok := p.fm["access"]
	if !ok {
		l.missing(p, "access", `"public", or a list of access groups for a members-only module`)
		return
	}
	line := f.value.Line + p.fmLine
	var groups []string
	public := false
	switch f.value.Kind {
	case yaml.ScalarNode:
		if f.value.Value == "public" {
			public = true
		} else {
			groups = []string{f.value.Value}
		}
	case yaml.SequenceNode:
		for _, n := range f.value.Content {
			groups = append(groups, n.Value)
			if !access.ValidGroup(n.Value) {
				l.problem(p.file, n.Line+p.fmLine, "access group %q: names are %s", n.Value, access.GroupRule)
			}
		}
		if len(groups) == 0 {
			l.problem(p.file, line, `access is an empty list: say "public", or name the access groups`)
			return
		}
	default:
		l.problem(p.file, line, `access must be "public" or a list of access groups`)
		return
	}
	tlp, tlpLine := "", line
	if t, ok := p.fm["tlp"]; ok {
		tlp, tlpLine = t.value.Value, t.value.Line+p.fmLine
		if !access.TLP(tlp).Valid() {
			l.problem(p.file, tlpLine, "tlp %q: use one of %s", tlp, tlpList())
		}
	}
	restricted := !public || (tlp != "" && access.TLP(tlp) != access.Clear)
	switch {
	case tree == TreePublic && restricted:
		l.problem(p.file, line, "members-only module (access %s, tlp %q) in the public tree: move it to content/members/%s/training/",
			describeAccess(public, groups), tlp, lang)
	case tree == TreeMembers && public:
		l.problem(p.file, line, `access: public in the members-only tree: name the access groups, or move the module to content/%s/training/`, lang)
	case tree == TreeMembers && tlp == "":
		l.problem(p.file, p.fmLine, "missing required field tlp (a members-only module carries a TLP label, e.g. TLP:AMBER)")
	case tree == TreeMembers && access.TLP(tlp) == access.Clear:
		l.problem(p.file, tlpLine, "TLP:CLEAR is for public information: a members-only module needs TLP:GREEN or stricter")
	}
}

func describeAccess(public bool, groups []string) string {
	if public {
		return "public"
	}
	return "[" + strings.Join(groups, ", ") + "]"
}

// tlpList is the TLP labels for messages.
func tlpList() string {
	labels := make([]string, 0, len(access.Labels()))
	for _, t := range access.Labels() {
		labels = append(labels, string(t))
	}
	return strings.Join(labels, ", ")
}
