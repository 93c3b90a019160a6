package search

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// KeySpec is an API key the portal needs, with the least privilege that does
// the job (SECURITY.md MS-2). UIDs are fixed so that provisioning finds the
// key it made before instead of piling up new ones.
type KeySpec struct {
	UID         string
	Name        string
	Description string
	Actions     []string
	Indexes     []string
}

// SearchKey is the key `portal serve` answers searches with.
func SearchKey() KeySpec {
	return KeySpec{
		UID:         "0d4b8e52-3c1f-4b7a-9a55-6f0b7c2d9e11",
		Name:        "portal-search",
		Description: "portal serve: signs members' tenant tokens and answers public searches; cannot read documents by id or change anything",
		Actions:     []string{"search", "version"},
		Indexes:     []string{IndexPages, IndexTraining, IndexResearch},
	}
}

// IndexingKey is the key `portal serve` feeds the research index with as
// uploads, edits and deletions arrive: it adds and deletes documents there
// and reads the tasks it waits for, and nothing else. It cannot create,
// configure, swap or delete an index, nor read a document back; those
// belong to AdminKey, held by `portal index` and `portal reindex` only.
func IndexingKey() KeySpec {
	return KeySpec{
		UID:         "0d4b8e52-3c1f-4b7a-9a55-6f0b7c2d9e13",
		Name:        "portal-serve-indexing",
		Description: "portal serve: adds and deletes research documents as members upload and delete them; cannot manage indexes or read documents",
		Actions:     []string{"documents.add", "documents.delete", "tasks.get"},
		Indexes:     []string{IndexResearch},
	}
}

// AdminKey is the key `portal index` and `portal reindex` manage the
// indexes with.
func AdminKey() KeySpec {
	return KeySpec{
		UID:         "0d4b8e52-3c1f-4b7a-9a55-6f0b7c2d9e12",
		Name:        "portal-indexer",
		Description: "portal index and reindex: creates, configures, fills and swaps the portal's indexes",
		Actions: []string{"indexes.create", "indexes.get", "indexes.delete", "indexes.swap",
			"settings.get", "settings.update", "documents.add", "documents.get", "documents.delete",
			"tasks.get", "stats.get", "version"},
		// All indexes, because Meilisearch hides index-swap tasks (which name
		// no single index) from keys limited to some indexes, and the indexer
		// must see the swaps it waits for.
		Indexes: []string{"*"},
	}
}

// keyLifetime is how long a provisioned key lives; provisioning renews a key
// that has less than keyRenewal left.
const (
	keyLifetime = 365 * 24 * time.Hour
	keyRenewal  = 30 * 24 * time.Hour
)

// ProvisionKey returns the secret of the key described by spec, creating it
// (or replacing it when it is close to expiry or its rights changed) with
// master, a client holding the master key.
func ProvisionKey(ctx context.Context, master meilisearch.KeyManager, spec KeySpec, now time.Time) (string, error) {
	k, err := master.GetKey(ctx, spec.UID)
	switch {
	case err == nil && k.ExpiresAt.After(now.Add(keyRenewal)) &&
		slices.Equal(k.Actions, spec.Actions) && slices.Equal(k.Indexes, spec.Indexes):
		return k.Key, nil
	case err == nil:
		if _, err := master.DeleteKey(ctx, spec.UID); err != nil {
			return "", classify(err, "delete key "+spec.Name)
		}
	case !isNotFound(err):
		return "", classify(err, "get key "+spec.Name)
	}
	k, err = master.CreateKey(ctx, &meilisearch.Key{
		UID:         spec.UID,
		Name:        spec.Name,
		Description: spec.Description,
		Actions:     spec.Actions,
		Indexes:     spec.Indexes,
		ExpiresAt:   now.Add(keyLifetime).UTC().Truncate(time.Second),
	})
	if err != nil {
		return "", classify(err, "create key "+spec.Name)
	}
	if k.Key == "" {
		return "", fmt.Errorf("create key %s: no key in the answer", spec.Name)
	}
	return k.Key, nil
}
