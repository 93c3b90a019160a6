package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"portal/config"
)

// TestCaddyfile: Caddy accepts the example proxy as written, and it sends
// requests to the address the unit serves on, with room for the largest
// upload the portal accepts by default.
func TestCaddyfile(t *testing.T) {
	caddy := findCaddy(t)
	cmd := exec.Command(caddy, "adapt", "--config", "Caddyfile", "--adapter", "caddyfile", "--validate")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), `"level":"warn"`) || strings.Contains(stderr.String(), `"level":"error"`) {
		t.Errorf("caddy warns about the Caddyfile:\n%s", stderr.String())
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	found := map[string][]any{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				found[k] = append(found[k], x)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(cfg)

	text, err := os.ReadFile("portal.service")
	if err != nil {
		t.Fatal(err)
	}
	addr := ""
	for _, e := range unit(t, string(text))["Environment"] {
		if v, ok := strings.CutPrefix(e, "PORTAL_ADDR="); ok {
			addr = v
		}
	}
	if len(found["dial"]) != 1 || found["dial"][0] != addr {
		t.Errorf("the proxy dials %v; the unit serves on %q", found["dial"], addr)
	}
	var maxMB string
	for _, o := range config.Options() {
		if o.Name == "PORTAL_MAX_UPLOAD_MB" {
			maxMB = o.Default
		}
	}
	var mb float64
	if err := json.Unmarshal([]byte(maxMB), &mb); err != nil {
		t.Fatal(err)
	}
	// The API accepts the file plus 1 MiB of form (api/server.go).
	want := (mb + 1) * (1 << 20)
	if len(found["max_size"]) != 1 || found["max_size"][0].(float64) < want {
		t.Errorf("the proxy's body limit is %v; the portal accepts %v bytes", found["max_size"], want)
	}
}

// findCaddy returns $CADDY, the caddy on PATH, or the one
// scripts/install-test-deps puts in .tools/.
func findCaddy(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CADDY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("caddy"); err == nil {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", ".tools", "caddy"))
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("caddy is missing: run scripts/install-test-deps (it takes Debian's caddy binary into .tools/)")
	return ""
}
