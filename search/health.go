package search

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"portal/access"
)

// MinSafeVersion is the oldest Meilisearch release without security
// advisories known to the project (see SECURITY.md, V-1). The development
// build is older; production must not be.
const MinSafeVersion = "1.48.2"

// Status is what the portal knows of Meilisearch's health.
type Status struct {
	Status   string `json:"status"`
	Version  string `json:"version"`
	Outdated bool   `json:"outdated"`
	// MinimumVersion is only set when Outdated is true.
	MinimumVersion string `json:"minimumVersion,omitempty"`
}

// Health asks Meilisearch for its health and version.
func (s *Searcher) Health(ctx context.Context) (Status, error) {
	var h struct {
		Status string `json:"status"`
	}
	if err := s.meili.get(ctx, s.key, "/health", &h, "health"); err != nil {
		return Status{}, err
	}
	st := Status{Status: h.Status}
	var v struct {
		PkgVersion string `json:"pkgVersion"`
	}
	if err := s.meili.get(ctx, s.key, "/version", &v, "version"); err != nil {
		// A search-only key may not read /version; health alone still
		// tells whether search works.
		st.Version = "unknown"
		return st, nil
	}
	st.Version = v.PkgVersion
	if VersionLess(v.PkgVersion, MinSafeVersion) {
		st.Outdated = true
		st.MinimumVersion = MinSafeVersion
	}
	return st, nil
}

// ErrTokenRejected means Meilisearch refused a tenant token: the search key
// UID the portal was given is not the search key's.
var ErrTokenRejected = errors.New("meilisearch refused a tenant token signed with the search key; check MEILI_SEARCH_KEY_UID")

// CheckTokens runs one search through a tenant token, so that a key UID
// that does not match the search key stops the portal at start rather than
// failing every search. Other failures (Meilisearch down, indexes not yet
// built) are returned as they are; they do not show the tokens wrong.
func (s *Searcher) CheckTokens(ctx context.Context) error {
	acc, err := Access(access.Filter(access.Subject{}))
	if err != nil {
		return err
	}
	token, err := s.tokens.get(acc.expr)
	if err != nil {
		return err
	}
	var ans answer
	err = s.meili.search(ctx, token, "/indexes/"+IndexPages+"/search",
		searchRequest{Limit: 1, AttributesToRetrieve: []string{"id"}}, &ans, "tenant token check")
	if me, ok := errors.AsType[*meiliError](err); ok && (me.Status == http.StatusUnauthorized || me.Status == http.StatusForbidden) {
		return fmt.Errorf("%w: %w", ErrTokenRejected, err)
	}
	return err
}

// VersionLess compares dotted numeric versions ("1.21.0" < "1.48.2"); a
// pre-release or build suffix is ignored. Unparsable versions are less, so
// that they draw a warning rather than hide one.
func VersionLess(a, b string) bool {
	pa, okA := parseVersion(a)
	pb, _ := parseVersion(b)
	if !okA {
		return true
	}
	for i := range 3 {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

// String describes the status for logs.
func (s Status) String() string {
	return fmt.Sprintf("%s %s", s.Status, s.Version)
}
