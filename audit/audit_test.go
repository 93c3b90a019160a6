package audit_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/audit"
	"portal/store"
	"portal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// newLog returns a log with n entries, one second apart, and the database
// for tampering.
func newLog(t *testing.T, n int) (*audit.Log, *fakeClock, *store.DB) {
	t.Helper()
	db := storetest.Open(t)
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)}
	log := audit.New(db, clock.now)
	for i := range n {
		clock.t = clock.t.Add(time.Second)
		e := audit.Entry{Actor: "u" + string(rune('a'+i%3)), ActorEmail: "a@example.org", Action: audit.ActionLoginPassword,
			Target: "t", IP: "192.0.2.1", Outcome: audit.OutcomeSuccess, Detail: "line\nbreak and \"quotes\""}
		if i%4 == 3 {
			e.Action, e.Outcome = audit.ActionLoginFailure, audit.OutcomeFailure
		}
		if err := log.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return log, clock, db
}

// tamper runs statements directly on the database, as an attacker with
// the file (or the PostgreSQL owner's rights) would, after dropping the
// append-only triggers.
func tamper(t *testing.T, db *store.DB, stmts ...string) {
	t.Helper()
	drop := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if db.Engine() == store.Postgres {
		drop = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
	}
	for _, s := range append(drop, stmts...) {
		if err := db.ExecRaw(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyIntact(t *testing.T) {
	log, _, _ := newLog(t, 10)
	got, err := log.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !got.OK() || got.Entries != 10 || got.Head == "" {
		t.Errorf("Verify = %+v, want 10 good entries and a head hash", got)
	}
}

func TestVerifyEmpty(t *testing.T) {
	log, _, _ := newLog(t, 0)
	got, err := log.Verify(context.Background())
	if err != nil || !got.OK() || got.Entries != 0 {
		t.Errorf("Verify of an empty log = %+v, %v", got, err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	// The forged row for the insert case links correctly to entry 3, as a
	// careful attacker would make it; the break shows at the row after it.
	forged := func(t *testing.T, log *audit.Log) string {
		var prev audit.Entry
		entries, _, err := log.List(context.Background(), audit.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.ID == 3 {
				prev = e
			}
		}
		e := audit.Entry{ID: 4, Time: prev.Time.Add(time.Millisecond), Actor: "intruder", Action: "user.update",
			Outcome: audit.OutcomeSuccess, PrevHash: prev.Hash}
		e.Hash = audit.Hash(e)
		return `INSERT INTO audit_log VALUES (4, '` + e.Time.Format(audit.TimeFormat) + `', 'intruder', '', 'user.update', '', '', 'success', '', '` + e.PrevHash + `', '` + e.Hash + `')`
	}
	tests := []struct {
		name     string
		stmts    func(t *testing.T, log *audit.Log) []string
		firstBad int64
		reason   string
	}{
		{"edited detail", func(*testing.T, *audit.Log) []string {
			return []string{`UPDATE audit_log SET detail = 'nothing to see' WHERE id = 5`}
		}, 5, "hash"},
		{"edited outcome", func(*testing.T, *audit.Log) []string {
			return []string{`UPDATE audit_log SET outcome = 'success' WHERE id = 4`}
		}, 4, "hash"},
		{"edited hash too", func(*testing.T, *audit.Log) []string {
			return []string{`UPDATE audit_log SET actor = 'x', hash = '` + strings.Repeat("a", 64) + `' WHERE id = 6`}
		}, 6, "hash"},
		{"deleted row", func(*testing.T, *audit.Log) []string {
			return []string{`DELETE FROM audit_log WHERE id = 7`}
		}, 8, "expected id 7"},
		{"deleted first row", func(*testing.T, *audit.Log) []string {
			return []string{`DELETE FROM audit_log WHERE id = 1`}
		}, 2, "expected id 1"},
		{"inserted row", func(t *testing.T, log *audit.Log) []string {
			return []string{
				`UPDATE audit_log SET id = id + 1000 WHERE id > 3`,
				`UPDATE audit_log SET id = id - 999 WHERE id > 1000`,
				forged(t, log),
			}
		}, 5, "prev_hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, _, db := newLog(t, 10)
			tamper(t, db, tc.stmts(t, log)...)
			got, err := log.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.FirstBad != tc.firstBad || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("Verify = %+v, want first bad id %d with a reason about %q", got, tc.firstBad, tc.reason)
			}
		})
	}
}

func TestList(t *testing.T) {
	log, clock, _ := newLog(t, 12)
	ctx := context.Background()
	start := clock.t.Add(-12 * time.Second) // time of no entry: before the first
	tests := []struct {
		name      string
		f         audit.Filter
		wantLen   int
		wantTotal int
		firstID   int64
	}{
		{"all", audit.Filter{}, 12, 12, 12},
		{"page", audit.Filter{Limit: 5, Offset: 5}, 5, 12, 7},
		{"action", audit.Filter{Action: audit.ActionLoginFailure}, 3, 3, 12},
		{"actor id", audit.Filter{Actor: "ua"}, 4, 4, 10},
		{"actor email", audit.Filter{Actor: "A@example.org"}, 12, 12, 12},
		{"since", audit.Filter{Since: start.Add(10 * time.Second)}, 3, 3, 12},
		{"until", audit.Filter{Until: start.Add(3 * time.Second)}, 2, 2, 2},
		{"nothing", audit.Filter{Action: "nope"}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := log.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.wantLen || total != tc.wantTotal {
				t.Fatalf("List(%+v) gave %d entries of %d, want %d of %d", tc.f, len(got), total, tc.wantLen, tc.wantTotal)
			}
			if len(got) > 0 && got[0].ID != tc.firstID {
				t.Errorf("first entry id = %d, want %d (newest first)", got[0].ID, tc.firstID)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	log, clock, _ := newLog(t, 1)
	got, _, err := log.List(context.Background(), audit.Filter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %v, %v", got, err)
	}
	e := got[0]
	if !e.Time.Equal(clock.t) || e.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", e.Time, clock.t)
	}
	if e.PrevHash != audit.Genesis || e.Hash != audit.Hash(e) || len(e.Hash) != 64 {
		t.Errorf("chain fields: prev %q hash %q", e.PrevHash, e.Hash)
	}
	if e.Detail != "line\nbreak and \"quotes\"" {
		t.Errorf("Detail = %q: stored text must round-trip", e.Detail)
	}
}

func TestRecordRejects(t *testing.T) {
	log, _, _ := newLog(t, 0)
	for _, e := range []audit.Entry{
		{Action: "", Outcome: audit.OutcomeSuccess},
		{Action: "Login Password", Outcome: audit.OutcomeSuccess},
		{Action: audit.ActionLogout, Outcome: "maybe"},
	} {
		if err := log.Record(context.Background(), e); err == nil {
			t.Errorf("Record(%+v) succeeded, want an error", e)
		}
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := audit.Entry{ID: 1, Time: time.Unix(0, 1).UTC(), Actor: "a", ActorEmail: "e", Action: "x", Target: "t",
		IP: "i", Outcome: "success", Detail: "d", PrevHash: audit.Genesis}
	h := audit.Hash(base)
	mutations := map[string]func(*audit.Entry){
		"id":          func(e *audit.Entry) { e.ID++ },
		"time":        func(e *audit.Entry) { e.Time = e.Time.Add(1) },
		"actor":       func(e *audit.Entry) { e.Actor += "x" },
		"actor_email": func(e *audit.Entry) { e.ActorEmail += "x" },
		"action":      func(e *audit.Entry) { e.Action += "x" },
		"target":      func(e *audit.Entry) { e.Target += "x" },
		"ip":          func(e *audit.Entry) { e.IP += "x" },
		"outcome":     func(e *audit.Entry) { e.Outcome = "failure" },
		"detail":      func(e *audit.Entry) { e.Detail += "x" },
		"prev_hash":   func(e *audit.Entry) { e.PrevHash = "x" },
		// Moving a byte between fields must change the hash too.
		"boundary": func(e *audit.Entry) { e.Actor, e.ActorEmail = "ae", "" },
	}
	for name, mutate := range mutations {
		e := base
		mutate(&e)
		if audit.Hash(e) == h {
			t.Errorf("changing %s did not change the hash", name)
		}
	}
}

// With a chain key, someone who can write the database file but does not
// hold the key cannot edit a row and recompute the chain so that it
// verifies.
func TestKeyedChainResistsRecomputation(t *testing.T) {
	db := storetest.Open(t)
	keyed := audit.New(db, nil).WithKey(audit.ChainKey([]byte("0123456789abcdef0123456789abcdef")))
	for _, d := range []string{"one", "two", "three"} {
		if err := keyed.Record(context.Background(), audit.Entry{Actor: "u", Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess, Detail: d}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := keyed.Verify(context.Background()); err != nil || !res.OK() {
		t.Fatalf("intact keyed chain: %+v %v", res, err)
	}
	// The attacker edits entry 2 and recomputes the hashes of entries 2
	// and 3 with the published, unkeyed algorithm.
	entries, _, err := keyed.List(context.Background(), audit.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]audit.Entry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	e2 := byID[2]
	e2.Detail = "edited"
	e2.Hash = audit.Hash(e2)
	e3 := byID[3]
	e3.PrevHash = e2.Hash
	e3.Hash = audit.Hash(e3)
	tamper(t, db,
		`UPDATE audit_log SET detail = 'edited', hash = '`+e2.Hash+`' WHERE id = 2`,
		`UPDATE audit_log SET prev_hash = '`+e3.PrevHash+`', hash = '`+e3.Hash+`' WHERE id = 3`)
	if res, err := keyed.Verify(context.Background()); err != nil || res.FirstBad != 2 {
		t.Errorf("recomputed chain under a key: %+v %v, want first bad entry 2", res, err)
	}
}

// Close writes what is queued; an entry recorded by a request that outlived
// the shutdown's drain is written directly, not lost or a panic; a second
// Close is harmless. Concurrent recorders race Close under -race.
func TestAsyncClose(t *testing.T) {
	log, _, _ := newLog(t, 0)
	q := audit.NewAsync(log, slog.New(slog.DiscardHandler), nil)
	const before = 300 // more than one batch
	var wg sync.WaitGroup
	for i := range before {
		wg.Go(func() {
			if err := q.Record(t.Context(), audit.Entry{Actor: "u", ActorEmail: "a@example.org", Action: "research.search",
				Target: strconv.Itoa(i), Outcome: audit.OutcomeSuccess}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	q.Close()
	if err := q.Record(t.Context(), audit.Entry{Actor: "u", ActorEmail: "a@example.org", Action: "research.search",
		Target: "late", Outcome: audit.OutcomeSuccess}); err != nil {
		t.Error(err)
	}
	q.Close()
	_, total, err := log.List(context.Background(), audit.Filter{})
	if err != nil || total != before+1 {
		t.Errorf("%d entries written, %v; want %d", total, err, before+1)
	}
	if res, err := log.Verify(context.Background()); err != nil || !res.OK() || res.Entries != before+1 {
		t.Errorf("chain after Close: %+v, %v", res, err)
	}
}

// refuseInserts makes the audit table refuse new rows of action, as a full
// disk or a broken file would, with a trigger in the real database; the
// returned function lifts it.
func refuseInserts(t *testing.T, db *store.DB, action string) func() {
	t.Helper()
	create := `CREATE TRIGGER audit_log_test_refuse BEFORE INSERT ON audit_log WHEN NEW.action = '` + action + `'
		BEGIN SELECT RAISE(ABORT, 'audit log refused by the test'); END`
	drop := `DROP TRIGGER audit_log_test_refuse`
	if db.Engine() == store.Postgres {
		create = `CREATE TRIGGER audit_log_test_refuse BEFORE INSERT ON audit_log FOR EACH ROW
			WHEN (NEW.action = '` + action + `') EXECUTE FUNCTION portal_refuse('audit log refused by the test')`
		drop += ` ON audit_log`
	}
	if err := db.ExecRaw(t.Context(), create); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := db.ExecRaw(context.Background(), drop); err != nil {
			t.Fatal(err)
		}
	}
}

// A batch that fails is kept and retried until it commits; while it keeps
// failing past the stall limit, Record refuses new entries (the caller
// then refuses its request), and once the log takes writes again every
// entry accepted before is there, in a chain that verifies.
func TestAsyncRetriesAndRefusesWhenStalled(t *testing.T) {
	log, _, db := newLog(t, 2)
	q := audit.NewAsyncWith(log, slog.New(slog.DiscardHandler), nil, audit.AsyncOptions{Stall: 300 * time.Millisecond, QueueWait: 50 * time.Millisecond})
	defer q.Close()
	entry := func(target string) audit.Entry {
		return audit.Entry{Actor: "u", ActorEmail: "a@example.org", Action: "research.search", Target: target, Outcome: audit.OutcomeSuccess}
	}
	lift := refuseInserts(t, db, "research.search")
	if err := q.Record(t.Context(), entry("accepted")); err != nil {
		t.Fatalf("first entry, before any failure: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for q.Ready() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := q.Record(t.Context(), entry("refused")); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("Record while the log has failed past the stall limit: %v, want ErrUnavailable", err)
	}
	lift()
	for q.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := q.Record(t.Context(), entry("after")); err != nil {
		t.Fatalf("Record once the log takes writes again: %v", err)
	}
	q.Close()
	entries, _, err := log.List(t.Context(), audit.Filter{Action: "research.search"})
	var targets []string
	for _, e := range entries {
		targets = append(targets, e.Target)
	}
	if err != nil || strings.Join(targets, ",") != "after,accepted" {
		t.Errorf("written searches %v, %v; want the accepted one (retried) and the one after, not the refused one", targets, err)
	}
	if res, err := log.Verify(t.Context()); err != nil || !res.OK() || res.Entries != 4 {
		t.Errorf("chain: %+v, %v", res, err)
	}
}

// A log whose newest entries were deleted still links up, so Verify alone
// calls it intact; against the head recorded before, VerifyHead does not.
// An entry rewritten at the head's position is caught too, and a log that
// grew after the head is fine.
func TestVerifyHeadCatchesTruncation(t *testing.T) {
	log, clock, db := newLog(t, 10)
	res, err := log.Verify(t.Context())
	if err != nil || !res.OK() || res.LastID != 10 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	head := res.Last()
	if parsed, err := audit.ParseHead(head.String()); err != nil || parsed != head {
		t.Fatalf("ParseHead(%q) = %+v, %v", head, parsed, err)
	}
	if h, err := log.Head(t.Context()); err != nil || h.Head() != head {
		t.Fatalf("Head = %+v, %v; want %v", h.Head(), err, head)
	}

	clock.t = clock.t.Add(time.Second)
	if err := log.Record(t.Context(), audit.Entry{Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if res, err := log.VerifyHead(t.Context(), head); err != nil || !res.OK() {
		t.Errorf("a log grown past the head: %+v, %v; want OK", res, err)
	}

	tamper(t, db, `DELETE FROM audit_log WHERE id > 8`)
	res, err = log.Verify(t.Context())
	if err != nil || !res.OK() || res.Entries != 8 {
		t.Fatalf("the chain alone after truncation: %+v, %v; want intact (that is the gap)", res, err)
	}
	res, err = log.VerifyHead(t.Context(), head)
	if err != nil || res.OK() || !strings.Contains(res.Missing, "ends at entry 8, before the expected head 10") {
		t.Errorf("VerifyHead after truncation = %+v, %v; want the log to end before the head", res, err)
	}

	other := audit.Head{ID: 5, MAC: strings.Repeat("ab", 32)}
	if res, err := log.VerifyHead(t.Context(), other); err != nil || res.OK() || !strings.Contains(res.Missing, "entry 5 is not the expected head") {
		t.Errorf("VerifyHead with another MAC = %+v, %v", res, err)
	}
	for _, bad := range []string{"", "10", "0:" + head.MAC, "-1:" + head.MAC, "x:" + head.MAC, "10:abc", "10:" + strings.Repeat("g", 64)} {
		if _, err := audit.ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}

// Anchor writes the head to the structured log; RunAnchor does so on every
// tick and on demand until its context ends.
func TestAnchorWritesTheHead(t *testing.T) {
	log, _, _ := newLog(t, 3)
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	h, err := log.Anchor(t.Context(), logger, "test")
	if err != nil || h.ID != 3 {
		t.Fatalf("Anchor = %+v, %v", h, err)
	}
	want := `"msg":"audit head","id":3,"mac":"` + h.MAC + `","reason":"test"`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log %s lacks %s", buf.String(), want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	now := make(chan string)
	go func() { defer close(done); log.RunAnchor(ctx, logger, 10*time.Millisecond, now) }()
	now <- "admin act"
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(buf.String(), `"reason":"periodic"`) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := strings.Count(buf.String(), `"reason":"periodic"`); n < 2 {
		t.Errorf("%d periodic heads written, want at least 2", n)
	}
	if !strings.Contains(buf.String(), `"reason":"admin act"`) {
		t.Errorf("no head written on demand: %s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
