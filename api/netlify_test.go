package api_test

import (
	"os"
	"testing"

	"github.com/BurntSushi/toml"

	"portal/api"
)

// The static site on Netlify and the portal binary must send the same
// security headers: readers should not get a weaker page depending on which
// of the two served it.
func TestNetlifyHeadersMatchThePortal(t *testing.T) {
	b, err := os.ReadFile("../netlify.toml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Build struct {
			Publish string `toml:"publish"`
			Command string `toml:"command"`
		} `toml:"build"`
		Headers []struct {
			For    string            `toml:"for"`
			Values map[string]string `toml:"values"`
		} `toml:"headers"`
	}
	if _, err := toml.Decode(string(b), &cfg); err != nil {
		t.Fatalf("netlify.toml does not parse: %v", err)
	}
	if cfg.Build.Publish != "site/public" {
		t.Errorf("publish = %q, want site/public", cfg.Build.Publish)
	}
	if info, err := os.Stat("../" + cfg.Build.Command); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("build command %q is not an executable script in the repository", cfg.Build.Command)
	}
	var all map[string]string
	for _, h := range cfg.Headers {
		if h.For == "/*" {
			all = h.Values
		}
	}
	want := map[string]string{}
	for _, h := range api.SecurityHeaders() {
		want[h.Name] = h.Value
	}
	for name, v := range want {
		if all[name] != v {
			t.Errorf("netlify %s = %q, portal sends %q", name, all[name], v)
		}
	}
	for name := range all {
		if _, ok := want[name]; !ok {
			t.Errorf("netlify sends %s, the portal does not", name)
		}
	}
}
