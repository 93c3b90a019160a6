// Package language names the languages the portal is written in: the public
// site, the members' area and training exist in each of them, and content is
// translated from Source. The Hugo configuration (site/config) lists the same
// languages; the browser code reads them from site/assets/js/lib/vocabulary.js,
// generated from this package (see site/vocabulary_test.go).
package language

import "slices"

// Source is the language translations are made from and compared with.
const Source = "en"

// All lists the portal's languages, Source first, in the order the site
// lists them.
func All() []string { return []string{"en", "fr", "es", "ar"} }

// Valid reports whether code is one of All.
func Valid(code string) bool { return slices.Contains(All(), code) }
