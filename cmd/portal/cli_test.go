package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"portal/config"
	"portal/store"
)

// runSplit runs a command line and returns its stdout and stderr apart,
// and the exit status main would give it.
func runSplit(t *testing.T, ctx context.Context, env map[string]string, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	code = exitCode(err, &errOut)
	return out.String(), errOut.String(), code, err
}

// extraArgs are what each command needs beyond its name to get past its
// flags, for the tests that run every command.
var extraArgs = map[string][]string{
	"training lint":      {"--root", filepath.Join("..", "..", "training", "lint", "testdata", "good")},
	"users create-admin": {"--email", "admin@example.org"},
	"users unlock":       {"--email", "member@example.org"},
	"users disable":      {"--email", "member@example.org"},
	"users enable":       {"--email", "member@example.org"},
	"users reset-mfa":    {"--email", "member@example.org"},
	"seed demo":          {"--research", "0"},
	"content lint":       {"--root", filepath.Join("..", "..", "claims", "testdata", "good")},
	"backup":             {"--to", filepath.Join(os.TempDir(), "portal-cli-test-backup-never-written")},
	"restore":            {"--from", filepath.Join(os.TempDir(), "portal-cli-test-no-backup"), "--data-dir", filepath.Join(os.TempDir(), "portal-cli-test-no-restore")},
	"migrate-store":      {"--from", "sqlite:" + filepath.Join(os.TempDir(), "portal-cli-test-no-db", "portal.db"), "--to", "postgres://127.0.0.1:1/none"},
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, flag := range []string{"--help", "-h"} {
			args := append(strings.Fields(c.name), flag)
			stdout, stderr, code, err := runSplit(t, t.Context(), nil, args...)
			if code != 0 || err != nil || stderr != "" {
				t.Errorf("portal %s: exit %d, err %v, stderr %q; want help on stdout and exit 0", strings.Join(args, " "), code, err, stderr)
			}
			if !strings.HasPrefix(stdout, "usage: portal "+c.name) || !strings.Contains(stdout, strings.TrimSpace(c.help)) {
				t.Errorf("portal %s printed:\n%s", strings.Join(args, " "), stdout)
			}
		}
		// "portal help users unlock" is "portal users unlock --help".
		want, _, _, _ := runSplit(t, t.Context(), nil, append(strings.Fields(c.name), "--help")...)
		got, _, code, _ := runSplit(t, t.Context(), nil, append([]string{"help"}, strings.Fields(c.name)...)...)
		if got != want || code != 0 {
			t.Errorf("portal help %s: exit %d, printed\n%s\nwant\n%s", c.name, code, got, want)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"users", "--help"}, {"help", "users"}, {"audit", "-h"}} {
		stdout, stderr, code, _ := runSplit(t, t.Context(), nil, args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: portal") {
			t.Errorf("portal %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	stdout, _, _, _ := runSplit(t, t.Context(), nil, "help")
	for _, c := range commands() {
		if !strings.Contains(stdout, "  "+c.name+" ") {
			t.Errorf("portal help does not list %q:\n%s", c.name, stdout)
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	type tc struct {
		args []string
		want string // in stderr
	}
	cases := []tc{
		{nil, "no command given"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"users"}, "users: missing command"},
		{[]string{"users", "frob"}, `unknown command "users frob"`},
		{[]string{"help", "frob"}, `unknown command "frob"`},
		{[]string{"users", "unlock"}, "--email is required"},
		{[]string{"users", "create-admin"}, "--email is required"},
		{[]string{"users", "disable", "--email", "not an address"}, "--email"},
		{[]string{"training", "lint", "extra"}, `unexpected argument "extra"`},
		{[]string{"seed", "demo", "--research", "many"}, "invalid value"},
	}
	for _, c := range commands() {
		cases = append(cases, tc{append(strings.Fields(c.name), "--no-such-flag"), "flag provided but not defined: -no-such-flag"})
	}
	for _, c := range cases {
		stdout, stderr, code, err := runSplit(t, t.Context(), nil, c.args...)
		if _, ok := errors.AsType[*usageError](err); !ok || code != 2 {
			t.Errorf("portal %s: exit %d, err %v; want a usage error, exit 2", strings.Join(c.args, " "), code, err)
		}
		if stdout != "" || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "usage: portal") {
			t.Errorf("portal %s: stdout %q, stderr:\n%s\nwant %q and the usage on stderr", strings.Join(c.args, " "), stdout, stderr, c.want)
		}
	}
}

// helpVariables returns the variables a command's help lists.
func helpVariables(t *testing.T, name string) []string {
	t.Helper()
	stdout, _, _, _ := runSplit(t, t.Context(), nil, append(strings.Fields(name), "--help")...)
	_, env, _ := strings.Cut(stdout, "\nEnvironment:\n")
	var names []string
	for line := range strings.Lines(env) {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") {
			names = append(names, strings.Fields(line)[0])
		}
	}
	return names
}

// Every variable a command reads is in its help: each command runs, with
// the environment a working portal would have, far enough to read its
// configuration, and every variable it asks for is recorded.
func TestEveryVariableACommandReadsIsInItsHelp(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // each command stops at its first use of the context
	for _, c := range commands() {
		dir := t.TempDir()
		env := map[string]string{
			"PORTAL_DATA_DIR": filepath.Join(dir, "data"), "PORTAL_SITE_DIR": filepath.Join(dir, "site"),
			"PORTAL_MEMBERS_SITE_DIR": filepath.Join(dir, "members"), "PORTAL_SECRET_KEY": strings.Repeat("ab", 32),
			"MEILI_URL": "http://127.0.0.1:1", "MEILI_SEARCH_KEY": "search", "MEILI_INDEXING_KEY": "indexing", "MEILI_ADMIN_KEY": "admin",
		}
		read := map[string]bool{}
		getenv := func(k string) string { read[k] = true; return env[k] }
		var out, errOut bytes.Buffer
		err := run(ctx, append(strings.Fields(c.name), extraArgs[c.name]...), getenv, &out, &errOut)
		if _, ok := errors.AsType[*usageError](err); ok {
			t.Fatalf("portal %s: %v", c.name, err)
		}
		listed := helpVariables(t, c.name)
		for k := range read {
			if !slices.Contains(listed, k) && !slices.Contains(listed, strings.TrimSuffix(k, "_FILE")) {
				t.Errorf("portal %s reads %s, which its help does not list (it lists %v)", c.name, k, listed)
			}
		}
	}
	if vars := helpVariables(t, "meili keys"); !slices.Equal(vars, []string{"MEILI_URL", "MEILI_MASTER_KEY"}) {
		t.Errorf("meili keys --help lists %v", vars)
	}
	for _, want := range []string{"PORTAL_DATA_DIR", "PORTAL_SECRET_KEY", "PORTAL_LOG_FORMAT"} {
		if !slices.Contains(helpVariables(t, "audit verify"), want) {
			t.Errorf("audit verify --help does not list %s", want)
		}
	}
	if vars := helpVariables(t, "version"); len(vars) != 0 {
		t.Errorf("version --help lists %v", vars)
	}
}

// A command reads only the variables its help lists: a setting meant for
// another command, even an invalid one, does not stop it.
func TestCommandsIgnoreOtherCommandsSettings(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": strings.Repeat("ab", 32),
		"PORTAL_SESSION_IDLE": "2h", "MEILI_URL": "not a URL", "PORTAL_TRUSTED_PROXIES": "nonsense"}
	if out, err := runCmd(t, env, "users", "create-admin", "--email", "admin@example.org"); err != nil {
		t.Errorf("create-admin with settings of serve: %v\n%s", err, out)
	}
	if out, err := runCmd(t, env, "audit", "verify"); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify with settings of serve: %v\n%s", err, out)
	}
}

