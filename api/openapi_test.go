package api_test

import (
	"regexp"
	"testing"

	"portal/api"
	"portal/portaltest"
)

// Every route is documented, and every documented operation exists. (That
// the responses match the document is checked on every response the tests'
// client receives.)
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	documented, err := portaltest.OpenAPIPaths()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	routes := map[string]bool{}
	for route := range api.Policies() {
		routes[param.ReplaceAllString(route, "{$1}")] = true
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("%s is not in api/openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("api/openapi.json documents %s, which the server does not have", d)
		}
	}
}
