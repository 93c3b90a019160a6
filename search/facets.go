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

// facetValues lists a facet's value counts in sortFacets order.
func facetValues(counts map[string]int) []FacetValue {
	out := make([]FacetValue, 0, len(counts))
	for v, n := range counts {
		out = append(out, FacetValue{Value: v, Count: n})
	}
	sortFacets(out)
	return out
}
