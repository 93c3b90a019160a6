package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"portal/account"
	"portal/audit"
	"portal/mail/mailpit"
	"portal/portaltest"
	"portal/research"
	"portal/search"
	"portal/search/meilitest"
	"portal/store/storetest"
)

// These tests run the portal binary as an operator would: `portal serve`
// against a real Meilisearch and a SQLite file, stopped with SIGTERM.

var binary struct {
	once sync.Once
	path string
	err  error
}

// portalBinary builds the portal once per test binary.
func portalBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "portal-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "portal")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	portaltest.RemoveSite()
	os.Exit(code)
}

// served is a running `portal serve`.
type served struct {
	cmd        *exec.Cmd
	URL        string
	MetricsURL string
	Meili      *meilitest.Instance
	Mailpit    *mailpit.Process
	DataDir    string
	Member     portaltest.User
	logs       *portaltest.LogBuffer
	exited     chan error
}

// mailEnv adds what `portal serve` needs in production to mail its links:
// a relay (on loopback, where nothing answers: the callers read no mail)
// and the public origin the links point at.
func mailEnv(env map[string]string) map[string]string {
	env["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"
	env["PORTAL_PUBLIC_URL"] = "https://portal.example"
	return env
}

// startServe prepares a data directory with one member, a Meilisearch with
// the portal's keys and the site indexed, and a Mailpit relay, and starts
// `portal serve` on free ports with the metrics listener on.
func startServe(t *testing.T) *served {
	t.Helper()
	bin := portalBinary(t)
	siteDir, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{Meili: meilitest.Start(t), DataDir: t.TempDir(), logs: &portaltest.LogBuffer{}, exited: make(chan error, 1)}
	ctx := t.Context()
	keys := testKeys(t, s.Meili)
	pages, err := search.ReadFeeds(siteDir)
	if err != nil {
		t.Fatal(err)
	}
	// As `portal index site` does before serve runs: serve's own key
	// cannot make an index.
	ix := search.NewIndexer(search.NewClient(s.Meili.URL, keys.admin), nil)
	if err := ix.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ix.IndexSite(ctx, pages); err != nil {
		t.Fatal(err)
	}

	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i + 1)
	}
	s.Member = seedMember(t, s.DataDir, secret)
	mailpitBin, err := mailpit.FindBinary()
	if err != nil {
		t.Fatal(err)
	}
	if s.Mailpit, err = mailpit.Start(ctx, mailpit.Options{Binary: mailpitBin, DataDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Mailpit.Stop() })

	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"PORTAL_ADDR=127.0.0.1:0",
		"PORTAL_METRICS_ADDR=127.0.0.1:0",
		"PORTAL_DATA_DIR=" + s.DataDir,
		"PORTAL_SITE_DIR=" + siteDir,
		"PORTAL_SECRET_KEY=" + hex.EncodeToString(secret),
		"PORTAL_LOG_LEVEL=debug",
		"PORTAL_SMTP_URL=" + s.Mailpit.SMTPURL,
		"PORTAL_PUBLIC_URL=https://portal.example",
		"PORTAL_MAIL_FROM=portal@example.org",
		"MEILI_URL=" + s.Meili.URL,
		"MEILI_SEARCH_KEY=" + keys.search,
		"MEILI_INDEXING_KEY=" + keys.indexing,
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	go func() {
		// Read the JSON log lines, keeping them for failures, and pick up
		// the addresses the listeners got.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.logs.Write(append(line, '\n'))
			var l struct{ Msg, URL string }
			if json.Unmarshal(line, &l) != nil {
				continue
			}
			switch l.Msg {
			case "metrics listening":
				s.MetricsURL = l.URL
			case "portal listening":
				s.URL = l.URL
				close(listening)
			}
		}
		io.Copy(io.Discard, stderr)
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("portal logs:\n%s", s.logs.String())
		}
	})
	select {
	case <-listening:
	case err := <-s.exited:
		t.Fatalf("portal serve exited at start: %v\n%s", err, s.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("portal serve did not start:\n%s", s.logs.String())
	}
	return s
}

