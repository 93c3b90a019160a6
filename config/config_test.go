package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != "production" || c.Addr != "127.0.0.1:8080" || c.SessionIdle != 30*time.Minute || c.SessionMax != 12*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{
		"PORTAL_ENV": "staging", "PORTAL_ADDR": "nohostport", "MEILI_URL": "ftp://x",
		"PORTAL_TRUSTED_PROXIES": "10.0.0.0/8, not-a-cidr", "PORTAL_SECRET_KEY": "abcd",
		"PORTAL_SESSION_IDLE": "2h", "PORTAL_LOG_LEVEL": "loud",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"PORTAL_ENV", "PORTAL_ADDR", "MEILI_URL", "not-a-cidr", "PORTAL_SECRET_KEY", "at most 1h", "PORTAL_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// The metrics listener is off by default and never the public address.
func TestMetricsAddr(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.MetricsAddr != "" {
		t.Errorf("default PORTAL_METRICS_ADDR = %q, %v; want off", c.MetricsAddr, err)
	}
	if c, err := Load(env(map[string]string{"PORTAL_METRICS_ADDR": "127.0.0.1:9090"})); err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("PORTAL_METRICS_ADDR = %q, %v", c.MetricsAddr, err)
	}
	for _, bad := range []string{"nohostport", "127.0.0.1:8080"} {
		if _, err := Load(env(map[string]string{"PORTAL_METRICS_ADDR": bad})); err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS_ADDR") {
			t.Errorf("PORTAL_METRICS_ADDR=%s: %v, want a refusal", bad, err)
		}
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "search.key")
	if err := os.WriteFile(file, []byte("s3cret-search-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"MEILI_SEARCH_KEY_FILE": file}))
	if err != nil || c.MeiliSearchKey != "s3cret-search-key" {
		t.Errorf("key = %q, err %v", c.MeiliSearchKey, err)
	}
	if _, err := Load(env(map[string]string{"MEILI_SEARCH_KEY_FILE": file, "MEILI_SEARCH_KEY": "x"})); err == nil {
		t.Error("both KEY and KEY_FILE accepted")
	}
}

// The serving process must never hold the master key (SECURITY.md MS-1).
func TestServeRefusesMasterKey(t *testing.T) {
	c, err := Load(env(map[string]string{
		"MEILI_URL": "http://127.0.0.1:7700", "MEILI_SEARCH_KEY": "k", "MEILI_INDEXING_KEY": "a", "MEILI_MASTER_KEY": "m",
		"PORTAL_SECRET_KEY": strings.Repeat("ab", 32), "PORTAL_SMTP_URL": "smtps://relay.example:465",
		"PORTAL_PUBLIC_URL": "https://portal.example",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "MEILI_MASTER_KEY") {
		t.Errorf("ValidateServe = %v, want a refusal of the master key", err)
	}
	c.MeiliMasterKey = ""
	if err := c.ValidateServe(); err != nil {
		t.Errorf("ValidateServe = %v", err)
	}
	// In production the links the portal mails need a relay and the public
	// origin; development may go without either.
	c.SMTPURL, c.PublicURL = "", ""
	if err := c.ValidateServe(); err == nil || !strings.Contains(err.Error(), "PORTAL_SMTP_URL") || !strings.Contains(err.Error(), "PORTAL_PUBLIC_URL") {
		t.Errorf("ValidateServe without relay and public URL = %v, want both refused", err)
	}
	c.Env = "development"
	if err := c.ValidateServe(); err != nil {
		t.Errorf("ValidateServe in development = %v", err)
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	a, err := LoadOrCreateSecret(path)
	if err != nil || len(a) != 64 {
		t.Fatalf("secret %q, err %v", a, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, err %v", info.Mode(), err)
	}
	b, err := LoadOrCreateSecret(path)
	if err != nil || a != b {
		t.Errorf("second load %q, want %q", b, a)
	}
}

func TestLogLinesAreJSONInUTC(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	c.NewLogger(&buf).Info("login failed", "email", "a@example.org\nFAKE LOG LINE")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("a newline in a value split the record: %q", buf.String())
	}
	var rec struct {
		Time string `json:"time"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	ts, err := time.Parse(time.RFC3339Nano, rec.Time)
	if err != nil || !strings.HasSuffix(rec.Time, "Z") || ts.Location() != time.UTC {
		t.Errorf("time %q is not RFC 3339 in UTC", rec.Time)
	}
}

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"80MiB", 80 << 20, true},
		{"1GiB", 1 << 30, true},
		{"65536KiB", 64 << 20, true},
		{"104857600", 100 << 20, true},
		{"104857600B", 100 << 20, true},
		{"off", 0, true},
		{"0", 0, true},
		{"16MiB", 0, false}, // below the minimum
		{"80MB", 0, false},  // GOMEMLIMIT's units are binary
		{"-5MiB", 0, false},
		{"MiB", 0, false},
		{"99999999TiB", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseMemoryLimit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	c, err := Load(env(nil))
	if err != nil || c.MemoryLimit != 0 {
		t.Errorf("default MemoryLimit = %d, %v; want 0 (none)", c.MemoryLimit, err)
	}
	if _, err := Load(env(map[string]string{"PORTAL_MEMORY_LIMIT": "lots"})); err == nil || !strings.Contains(err.Error(), "PORTAL_MEMORY_LIMIT") {
		t.Errorf("Load with a bad limit: %v", err)
	}
}

// A command reads only its own variables: one meant for `portal serve`,
// even an invalid one, neither stops `portal meili keys` nor reaches it.
func TestLoadForReadsOnlyTheCommandsVariables(t *testing.T) {
	e := env(map[string]string{"PORTAL_SESSION_IDLE": "2h", "PORTAL_DATA_DIR": "/elsewhere",
		"MEILI_URL": "http://127.0.0.1:7700", "MEILI_MASTER_KEY": "m"})
	if _, err := Load(e); err == nil {
		t.Fatal("Load accepted PORTAL_SESSION_IDLE=2h")
	}
	c, err := LoadFor("meili keys", e)
	if err != nil {
		t.Fatalf("LoadFor(meili keys) = %v", err)
	}
	if c.MeiliURL != "http://127.0.0.1:7700" || c.MeiliMasterKey != "m" || c.DataDir != "var" || c.SessionIdle != 30*time.Minute {
		t.Errorf("LoadFor(meili keys) = %+v; want the Meilisearch settings, and defaults for the rest", c)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = LoadFor("users list", env(map[string]string{"PORTAL_SECRET_KEY_FILE": file}))
	if err != nil || len(c.SecretKey) != 32 {
		t.Errorf("PORTAL_SECRET_KEY_FILE for users list: %d bytes, %v", len(c.SecretKey), err)
	}
}

func TestHelpListsTheCommandsVariables(t *testing.T) {
	h := Help("users reset-mfa", map[string]string{"PORTAL_LOG_FORMAT": "text on a terminal"})
	for _, want := range []string{"PORTAL_SMTP_URL (or PORTAL_SMTP_URL_FILE)", "PORTAL_DATA_DIR  [default var]", "PORTAL_LOG_FORMAT  [default text on a terminal]"} {
		if !strings.Contains(h, want) {
			t.Errorf("Help(users reset-mfa) lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "PORTAL_SESSION_IDLE") || strings.Contains(Help("users list", nil), "PORTAL_SMTP_URL") {
		t.Errorf("Help lists variables the command does not read:\n%s", h)
	}
	if h := Help("training lint", nil); h != "" {
		t.Errorf("Help(training lint) = %q, want nothing", h)
	}
	for _, o := range Options() {
		if len(o.Commands) == 0 {
			t.Errorf("%s is read by no command: name the commands that read it", o.Name)
		}
	}
}

func TestComplaintRetention(t *testing.T) {
	for v, want := range map[string]time.Duration{"12mo": 365 * 24 * time.Hour, "400d": 400 * 24 * time.Hour, "48h": 48 * time.Hour} {
		if got, err := parseRetention(v); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %s, %v; want %s", v, got, err, want)
		}
	}
	for _, v := range []string{"", "0mo", "-1d", "12", "1h", "twelve months"} {
		if got, err := parseRetention(v); err == nil {
			t.Errorf("parseRetention(%q) = %s, want a refusal", v, got)
		}
	}
}

// Load reads a variable only through the table: one it names in Config
// but that Options lacks is never read (PORTAL_RECEIPT_KEY once was lost
// so in a merge, and every instance made a receipt key of its own).
func TestEveryVariableLoadReadsIsInTheTable(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, o := range Options() {
		names[o.Name] = true
	}
	read := 0
	for _, m := range regexp.MustCompile(`vals\["([A-Z_]+)"\]`).FindAllStringSubmatch(string(src), -1) {
		read++
		if !names[m[1]] {
			t.Errorf("Load reads %s, which Options does not list: it is never set", m[1])
		}
	}
	if read < 20 {
		t.Fatalf("found %d variables read in config.go; the pattern no longer matches Load", read)
	}
	c, err := LoadFor("serve", env(map[string]string{"PORTAL_RECEIPT_KEY": strings.Repeat("ab", 32)}))
	if err != nil || c.ReceiptKey != strings.Repeat("ab", 32) {
		t.Errorf("serve's PORTAL_RECEIPT_KEY = %q, %v", c.ReceiptKey, err)
	}
}
