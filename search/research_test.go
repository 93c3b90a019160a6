package search_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"portal/access"
	"portal/search"
	"portal/search/meilitest"
	"portal/store/storetest"
)

// library is a real Meilisearch holding one canary document for every pair
// of access group and TLP label.
type library struct {
	url       string
	searchKey string
	searcher  *search.Searcher
	indexer   *search.Indexer
	docs      map[string]access.Object // canary title → its access fields
}

var lib struct {
	once sync.Once
	l    *library
	m    *meilitest.Instance
	dir  string
	err  error
}

func startLibrary(tb testing.TB) *library {
	tb.Helper()
	lib.once.Do(func() { lib.l, lib.err = newLibrary(tb) })
	if lib.err != nil {
		tb.Fatal(lib.err)
	}
	return lib.l
}

func newLibrary(tb testing.TB) (*library, error) {
	// Not tb.TempDir(): the library outlives the test that starts it.
	dir, err := os.MkdirTemp("", "search-test-meili-")
	if err != nil {
		return nil, err
	}
	lib.dir = dir
	m, err := meilitest.Run(dir)
	if err != nil {
		return nil, err
	}
	lib.m = m
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	master := search.NewClient(m.URL, m.MasterKey)
	searchKey, err := search.ProvisionKey(ctx, master, search.SearchKey(), time.Now())
	if err != nil {
		return nil, err
	}
	adminKey, err := search.ProvisionKey(ctx, master, search.AdminKey(), time.Now())
	if err != nil {
		return nil, err
	}
	ix := search.NewIndexer(search.NewClient(m.URL, adminKey), nil)
	if err := ix.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	l := &library{url: m.URL, searchKey: searchKey, indexer: ix, docs: map[string]access.Object{},
		searcher: search.NewSearcher(m.URL, searchKey, search.SearchKey().UID)}
	n := 0
	for _, group := range []string{"members", "victim-identification", "access-blocking"} {
		for _, tlp := range access.Labels() {
			n++
			title := fmt.Sprintf("canary%02d %s %s", n, group, tlp)
			d := search.ResearchDoc{ID: fmt.Sprintf("%032x", n), Version: 1, Title: title,
				Abstract: "Synthetic canary record for access tests.", Year: 2000 + n, Language: "en", Type: "study",
				Topics: []string{"victim-identification"}, Countries: []string{"FR"}, Regions: []string{"europe"},
				AccessGroups: []string{group}, TLP: string(tlp), UpdatedAt: time.Now()}
			if err := ix.IndexResearch(ctx, d, []search.ResearchPassage{{Number: 1, Text: "canary passage one"}, {Number: 2, Text: "canary passage two"}}); err != nil {
				return nil, err
			}
			l.docs[title] = access.Object{Groups: d.AccessGroups, TLP: tlp}
		}
	}
	return l, nil
}

func TestMain(m *testing.M) {
	code := storetest.Main(m)
	if lib.m != nil {
		_ = lib.m.Process.Stop()
	}
	if lib.dir != "" {
		os.RemoveAll(lib.dir)
	}
	if code != 0 {
		panic(fmt.Sprintf("exit %d", code))
	}
}

func subjects() map[string]access.Subject {
	return map[string]access.Subject{
		"member":    {Groups: []string{"members"}},
		"vi member": {Groups: []string{"members", "victim-identification"}},
		"ab member": {Groups: []string{"members", "access-blocking"}},
	}
}

func (l *library) visible(s access.Subject) []string {
	var out []string
	for title, o := range l.docs {
		if access.CanSee(s, o) {
			out = append(out, title)
		}
	}
	sort.Strings(out)
	return out
}

func titles(res *search.MemberResults) []string {
	var out []string
	for _, h := range res.Hits {
		if h.Kind == "research" {
			out = append(out, h.Title)
		}
	}
	sort.Strings(out)
	return out
}

// The search results, facet counts and totals of every subject are exactly
// what access.CanSee allows, in both search modes.
func TestMemberSearchShowsExactlyWhatCanSeeAllows(t *testing.T) {
	l := startLibrary(t)
	for name, s := range subjects() {
		want := l.visible(s)
		for _, q := range []search.MemberQuery{
			{Text: "canary", Lang: "en", Page: 1, Scope: "research"},
			{Text: "", Lang: "en", Page: 1, Scope: "research"},
			{Text: "canary", Lang: "en", Page: 1, Scope: "all"},
			{Text: "", Lang: "en", Page: 1, Sort: "newest"},
			{Text: "canary", Lang: "en", Page: 1, Topics: []string{"victim-identification"}},
		} {
			res, err := l.searcher.Member(t.Context(), s, q)
			if err != nil {
				t.Fatalf("%s %+v: %v", name, q, err)
			}
			if got := titles(res); !slices.Equal(got, want) {
				t.Errorf("%s %+v:\n got  %v\n want %v", name, q, got, want)
			}
			if res.Total != len(want) {
				t.Errorf("%s %+v: total %d, want %d", name, q, res.Total, len(want))
			}
			facetTotal := 0
			for _, f := range res.Facets["tlp"] {
				facetTotal += f.Count
			}
			if facetTotal != len(want) {
				t.Errorf("%s %+v: tlp facet counts add up to %d, want %d", name, q, facetTotal, len(want))
			}
		}
	}
}