// seedMember creates an enrolled member in the data directory's database,
// as `portal users` and an invitation would, before the server opens it.
func seedMember(t *testing.T, dataDir string, secret []byte) portaltest.User {
	t.Helper()
	return seedMemberAt(t, filepath.Join(dataDir, "portal.db"), secret)
}

// seedMemberAt is seedMember on the database at loc, a SQLite path or a
// PostgreSQL URL.
func seedMemberAt(t *testing.T, loc string, secret []byte) portaltest.User {
	t.Helper()
	db, err := storetest.OpenAt(t.Context(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.New(db, time.Now).WithKey(audit.ChainKey(secret))
	accounts, err := account.New(db, log, account.Options{SecretKey: secret, Argon2: portaltest.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	const password = "velvet quarry lantern harbour"
	u, totp, err := accounts.SeedUser(t.Context(), "member@test.invalid", "Test Member", account.RoleMember, []string{"members"}, password)
	if err != nil {
		t.Fatal(err)
	}
	return portaltest.User{User: u, Password: password, TOTPSecret: totp}
}

// stop sends SIGTERM and waits for the process to end.
func (s *served) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("portal serve after SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("portal serve did not stop within a minute of SIGTERM")
	}
}

// Every member search answered before SIGTERM is in the audit log after
// the process has stopped, although searches are written in the background
// in batches: the shutdown drains the listener, then flushes the writer,
// then closes the database. The chain still verifies.
func TestServeKeepsEveryAuditEntryAcrossSIGTERM(t *testing.T) {
	s := startServe(t)
	c := portaltest.NewClientAt(t, s.URL)
	c.Login(s.Member.Email, s.Member.Password, s.Member.TOTPSecret, time.Now())
	const searches = 60
	for i := range searches {
		c.JSON("GET", fmt.Sprintf("/api/search?q=notice+%d", i), nil, http.StatusOK, nil)
	}
	// No pause: the last batch is still queued when the signal arrives.
	s.stop(t)

	db, err := sql.Open("sqlite", filepath.Join(s.DataDir, "portal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = ? AND actor = ?`,
		research.ActionSearch, s.Member.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != searches {
		t.Errorf("%d member searches in the audit log after SIGTERM, want %d", n, searches)
	}
	verify := exec.Command(portalBinary(t), "audit", "verify")
	verify.Env = s.cmd.Env
	if out, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(out), "intact") {
		t.Errorf("audit verify after SIGTERM: %v\n%s", err, out)
	}
	for _, want := range []string{"stopping", "stopped portal listener", "stopped API server and audit writer", "stopped database"} {
		if !strings.Contains(s.logs.String(), `"msg":"`+want) {
			t.Errorf("shutdown log lacks %q", want)
		}
	}
	// The log carries the audit head, at start and, last, once the queue is
	// written: a copy kept off the machine that verify checks against.
	heads := map[string]string{}
	for line := range strings.Lines(s.logs.String()) {
		var l struct {
			Msg, Reason, MAC string
			ID               int64
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "audit head" {
			heads[l.Reason] = strconv.FormatInt(l.ID, 10) + ":" + l.MAC
		}
	}
	var last int64
	if err := db.QueryRow(`SELECT max(id) FROM audit_log`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if heads["start"] == "" || !strings.HasPrefix(heads["shutdown"], strconv.FormatInt(last, 10)+":") {
		t.Fatalf("audit heads in the log %v; want one at start and the last entry, %d, at shutdown", heads, last)
	}
	verify = exec.Command(portalBinary(t), "audit", "verify", "--expect-head", heads["shutdown"])
	verify.Env = s.cmd.Env
	if out, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(out), "expected head") {
		t.Errorf("audit verify --expect-head with the head from the log: %v\n%s", err, out)
	}
}

// scrape reads the metrics listener and parses the exposition with
// Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value sums the samples of family whose labels include want.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The metrics listener: every series named in the issue is there, the
// counters move with requests, labels hold route templates and never a
// path, a user or a query; the public listener serves neither metrics nor
// profiles. The health probes follow Meilisearch down and up, and the
// outage shows in the metrics.
func TestServeMetricsAndProbes(t *testing.T) {
	s := startServe(t)
	if s.MetricsURL == "" {
		t.Fatal("no metrics listener")
	}
	before := scrape(t, s.MetricsURL)
	if bi := before["portal_build_info"]; bi != nil {
		if v := value(before, "portal_build_info", nil); v != 1 {
			t.Errorf("portal_build_info = %v, want 1", v)
		}
		labels := map[string]string{}
		for _, l := range bi.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] == "" || labels["revision"] == "" {
			t.Errorf("portal_build_info labels %v, want version and revision", labels)
		}
	}

	// Requests of every kind, with a query text and a record id that must
	// not reach any label.
	const secretQuery, docID = "zebrafinch", "0123456789abcdef0123456789abcdef"
	for range 3 {
		if code, body := get(t, s.URL+"/api/search?q="+secretQuery); code != http.StatusOK {
			t.Fatalf("public search: %d %s", code, body)
		}
	}
	anon := portaltest.NewClientAt(t, s.URL)
	anon.RefreshCSRF()
	if resp, _ := anon.Do("POST", "/api/session", map[string]string{"email": s.Member.Email, "password": "not the password at all"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.StatusCode)
	}
	c := portaltest.NewClientAt(t, s.URL)
	c.Login(s.Member.Email, s.Member.Password, s.Member.TOTPSecret, time.Now())
	c.JSON("GET", "/api/search?q="+secretQuery, nil, http.StatusOK, nil)
	c.JSON("GET", "/api/search?scope=research&q="+secretQuery, nil, http.StatusOK, nil)
	if resp, _ := c.Do("GET", "/api/research/"+docID, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown record: %d, want 404", resp.StatusCode)
	}
	// A password change mails the member through the outbox and Mailpit.
	c.JSON("POST", "/api/me/password", map[string]string{"currentPassword": s.Member.Password, "newPassword": s.Member.Password + " renewed"}, http.StatusNoContent, nil)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := s.Mailpit.Messages(t.Context(), s.Member.Email)
		if err != nil {
			t.Fatal(err)
		}
		// The counter moves just after the relay accepts the message.
		sent := value(scrape(t, s.MetricsURL), "portal_mail_attempts_total", map[string]string{"outcome": "sent"})
		if len(got) > 0 && sent > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the password-change notice did not reach Mailpit within 15 s")
		}
	}

	// Meilisearch's version, which public health no longer shows, is a
	// series for the operators.
	if code, body := get(t, s.URL+"/api/health/ready"); code != http.StatusOK {
		t.Errorf("ready: %d %s", code, body)
	}

	after := scrape(t, s.MetricsURL)
	if v := value(after, "portal_meilisearch_info", map[string]string{"version": "1.21.0", "outdated": "true"}); v != 1 {
		t.Errorf(`portal_meilisearch_info{version="1.21.0",outdated="true"} = %v, want 1`, v)
	}
	moved := []struct {
		name   string
		labels map[string]string
		least  float64
	}{
		{"portal_http_request_duration_seconds", map[string]string{"route": "/api/search", "status": "200", "method": "GET"}, 5},
		{"portal_http_request_duration_seconds", map[string]string{"route": "/api/research/:id", "status": "404"}, 1},
		{"portal_search_duration_seconds", map[string]string{"kind": "public"}, 3},
		{"portal_search_duration_seconds", map[string]string{"kind": "member"}, 1},
		{"portal_search_duration_seconds", map[string]string{"kind": "research"}, 1},
		{"portal_login_failures_total", nil, 1},
		{"portal_mail_attempts_total", map[string]string{"outcome": "sent"}, 1},
	}
	for _, m := range moved {
		if d := value(after, m.name, m.labels) - value(before, m.name, m.labels); d < m.least {
			t.Errorf("%s%v moved by %v, want at least %v", m.name, m.labels, d, m.least)
		}
	}
	for _, name := range []string{
		"portal_http_request_duration_seconds", "portal_search_duration_seconds",
		"portal_meilisearch_errors_total", "portal_meilisearch_up",
		"portal_audit_queue_depth", "portal_audit_write_failures_total",
		"portal_login_failures_total", "portal_account_locks_total",
		"portal_index_pushes_pending", "portal_index_push_failures_total", "portal_purged_rows_total",
		"portal_mail_queued", "portal_mail_attempts_total",
		"portal_db_connections_open", "portal_db_connections_in_use", "portal_db_waits_total",
		"portal_db_wait_seconds_total", "portal_build_info",
		"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_open_fds",
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	// Bounded labels: nothing of a request but its route template.
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "path", "url", "user", "email", "ip", "q", "query":
					t.Errorf("%s has label %s=%q", name, l.GetName(), l.GetValue())
				}
				if v := l.GetValue(); strings.Contains(v, secretQuery) || strings.Contains(v, docID) || strings.Contains(v, s.Member.ID) {
					t.Errorf("%s label %s=%q holds request data", name, l.GetName(), v)
				}
			}
		}
	}

	// pprof on the metrics listener; neither on the public one.
	if code, body := get(t, s.MetricsURL+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof on the metrics listener: %d", code)
	}
	if code, _ := get(t, s.MetricsURL+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Errorf("goroutine profile on the metrics listener: %d", code)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		if code, body := get(t, s.URL+path); code != http.StatusNotFound || strings.Contains(body, "portal_http_request") || strings.Contains(body, "goroutine profile") {
			t.Errorf("public listener %s: %d, want 404 without metrics or profiles", path, code)
		}
	}

	// Health: live whatever Meilisearch does; ready follows it.
	probe := func(path string, want int) {
		t.Helper()
		start := time.Now()
		if code, body := get(t, s.URL+path); code != want {
			t.Errorf("%s = %d %s, want %d", path, code, body, want)
		}
		if took := time.Since(start); took > 1500*time.Millisecond {
			t.Errorf("%s took %v", path, took)
		}
	}
	probe("/api/health/live", http.StatusOK)
	probe("/api/health/ready", http.StatusOK)
	s.Meili.Process.Kill()
	probe("/api/health/live", http.StatusOK)
	probe("/api/health/ready", http.StatusServiceUnavailable)
	probe("/api/health", http.StatusServiceUnavailable)
	down := scrape(t, s.MetricsURL)
	if v := value(down, "portal_meilisearch_up", nil); v != 0 {
		t.Errorf("portal_meilisearch_up with Meilisearch down = %v, want 0", v)
	}
	if d := value(down, "portal_meilisearch_errors_total", map[string]string{"reason": "unavailable"}) -
		value(after, "portal_meilisearch_errors_total", map[string]string{"reason": "unavailable"}); d < 1 {
		t.Errorf("Meilisearch outage not counted (moved by %v)", d)
	}
	// An upload while Meilisearch is down is kept, pending: the failed
	// push and the backlog show.
	meta := map[string]any{
		"title": "Synthetic outage record", "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record for tests.", "year": 2020, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": []string{"members"}, "tlp": "TLP:GREEN",
	}
	if resp, body := c.Upload("POST", "/api/research", meta, "outage.txt", []byte("Synthetic text written during an outage.")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload during the outage: %d %s", resp.StatusCode, body)
	}
	pending := scrape(t, s.MetricsURL)
	if v := value(pending, "portal_index_pushes_pending", nil); v != 1 {
		t.Errorf("portal_index_pushes_pending after an upload during the outage = %v, want 1", v)
	}
	if d := value(pending, "portal_index_push_failures_total", nil) - value(down, "portal_index_push_failures_total", nil); d < 1 {
		t.Errorf("failed push not counted (moved by %v)", d)
	}

	if err := s.Meili.Restart(); err != nil {
		t.Fatal(err)
	}
	probe("/api/health/ready", http.StatusOK)
	if v := value(scrape(t, s.MetricsURL), "portal_meilisearch_up", nil); v != 1 {
		t.Errorf("portal_meilisearch_up after Meilisearch is back = %v, want 1", v)
	}
	s.stop(t)
}

