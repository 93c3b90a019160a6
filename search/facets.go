package search

import (
	"cmp"
	"slices"
)

// sortFacets orders facet values by count, then by value, so that the list
// is stable between identical searches.
func sortFacets(v []FacetValue) {
	slices.SortFunc(v, func(a, b FacetValue) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
}
