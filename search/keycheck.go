package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// ErrKeyRights means a key given to `portal serve` holds rights its spec
// does not grant it (or lacks ones it needs); serve refuses to start.
var ErrKeyRights = errors.New("meilisearch key rights differ from what portal serve needs")

// A keyProbe asks Meilisearch whether a key holds one action on one index.
// Meilisearch checks the key before anything else and answers 403 when the
// key lacks the right. A key that holds it gets past that check, and every
// probe here is then refused by validation (an invalid index uid or body)
// or only reads: no probe changes anything, whatever the key may do. This
// stands in for GET /keys/{key}, which only a key holding keys.get may call
// (checked against Meilisearch 1.21), so a least-privilege key cannot read
// its own rights.
type keyProbe struct {
	action string
	// index is the index the probe touches: "" for an instance-wide route,
	// "!" for one no key names (so only a key on every index reaches it),
	// and an index's name followed by "!" for one that only an index
	// pattern covering that index reaches (patternProbe).
	index        string
	method, path string
	body         string
}

// patternProbe probes indexes.delete on index without deleting it. A key
// whose indexes name index exactly can only be asked by deleting index
// itself, so that case escapes every probe; but a key that reaches index
// through a pattern ("research*", "r*", "*") reaches index+"!" too, which
// is not a valid index uid: Meilisearch checks the key against the raw
// name first (403 invalid_api_key when the key does not cover it) and only
// then refuses the name (400 invalid_index_uid), enqueuing no task. Checked
// against Meilisearch 1.21 in TestCheckKeyAgainstRealMeilisearch.
func patternProbe(index string) keyProbe {
	return keyProbe{"indexes.delete", index + "!", http.MethodDelete, "/indexes/" + index + "!", ""}
}

var keyProbes = []keyProbe{
	// A key holding "*" holds keys.get, so this also finds the actions no
	// harmless request can probe (dumps.create, snapshots.create).
	{"keys.get", "", http.MethodGet, "/keys?limit=1", ""},
	{"keys.create", "", http.MethodPost, "/keys", "{}"},
	{"indexes.create", "!", http.MethodPost, "/indexes", `{"uid":"!"}`},
	{"indexes.get", "!", http.MethodGet, "/indexes/!", ""},
	{"indexes.delete", "!", http.MethodDelete, "/indexes/!", ""},
	{"indexes.swap", "!", http.MethodPost, "/swap-indexes", `[{"indexes":["!a","!b"]}]`},
	{"settings.update", "!", http.MethodPatch, "/indexes/!/settings", "{}"},
	// Deleting the portal's indexes, for keys that reach them through a
	// pattern.
	patternProbe(IndexResearch),
	patternProbe(IndexPages),
	patternProbe(IndexTraining),
	// The same rights on the index serve feeds, refused after the key check
	// by a body of the wrong type. indexes.delete on it has no harmless
	// probe for a key that names it exactly: such a key would delete the
	// index (SECURITY.md MS-2).
	{"indexes.create", IndexResearch, http.MethodPost, "/indexes", `{"uid":"` + IndexResearch + `","primaryKey":1}`},
	{"indexes.update", IndexResearch, http.MethodPatch, "/indexes/" + IndexResearch, `{"primaryKey":1}`},
	{"indexes.swap", IndexResearch, http.MethodPost, "/swap-indexes", `[{"indexes":["` + IndexResearch + `","!"]}]`},
	{"settings.update", IndexResearch, http.MethodPatch, "/indexes/" + IndexResearch + "/settings", `{"rankingRules":1}`},
	{"documents.get", IndexResearch, http.MethodGet, "/indexes/" + IndexResearch + "/documents/!", ""},
	{"documents.add", IndexResearch, http.MethodPost, "/indexes/" + IndexResearch + "/documents", "!"},
	{"documents.add", "!", http.MethodPost, "/indexes/!/documents", "!"},
	{"documents.delete", IndexResearch, http.MethodPost, "/indexes/" + IndexResearch + "/documents/delete-batch", "!"},
	{"documents.delete", "!", http.MethodPost, "/indexes/!/documents/delete-batch", "!"},
	{"tasks.get", "", http.MethodGet, "/tasks/4294967295", ""},
	{"tasks.cancel", "", http.MethodPost, "/tasks/cancel", ""},
	{"tasks.delete", "", http.MethodDelete, "/tasks", ""},
	{"search", IndexResearch, http.MethodPost, "/indexes/" + IndexResearch + "/search", "!"},
	{"search", "!", http.MethodPost, "/indexes/!/search", "!"},
	{"version", "", http.MethodGet, "/version", ""},
}

// grants reports whether spec grants the probe's right.
func (p keyProbe) grants(spec KeySpec) bool {
	if !slices.Contains(spec.Actions, p.action) && !slices.Contains(spec.Actions, "*") {
		return false
	}
	return p.index == "" || slices.ContainsFunc(spec.Indexes, func(pattern string) bool { return covers(pattern, p.index) })
}

// covers reports whether a key's index pattern reaches index, as
// Meilisearch matches them: a trailing "*" matches any rest, and a pattern
// without one only the index it names.
func covers(pattern, index string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(index, prefix)
	}
	return pattern == index
}

func (p keyProbe) String() string {
	switch {
	case p.index == "":
		return p.action
	case p.index == "!":
		return p.action + " on indexes beyond its own"
	case strings.HasSuffix(p.index, "!"):
		return p.action + " on " + strings.TrimSuffix(p.index, "!") + " (through an index pattern)"
	}
	return p.action + " on " + p.index
}

// CheckKey asks Meilisearch at url what key may do and compares it with
// spec: an error wrapping ErrKeyRights names each right held beyond the
// spec or missing from it; ErrUnavailable means Meilisearch did not answer.
func CheckKey(ctx context.Context, url, key string, spec KeySpec) error {
	t := &transport{url: url, http: newHTTPClient()}
	var extra, missing []string
	for _, p := range keyProbes {
		held, err := t.holds(ctx, key, p)
		if err != nil {
			return fmt.Errorf("check key %s: %w", spec.Name, err)
		}
		switch want := p.grants(spec); {
		case held && !want:
			extra = append(extra, p.String())
		case !held && want:
			missing = append(missing, p.String())
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return nil
	}
	var problems []string
	if len(extra) > 0 {
		problems = append(problems, "it may also "+strings.Join(extra, ", "))
	}
	if len(missing) > 0 {
		problems = append(problems, "it may not "+strings.Join(missing, ", "))
	}
	return fmt.Errorf("%w: the key given for %s: %s (`portal meili keys` prints the right one)",
		ErrKeyRights, spec.Name, strings.Join(problems, "; "))
}

// holds sends one probe: 401 or 403 means the key lacks the right, any
// other answer from Meilisearch that it holds it.
func (t *transport) holds(ctx context.Context, key string, p keyProbe) (bool, error) {
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	err := t.do(ctx, p.method, key, p.path, body, &struct{}{}, p.action+" probe")
	if errors.Is(err, ErrUnavailable) {
		return false, err
	}
	if me, ok := errors.AsType[*meiliError](err); ok {
		return me.Status != http.StatusUnauthorized && me.Status != http.StatusForbidden, nil
	}
	// Any other answer (200, or a 202 task) got past the key check.
	return true, nil
}
