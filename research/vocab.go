package research

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"portal/language"
)

// Type is the kind of publication a record describes.
type Type string

// Types of publication.
const (
	TypeStudy            Type = "study"
	TypeReport           Type = "report"
	TypeBriefing         Type = "briefing"
	TypeCaseStudy        Type = "case-study"
	TypeTrainingMaterial Type = "training-material"
	TypeMeetingMaterial  Type = "meeting-material"
	TypeGuideline        Type = "guideline"
)

// Types lists the publication types in display order.
func Types() []Type {
	return []Type{TypeStudy, TypeReport, TypeBriefing, TypeCaseStudy, TypeTrainingMaterial,
		TypeMeetingMaterial, TypeGuideline}
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// Topic is one term of the controlled topic vocabulary.
type Topic struct {
	ID     string            `json:"id"`
	Labels map[string]string `json:"labels"` // by language: every one of language.All
}

//go:embed topics.json
var topicsJSON []byte

//go:embed countries.json
var countriesJSON []byte

// The vocabularies are data compiled into the binary; they are parsed once
// and never change afterwards, so sharing them is not shared mutable state.
var (
	loadTopics = sync.OnceValues(func() ([]Topic, error) {
		var ts []Topic
		if err := decodeStrict(topicsJSON, &ts); err != nil {
			return nil, fmt.Errorf("research: topics.json: %w", err)
		}
		seen := map[string]bool{}
		for _, t := range ts {
			if !slugRE.MatchString(t.ID) || seen[t.ID] {
				return nil, fmt.Errorf("research: topics.json: bad or repeated id %q", t.ID)
			}
			seen[t.ID] = true
			for _, lang := range language.All() {
				if t.Labels[lang] == "" {
					return nil, fmt.Errorf("research: topics.json: topic %s has no %s label", t.ID, lang)
				}
			}
		}
		return ts, nil
	})
	loadCountries = sync.OnceValues(func() (map[string]string, error) {
		var cs []struct {
			Code string `json:"code"`
			Name string `json:"name"`
		}
		if err := decodeStrict(countriesJSON, &cs); err != nil {
			return nil, fmt.Errorf("research: countries.json: %w", err)
		}
		m := make(map[string]string, len(cs))
		for _, c := range cs {
			if len(c.Code) != 2 || c.Code[0] < 'A' || c.Code[0] > 'Z' || c.Code[1] < 'A' || c.Code[1] > 'Z' || c.Name == "" {
				return nil, fmt.Errorf("research: countries.json: bad entry %q", c.Code)
			}
			m[c.Code] = c.Name
		}
		return m, nil
	})
)

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Topics returns the topic vocabulary in display order. The result is a
// copy the caller may change.
func Topics() ([]Topic, error) {
	ts, err := loadTopics()
	if err != nil {
		return nil, err
	}
	out := make([]Topic, len(ts))
	for i, t := range ts {
		out[i] = Topic{ID: t.ID, Labels: maps.Clone(t.Labels)}
	}
	return out, nil
}

// ValidTopic reports whether id is in the topic vocabulary.
func ValidTopic(id string) bool {
	ts, err := loadTopics()
	if err != nil {
		return false
	}
	return slices.ContainsFunc(ts, func(t Topic) bool { return t.ID == id })
}

// Country is an ISO 3166-1 country with its English short name.
type Country struct {
	Code string // alpha-2, upper case
	Name string
}

// Countries returns every ISO 3166-1 country, by code.
func Countries() ([]Country, error) {
	m, err := loadCountries()
	if err != nil {
		return nil, err
	}
	out := make([]Country, 0, len(m))
	for _, code := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Country{Code: code, Name: m[code]})
	}
	return out, nil
}

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code, in upper
// case.
func ValidCountry(code string) bool {
	m, err := loadCountries()
	if err != nil {
		return false
	}
	_, ok := m[code]
	return ok
}

// Regions lists the world regions a record may be tagged with.
func Regions() []string {
	return []string{"africa", "americas", "asia-pacific", "europe", "middle-east-north-africa", "global"}
}

// ValidRegion reports whether r is one of Regions.
func ValidRegion(r string) bool { return slices.Contains(Regions(), r) }

// Languages lists the ISO 639-1 codes a record's language may have, and
// "other" for the rest. The list is deliberately short: it is a facet, and
// a long tail of rarely used values would only make it harder to use.
func Languages() []string {
	return []string{"en", "fr", "es", "ar", "de", "pt", "ru", "zh", "it", "nl", "ja", "ko", "tr", "pl",
		"sv", "th", "vi", "id", "hi", "other"}
}

// ValidLanguage reports whether l is one of Languages.
func ValidLanguage(l string) bool { return slices.Contains(Languages(), l) }