// portal meili keys provisions the three keys; portal serve refuses, before
// it listens, an indexing key that may do more than add and delete research
// documents (the admin key here), and a search key that may do more than
// search.
func TestServeRefusesOverPrivilegedKeys(t *testing.T) {
	bin := portalBinary(t)
	m := meilitest.Start(t)
	// portal meili keys prints the three keys, each with exactly its rights.
	out, err := runBin(t, bin, map[string]string{"MEILI_URL": m.URL, "MEILI_MASTER_KEY": m.MasterKey}, "meili", "keys")
	if err != nil {
		t.Fatalf("portal meili keys: %v\n%s", err, out)
	}
	printed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, _ := strings.Cut(line, "=")
		printed[name] = value
	}
	keys := testKeys(t, m)
	for name, want := range map[string]string{"MEILI_SEARCH_KEY": keys.search, "MEILI_INDEXING_KEY": keys.indexing, "MEILI_ADMIN_KEY": keys.admin} {
		if printed[name] == "" || printed[name] != want {
			t.Errorf("portal meili keys printed %s=%q, want the provisioned key", name, printed[name])
		}
	}
	for name, spec := range map[string]search.KeySpec{"MEILI_SEARCH_KEY": search.SearchKey(), "MEILI_INDEXING_KEY": search.IndexingKey(), "MEILI_ADMIN_KEY": search.AdminKey()} {
		if err := search.CheckKey(t.Context(), m.URL, printed[name], spec); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := search.NewIndexer(search.NewClient(m.URL, keys.admin), nil).EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The serving key cannot delete an index.
	if _, err := search.NewClient(m.URL, printed["MEILI_INDEXING_KEY"]).DeleteIndex(t.Context(), search.IndexResearch); err == nil ||
		!strings.Contains(err.Error(), "invalid_api_key") {
		t.Errorf("indexing key deleting the research index: %v, want invalid_api_key", err)
	}
	secret := strings.Repeat("ab", 32)
	for _, c := range []struct {
		name, search, indexing, want string
	}{
		{"admin key as indexing key", keys.search, keys.admin, "MEILI_INDEXING_KEY"},
		{"indexing key as search key", keys.indexing, keys.indexing, "MEILI_SEARCH_KEY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve")
			cmd.Env = envList(mailEnv(map[string]string{"PORTAL_ADDR": "127.0.0.1:0", "PORTAL_DATA_DIR": t.TempDir(),
				"PORTAL_SECRET_KEY": secret, "PORTAL_SITE_DIR": t.TempDir(), "PORTAL_LOG_FORMAT": "text",
				"MEILI_URL": m.URL, "MEILI_SEARCH_KEY": c.search, "MEILI_INDEXING_KEY": c.indexing}))
			out, err := cmd.CombinedOutput()
			if err == nil || ctx.Err() != nil {
				t.Fatalf("portal serve: %v (context %v), want a refusal\n%s", err, ctx.Err(), out)
			}
			if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "may also") ||
				strings.Contains(string(out), "listening") {
				t.Errorf("portal serve output does not refuse %s before listening:\n%s", c.want, out)
			}
		})
	}
}

