// Package deploy holds the files an operator installs beside the portal
// binary: the systemd unit and an example TLS reverse proxy. Its tests check
// them with the tools that read them.
package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"portal/config"
)

// unit returns the unit's [Service] settings (key → values in order).
func unit(t *testing.T, text string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line %q has no =", line)
		}
		if section == "[Service]" {
			out[k] = append(out[k], v)
		}
	}
	return out
}

// systemdAnalyze runs systemd-analyze on a copy of the unit whose ExecStart
// names an executable that exists here (this test binary), since verify
// checks that it does.
func systemdAnalyze(t *testing.T, args ...string) string {
	t.Helper()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: run scripts/install-test-deps (Debian package systemd)")
	}
	text, err := os.ReadFile("portal.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "portal.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(text), "/opt/portal/portal serve", self+" serve")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, append(args, copyPath)...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestUnitVerifies: systemd reads every line of the unit. verify exits 0
// on unknown keys and bad values, which it only prints, so any output
// fails.
func TestUnitVerifies(t *testing.T) {
	if out := systemdAnalyze(t, "verify"); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify complains:\n%s", out)
	}
}

// TestUnitIsHardened: the options the deployment relies on are set, and
// systemd's own assessment rates the service's exposure low.
func TestUnitIsHardened(t *testing.T) {
	text, err := os.ReadFile("portal.service")
	if err != nil {
		t.Fatal(err)
	}
	svc := unit(t, string(text))
	for k, want := range map[string]string{
		"User":                    "portal",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ReadWritePaths":          "/var/lib/portal",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter":        "@system-service",
	} {
		if got := svc[k]; len(got) == 0 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	env := map[string]string{}
	for _, e := range svc["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	if env["PORTAL_DATA_DIR"] != svc["ReadWritePaths"][0] {
		t.Errorf("PORTAL_DATA_DIR %q is not the one writable path %q", env["PORTAL_DATA_DIR"], svc["ReadWritePaths"])
	}

	// Every variable the unit sets is one config reads, and every secret
	// comes from a credential, not from the unit or its environment file.
	options := map[string]config.Option{}
	for _, o := range config.Options() {
		options[o.Name] = o
		if o.Secret {
			options[o.Name+"_FILE"] = o
		}
	}
	creds := map[string]bool{}
	for _, c := range svc["LoadCredential"] {
		name, _, _ := strings.Cut(c, ":")
		creds[name] = true
	}
	for k, v := range env {
		o, ok := options[k]
		if !ok {
			t.Errorf("the unit sets %s, which the portal does not read", k)
			continue
		}
		if o.Secret {
			name, ok := strings.CutPrefix(v, "%d/")
			if !strings.HasSuffix(k, "_FILE") || !ok || !creds[name] {
				t.Errorf("secret %s = %q: want a *_FILE variable naming a LoadCredential file (%%d/NAME)", k, v)
			}
		}
	}
	for _, k := range []string{"PORTAL_SECRET_KEY_FILE", "PORTAL_SMTP_URL_FILE", "MEILI_SEARCH_KEY_FILE", "MEILI_INDEXING_KEY_FILE"} {
		if env[k] == "" {
			t.Errorf("the unit does not pass %s", k)
		}
	}

	out := systemdAnalyze(t, "security", "--offline=true", "--no-pager")
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(m[1], 64); level > 2.0 {
		t.Errorf("exposure level %s, want at most 2.0 (systemd's \"OK\"):\n%s", m[1], out)
	}
}