// Hostile values in every filter parameter narrow or fail; they never widen.
func TestMemberFiltersCannotWiden(t *testing.T) {
	l := startLibrary(t)
	s := subjects()["member"]
	want := len(l.visible(s))
	for _, v := range []string{`x" OR access_groups EXISTS OR id = "`, `") OR (tlp = "TLP:RED`, `\`, `\"`, `NOT`, `TLP:RED" OR "1"="1`} {
		for _, q := range []search.MemberQuery{
			{Lang: "en", Page: 1, Topics: []string{v}}, {Lang: "en", Page: 1, Countries: []string{v}},
			{Lang: "en", Page: 1, TLPs: []string{v}}, {Lang: "en", Page: 1, Types: []string{v, "study"}},
		} {
			res, err := l.searcher.Member(t.Context(), s, q)
			if err != nil {
				continue // refusing is fine
			}
			if res.Total > want {
				t.Errorf("%+v: %d hits, more than the %d the member may see", q, res.Total, want)
			}
		}
	}
}

// The tenant token alone enforces the rule: a search through it without any
// filter of ours still returns only what the subject may see, and it expires
// within 15 minutes.
func TestTenantTokenEnforcesTheRuleOnItsOwn(t *testing.T) {
	l := startLibrary(t)
	s := subjects()["vi member"]
	rule := access.Filter(s)
	clause, err := search.Access(rule)
	if err != nil {
		t.Fatal(err)
	}
	signer := search.NewClient(l.url, l.searchKey)
	exp := time.Now().Add(15 * time.Minute)
	tok, err := signer.GenerateTenantToken(search.SearchKey().UID,
		map[string]any{search.IndexResearch: map[string]any{"filter": clause.String()}},
		&meilisearch.TenantTokenOptions{APIKey: l.searchKey, ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == 0 || claims.Exp-time.Now().Unix() > 900 {
		t.Errorf("token claims %s: exp must be set and at most 15 minutes away", payload)
	}
	c := meilisearch.New(l.url, meilisearch.WithAPIKey(tok))
	resp, err := c.Index(search.IndexResearch).Search(t.Context(), "", &meilisearch.SearchRequest{Limit: 100, Facets: []string{"tlp"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range resp.Hits {
		var d struct {
			Title string `json:"title"`
		}
		_ = h.DecodeInto(&d)
		got = append(got, d.Title)
	}
	sort.Strings(got)
	if want := l.visible(s); !slices.Equal(got, want) {
		t.Errorf("token-only search:\n got  %v\n want %v", got, want)
	}
	// Fetching by id is not a search: tenant tokens may not.
	var doc map[string]any
	if err := c.Index(search.IndexResearch).GetDocument(t.Context(), fmt.Sprintf("%032x-v1-p1", 1), nil, &doc); err == nil {
		t.Error("a tenant token fetched a document by id")
	}
}

// The search key cannot write (SECURITY.md MS-2).
func TestSearchKeyCannotWrite(t *testing.T) {
	l := startLibrary(t)
	c := search.NewClient(l.url, l.searchKey)
	_, err := c.Index(search.IndexResearch).AddDocuments(t.Context(), []map[string]any{{"id": "x", "doc_id": "x", "access_groups": []string{"members"}, "tlp": "TLP:CLEAR"}}, nil)
	var me *meilisearch.Error
	if err == nil || !errorAs(err, &me) || me.StatusCode != 403 {
		t.Errorf("search key added a document: %v", err)
	}
}

// FuzzMemberFilter sends arbitrary filter values through the builder to a
// real Meilisearch: the answer is an error or a subset of what the subject
// may see, never more.
func FuzzMemberFilter(f *testing.F) {
	for _, v := range []string{"", "FR", `x" OR tlp EXISTS OR x = "`, `\`, `") OR (1 = 1`, "TLP:RED", "\x00", "é"} {
		f.Add(v, v)
	}
	l := startLibrary(f)
	s := subjects()["member"]
	allowed := map[string]bool{}
	for _, t := range l.visible(s) {
		allowed[t] = true
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		q := search.MemberQuery{Lang: "en", Page: 1, Scope: "research", Countries: []string{a}, Topics: []string{b}, TLPs: []string{a, b}}
		res, err := l.searcher.Member(context.Background(), s, q)
		if err != nil {
			return
		}
		for _, h := range res.Hits {
			if !allowed[h.Title] {
				t.Fatalf("filter values %q, %q let through %q", a, b, h.Title)
			}
		}
	})
}

// A key UID that is not the search key's makes every token fail: the
// portal must find out at start.
func TestCheckTokensCatchesAWrongKeyUID(t *testing.T) {
	l := startLibrary(t)
	if err := search.NewSearcher(l.url, l.searchKey, search.SearchKey().UID).CheckTokens(t.Context()); err != nil {
		t.Errorf("right UID: %v", err)
	}
	wrong := search.NewSearcher(l.url, l.searchKey, "3f2504e0-4f89-41d3-9a0c-0305e82c3301")
	if err := wrong.CheckTokens(t.Context()); !errors.Is(err, search.ErrTokenRejected) {
		t.Errorf("wrong UID: %v, want ErrTokenRejected", err)
	}
}

// Health and version come through the Searcher's own transport with the
// search key, from the real Meilisearch.
func TestHealthThroughTheSearchKey(t *testing.T) {
	l := startLibrary(t)
	st, err := search.NewSearcher(l.url, l.searchKey, search.SearchKey().UID).Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "available" || !strings.HasPrefix(st.Version, "1.") {
		t.Errorf("Health = %+v, want available with a 1.x version", st)
	}
	if st.Outdated != search.VersionLess(st.Version, search.MinSafeVersion) {
		t.Errorf("Health = %+v: outdated disagrees with MinSafeVersion %s", st, search.MinSafeVersion)
	}
	down := search.NewSearcher("http://127.0.0.1:1", l.searchKey, search.SearchKey().UID)
	if _, err := down.Health(t.Context()); !errors.Is(err, search.ErrUnavailable) {
		t.Errorf("Health of a Meilisearch that is not there: %v, want ErrUnavailable", err)
	}
}