func TestDefaultsInHelpAreTheCommandsOwn(t *testing.T) {
	dev, _, _, _ := runSplit(t, t.Context(), nil, "dev", "--help")
	root := "<repository>"
	for name, want := range devDefaults(root) {
		if !strings.Contains(dev, "  "+name+"  [default "+want+"]") {
			t.Errorf("dev --help does not show %s's default %q:\n%s", name, want, dev)
		}
	}
	serve, _, _, _ := runSplit(t, t.Context(), nil, "serve", "--help")
	for _, want := range []string{"PORTAL_ENV  [default production]", "PORTAL_LOG_FORMAT  [default json]", "PORTAL_DATA_DIR  [default var]"} {
		if !strings.Contains(serve, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	verify, _, _, _ := runSplit(t, t.Context(), nil, "audit", "verify", "--help")
	if !strings.Contains(verify, "PORTAL_LOG_FORMAT  [default text on a terminal, json otherwise]") {
		t.Errorf("audit verify --help does not show the one-off log default:\n%s", verify)
	}
	// The one-off commands log JSON when stderr is not a terminal.
	cfg, err := loadOneOff("audit verify", func(string) string { return "" }, &bytes.Buffer{})
	if err != nil || cfg.LogFormat != "json" {
		t.Errorf("one-off log format to a buffer = %q, %v; want json", cfg.LogFormat, err)
	}
	cfg, err = loadOneOff("audit verify", func(k string) string { return map[string]string{"PORTAL_LOG_FORMAT": "text"}[k] }, &bytes.Buffer{})
	if err != nil || cfg.LogFormat != "text" {
		t.Errorf("PORTAL_LOG_FORMAT=text gave %q, %v", cfg.LogFormat, err)
	}
}

// Every command the table in config names exists.
func TestConfigNamesRealCommands(t *testing.T) {
	for _, o := range config.Options() {
		for _, name := range o.Commands {
			if !slices.ContainsFunc(commands(), func(c command) bool { return c.name == name || strings.HasPrefix(c.name, name+" ") }) {
				t.Errorf("config: %s is read by %q, which is no command", o.Name, name)
			}
		}
	}
}

// Commands that read the portal's state refuse a data directory without a
// database, and create nothing there.
func TestMissingDatabaseRefused(t *testing.T) {
	for _, env := range []map[string]string{
		{"PORTAL_SECRET_KEY": strings.Repeat("ab", 32)},
		{"PORTAL_ENV": "development"}, // would otherwise create a secret key there
	} {
		for _, args := range [][]string{{"audit", "verify"}, {"audit", "anchor"}, {"reindex"}, {"users", "list"}, {"users", "unlock", "--email", "a@example.org"},
			{"users", "reset-mfa", "--email", "a@example.org"}} {
			dir := filepath.Join(t.TempDir(), "mistyped")
			env["PORTAL_DATA_DIR"] = dir
			_, stderr, code, err := runSplit(t, t.Context(), env, args...)
			if !errors.Is(err, store.ErrNoDatabase) || code != 1 || !strings.Contains(stderr, "PORTAL_DATA_DIR") {
				t.Errorf("portal %s in an empty directory: exit %d, err %v; want ErrNoDatabase and exit 1", strings.Join(args, " "), code, err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("portal %s created %s", strings.Join(args, " "), dir)
			}
		}
	}
}

func TestDescribeBuild(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Path: "portal", Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-04T11:50:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	got := describeBuild(info, true)
	for _, want := range []string{"portal v1.4.0\n", "commit 0123456789abcdef0123456789abcdef01234567 (with uncommitted changes)\n",
		"time   2026-12-04T11:50:00Z\n", "go     go1."} {
		if !strings.Contains(got, want) {
			t.Errorf("describeBuild = %q, want %q in it", got, want)
		}
	}
	if got := describeBuild(nil, false); !strings.HasPrefix(got, "portal (unknown)\ngo ") {
		t.Errorf("without build information: %q", got)
	}
}

// The built binary's exit statuses: 0 for help and version, 2 for a
// mistake in the command line (usage on stderr), 1 for a failure.
func TestBinaryExitStatus(t *testing.T) {
	bin := portalBinary(t)
	missing := filepath.Join(t.TempDir(), "mistyped")
	cases := []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{[]string{"--help"}, 0, "usage: portal <command>", ""},
		{[]string{"help", "users"}, 0, "users reset-mfa", ""},
		{[]string{"serve", "--help"}, 0, "usage: portal serve", ""},
		{[]string{"users", "reset-mfa", "--help"}, 0, "PORTAL_SMTP_URL", ""},
		{[]string{"version"}, 0, "portal ", ""},
		{[]string{"--version"}, 0, "\ngo     go1.", ""},
		{nil, 2, "", "usage: portal <command>"},
		{[]string{"frob"}, 2, "", `unknown command "frob"`},
		{[]string{"serve", "--bogus"}, 2, "", "usage: portal serve"},
		{[]string{"users", "unlock"}, 2, "", "--email is required"},
		{[]string{"audit", "verify"}, 1, "", "no database at " + filepath.Join(missing, "portal.db")},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PORTAL_DATA_DIR=" + missing, "PORTAL_SECRET_KEY=" + strings.Repeat("ab", 32)}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != c.code {
			t.Errorf("portal %s: exit %d, want %d\nstderr: %s", strings.Join(c.args, " "), code, c.code, errOut.String())
		}
		if !strings.Contains(out.String(), c.stdout) || (c.stdout == "" && out.Len() > 0) {
			t.Errorf("portal %s: stdout %q, want %q in it", strings.Join(c.args, " "), out.String(), c.stdout)
		}
		if !strings.Contains(errOut.String(), c.errs) || (c.errs == "" && errOut.Len() > 0) {
			t.Errorf("portal %s: stderr %q, want %q in it", strings.Join(c.args, " "), errOut.String(), c.errs)
		}
	}
}
