package search

import (
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// TestSignTenantTokenMatchesLibrary: the portal's own signing gives the
// very token meilisearch-go's GenerateTenantToken gives, so Meilisearch
// checks it alike (the searches of research_test.go run through it).
func TestSignTenantTokenMatchesLibrary(t *testing.T) {
	key, uid := "a-search-key-of-some-length-0123456789", SearchKey().UID
	expires := time.Now().Add(tokenLifetime)
	rules := map[string]any{
		IndexResearch: map[string]any{"filter": `(tlp != "TLP:RED" AND access_groups IN ["public", "a\"b"])`},
		IndexPages:    map[string]any{"filter": "access_groups EXISTS"},
	}
	got, err := signTenantToken(key, uid, rules, expires)
	if err != nil {
		t.Fatal(err)
	}
	want, err := meilisearch.New("http://127.0.0.1:1").GenerateTenantToken(uid, rules,
		&meilisearch.TenantTokenOptions{APIKey: key, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("signTenantToken:\n got  %s\n want %s", got, want)
	}
	if other, _ := signTenantToken(key+"x", uid, rules, expires); other == got {
		t.Error("a different key signed the same token")
	}
	if _, err := signTenantToken("", uid, rules, expires); err == nil {
		t.Error("signed without a key")
	}
}
