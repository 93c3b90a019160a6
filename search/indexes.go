package search

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/meilisearch/meilisearch-go"
)

//go:embed indexes.json
var indexesJSON []byte

//go:embed synonyms.json
var synonymsJSON []byte

// IndexSpec is an index's primary key and settings, as applied by the indexer.
type IndexSpec struct {
	UID        string
	PrimaryKey string               `json:"primaryKey"`
	Settings   meilisearch.Settings `json:"settings"`
}

// Specs returns the settings of every index, with the shared synonyms
// expanded into each. It parses the embedded data afresh on each call, so
// callers can change what they get without touching anyone else's copy.
func Specs() (map[string]IndexSpec, error) {
	var specs map[string]IndexSpec
	if err := json.Unmarshal(indexesJSON, &specs); err != nil {
		return nil, fmt.Errorf("parse indexes.json: %w", err)
	}
	syn, err := Synonyms()
	if err != nil {
		return nil, err
	}
	for uid, s := range specs {
		s.UID = uid
		s.Settings.Synonyms = syn
		specs[uid] = s
	}
	return specs, nil
}

// Synonyms expands the groups of synonyms.json into Meilisearch's form,
// where each term lists the terms it also finds (synonyms are one-way there).
func Synonyms() (map[string][]string, error) {
	var file struct {
		Groups [][]string `json:"groups"`
	}
	if err := json.Unmarshal(synonymsJSON, &file); err != nil {
		return nil, fmt.Errorf("parse synonyms.json: %w", err)
	}
	// Arabic terms are folded as the indexed text and the queries are, or
	// they would never meet either.
	fold := func(term string) string { return NormalizeArabic(strings.ToLower(strings.TrimSpace(term))) }
	out := make(map[string][]string)
	for _, group := range file.Groups {
		for _, term := range group {
			term = fold(term)
			for _, other := range group {
				other = fold(other)
				if other != term && !slices.Contains(out[term], other) {
					out[term] = append(out[term], other)
				}
			}
		}
	}
	return out, nil
}
