package portaltest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"portal/api"
)

// contract checks API responses against api/openapi.json, so that the
// document cannot drift from what the server answers. Every test that uses a
// Client checks every /api response it gets.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
	paths    []pathTemplate
}

type pathTemplate struct {
	template string
	re       *regexp.Regexp
}

var loaded struct {
	once sync.Once
	c    *contract
	err  error
}

func openAPI() (*contract, error) {
	loaded.once.Do(func() {
		raw := api.OpenAPIDocument()
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			loaded.err = err
			return
		}
		c := &contract{compiler: jsonschema.NewCompiler(), schemas: map[string]*jsonschema.Schema{}}
		c.compiler.DefaultDraft(jsonschema.Draft2020)
		if err := c.compiler.AddResource("openapi.json", doc); err != nil {
			loaded.err = err
			return
		}
		if err := json.Unmarshal(raw, &c.doc); err != nil {
			loaded.err = err
			return
		}
		for p := range c.doc["paths"].(map[string]any) {
			re := "^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$"
			c.paths = append(c.paths, pathTemplate{template: p, re: regexp.MustCompile(re)})
		}
		// A literal path wins over a template that also matches it
		// (/api/research/vocabulary over /api/research/{id}).
		slices.SortFunc(c.paths, func(a, b pathTemplate) int {
			return cmp.Or(cmp.Compare(strings.Count(a.template, "{"), strings.Count(b.template, "{")),
				cmp.Compare(a.template, b.template))
		})
		loaded.c = c
	})
	return loaded.c, loaded.err
}

// OpenAPIPaths lists "METHOD /path/{param}" for every operation documented.
func OpenAPIPaths() (map[string]bool, error) {
	c, err := openAPI()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for p, item := range c.doc["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if m != "parameters" {
				out[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	return out, nil
}

// check validates one response; it returns a description of what does not
// match, or "".
func (c *contract) check(method, path string, resp *http.Response, body []byte) string {
	var tmpl string
	for _, p := range c.paths {
		if p.re.MatchString(path) {
			tmpl = p.template
			break
		}
	}
	if tmpl == "" {
		if resp.StatusCode == http.StatusNotFound {
			return "" // an undocumented path answering 404 is right
		}
		return fmt.Sprintf("%s %s: path not in openapi.json", method, path)
	}
	item := c.doc["paths"].(map[string]any)[tmpl].(map[string]any)
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		if resp.StatusCode == http.StatusMethodNotAllowed {
			return ""
		}
		return fmt.Sprintf("%s %s: method not in openapi.json (status %d)", method, tmpl, resp.StatusCode)
	}
	status := strconv.Itoa(resp.StatusCode)
	responses := op["responses"].(map[string]any)
	r, ok := responses[status].(map[string]any)
	pointer := "#/paths/" + escapePointer(tmpl) + "/" + strings.ToLower(method) + "/responses/" + status
	if !ok {
		// Errors every route can give need no listing of their own: the
		// framework's own refusals and server failures.
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusBadRequest, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable:
			r, pointer = c.doc["components"].(map[string]any)["responses"].(map[string]any)["Error"].(map[string]any), "#/components/responses/Error"
		default:
			return fmt.Sprintf("%s %s: status %d not in openapi.json", method, tmpl, resp.StatusCode)
		}
	}
	if ref, ok := r["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/responses/")
		r = c.doc["components"].(map[string]any)["responses"].(map[string]any)[name].(map[string]any)
		pointer = ref
	}
	content, ok := r["content"].(map[string]any)
	if !ok {
		if len(body) > 0 && resp.StatusCode != http.StatusNoContent {
			return fmt.Sprintf("%s %s %d: body where openapi.json documents none", method, tmpl, resp.StatusCode)
		}
		return ""
	}
	if _, ok := content["application/json"]; !ok {
		return ""
	}
	// A route documented with other media types as well (a CSV download
	// beside JSON) is checked as JSON only when it answers JSON.
	if mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); mt != "application/json" {
		if _, ok := content[strings.TrimSpace(mt)]; ok {
			return ""
		}
	}
	sch, err := c.schema(pointer + "/content/application~1json/schema")
	if err != nil {
		return fmt.Sprintf("%s %s %d: %v", method, tmpl, resp.StatusCode, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Sprintf("%s %s %d: body is not JSON: %s", method, tmpl, resp.StatusCode, body)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Sprintf("%s %s %d: body does not match openapi.json: %v\n%s", method, tmpl, resp.StatusCode, err, body)
	}
	return ""
}

func (c *contract) schema(pointer string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[pointer]; ok {
		return s, nil
	}
	s, err := c.compiler.Compile("openapi.json" + pointer)
	if err != nil {
		return nil, err
	}
	c.schemas[pointer] = s
	return s, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