// A Meilisearch that is down when portal serve starts does not let a key
// with too many rights through: serve starts, checks the keys again until
// Meilisearch answers, and then stops.
func TestServeChecksKeysOnceMeilisearchAnswers(t *testing.T) {
	bin := portalBinary(t)
	m := meilitest.Start(t)
	keys := testKeys(t, m)
	if err := m.Process.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = envList(mailEnv(map[string]string{"PORTAL_ADDR": "127.0.0.1:0", "PORTAL_DATA_DIR": t.TempDir(),
		"PORTAL_SECRET_KEY": strings.Repeat("ab", 32), "PORTAL_SITE_DIR": t.TempDir(),
		"MEILI_URL": m.URL, "MEILI_SEARCH_KEY": keys.search, "MEILI_INDEXING_KEY": keys.admin}))
	logs := &portaltest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for !strings.Contains(logs.String(), "portal listening") {
		select {
		case err := <-exited:
			t.Fatalf("portal serve exited while Meilisearch was down: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !strings.Contains(logs.String(), "its keys are checked when it answers") {
		t.Errorf("portal serve did not say that it will check its keys later:\n%s", logs.String())
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err == nil || ctx.Err() != nil || !strings.Contains(logs.String(), "MEILI_INDEXING_KEY") ||
			!strings.Contains(logs.String(), "may also") {
			t.Errorf("portal serve after Meilisearch came back: %v, want a refusal of the indexing key\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("portal serve still running a minute after Meilisearch came back\n%s", logs.String())
	}
}
