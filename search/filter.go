package search

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"portal/access"
)

// The filter builder is the only code in the portal that writes Meilisearch
// filter syntax. Callers pass typed values; the builder allow-lists the
// attribute, quotes and escapes every value, and composes clauses as a filter
// array (each element ANDed by Meilisearch) so that no clause can change the
// precedence of another. Anything it cannot build safely is an error, never a
// weaker filter.

// maxFilterValueBytes is Meilisearch's limit for a filterable value.
const maxFilterValueBytes = 468

// ErrFilter reports a filter that the builder refused to build.
var ErrFilter = errors.New("invalid filter")

// Clause is one condition on one attribute. The zero Clause is invalid, so a
// forgotten error check fails closed in And.
type Clause struct{ expr string }

// Filterable attributes that user input may reach. An attribute missing here
// cannot be filtered on, whatever the index settings say.
func filterableField(name string) bool {
	switch name {
	case "lang", "kind", "section", "access_groups", "tlp", "doc_id",
		"topics", "countries", "regions", "type", "language", "year", "version":
		return true
	}
	return false
}

// Between matches documents whose numeric attribute lies in [lo, hi].
// Numbers are formatted by the builder, never copied from input.
func Between(field string, lo, hi int) (Clause, error) {
	if !filterableField(field) {
		return Clause{}, fmt.Errorf("%w: attribute %q is not filterable", ErrFilter, field)
	}
	if lo > hi {
		return Clause{}, fmt.Errorf("%w: empty range %d..%d", ErrFilter, lo, hi)
	}
	return Clause{expr: fmt.Sprintf("%s %d TO %d", field, lo, hi)}, nil
}

// Access is the clause that limits a search to what rule allows (see
// access.Filter, which derives rule from the same definition as
// access.CanSee). It is one parenthesised element of the filter array, so
// nothing the user adds can loosen it.
func Access(rule access.Rule) (Clause, error) {
	if len(rule.Groups) == 0 {
		return Clause{}, fmt.Errorf("%w: access rule without groups", ErrFilter)
	}
	groups, err := OneOf("access_groups", rule.Groups)
	if err != nil {
		return Clause{}, err
	}
	red, err := quote(string(access.Red))
	if err != nil {
		return Clause{}, err
	}
	expr := "(tlp != " + red + " AND " + groups.expr + ")"
	if len(rule.RedGroups) > 0 {
		redGroups, err := OneOf("access_groups", rule.RedGroups)
		if err != nil {
			return Clause{}, err
		}
		expr = "(" + expr + " OR (tlp = " + red + " AND " + redGroups.expr + "))"
	}
	return Clause{expr: expr}, nil
}

// Equals matches documents whose attribute equals value (Meilisearch compares
// strings case-insensitively).
func Equals(field, value string) (Clause, error) {
	if !filterableField(field) {
		return Clause{}, fmt.Errorf("%w: attribute %q is not filterable", ErrFilter, field)
	}
	q, err := quote(value)
	if err != nil {
		return Clause{}, err
	}
	return Clause{expr: field + " = " + q}, nil
}

// OneOf matches documents whose attribute equals any of values. An empty list
// matches nothing rather than everything.
func OneOf(field string, values []string) (Clause, error) {
	if !filterableField(field) {
		return Clause{}, fmt.Errorf("%w: attribute %q is not filterable", ErrFilter, field)
	}
	if len(values) == 0 {
		return Clause{}, fmt.Errorf("%w: empty value list for %q", ErrFilter, field)
	}
	var b strings.Builder
	b.WriteString(field)
	b.WriteString(" IN [")
	for i, v := range values {
		q, err := quote(v)
		if err != nil {
			return Clause{}, err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q)
	}
	b.WriteString("]")
	return Clause{expr: b.String()}, nil
}

// And composes clauses into the array form that Meilisearch ANDs element by
// element. It returns nil for no clauses and an error for an invalid one.
func And(clauses ...Clause) ([]any, error) {
	if len(clauses) == 0 {
		return nil, nil
	}
	out := make([]any, len(clauses))
	for i, c := range clauses {
		if c.expr == "" {
			return nil, fmt.Errorf("%w: empty clause", ErrFilter)
		}
		out[i] = c.expr
	}
	return out, nil
}

// String returns the clause's filter expression.
func (c Clause) String() string { return c.expr }

// quote wraps value in double quotes for Meilisearch's filter parser, where a
// backslash escapes the next character: backslashes are doubled first, then
// quotes escaped, so the quoted token always ends at our closing quote.
func quote(value string) (string, error) {
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("%w: value is not valid UTF-8", ErrFilter)
	}
	if len(value) > maxFilterValueBytes {
		return "", fmt.Errorf("%w: value longer than %d bytes", ErrFilter, maxFilterValueBytes)
	}
	var b strings.Builder
	b.Grow(len(value) + 2)
	b.WriteByte('"')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}
