package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/mail"
	"portal/mail/mailpit"
	"portal/store"
	"portal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func startMailpit(t *testing.T, opts mailpit.Options) *mailpit.Process {
	t.Helper()
	bin, err := mailpit.FindBinary()
	if err != nil {
		t.Fatal(err)
	}
	opts.Binary = bin
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	p, err := mailpit.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// openDB opens the database at loc (storetest.Location: SQLite, or
// PostgreSQL when PORTAL_TEST_STORE=postgres).
func openDB(t *testing.T, loc string) *store.DB {
	t.Helper()
	db, err := storetest.OpenAt(t.Context(), loc)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// waitMail polls Mailpit until n messages to to have arrived.
func waitMail(t *testing.T, p *mailpit.Process, to string, n int) []mailpit.Mail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := p.Messages(t.Context(), to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%d messages to %s, want %d", len(got), to, n)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run starts the outbox's delivery loop and returns its stop.
func run(o *mail.Outbox) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.Run(ctx) }()
	return func() { cancel(); <-done }
}

func TestDeliversThroughRelay(t *testing.T) {
	mp := startMailpit(t, mailpit.Options{})
	db := openDB(t, storetest.Location(t))
	defer db.Close()
	o, err := mail.New(db.Mail(), mail.Options{RelayURL: mp.SMTPURL, From: "portal@portal.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer run(o)()
	before := time.Now().Add(-time.Second)
	msg := mail.Invitation("ana@members.example", "https://portal.example/en/account/accept/#token=abc", time.Now().Add(72*time.Hour))
	if err := o.Enqueue(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	got := waitMail(t, mp, "ana@members.example", 1)[0]
	if !regexp.MustCompile(`^[0-9a-f]{32}@portal\.example$`).MatchString(got.MessageID) {
		t.Errorf("Message-ID %q", got.MessageID)
	}
	if got.Date.Before(before) || got.Date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date %v, want about now", got.Date)
	}
	if got.From != "portal@portal.example" || got.Subject != msg.Subject {
		t.Errorf("from %q subject %q", got.From, got.Subject)
	}
	if !strings.Contains(got.Text, "#token=abc") || got.HTML != "" {
		t.Errorf("want a plain-text message with the link; text %q html %q", got.Text, got.HTML)
	}
	if _, ok, err := db.Mail().NextMailAt(t.Context()); err != nil || ok {
		t.Errorf("outbox not empty after delivery (%v)", err)
	}
}

// A message queued while the relay is down waits in the database: neither
// the relay's absence nor a restart of the portal loses it, and it is sent
// once.
func TestQueuedWhileRelayDownSurvivesRestart(t *testing.T) {
	mpDir := t.TempDir()
	mp := startMailpit(t, mailpit.Options{DataDir: mpDir})
	mp.Stop()
	dbPath := storetest.Location(t)
	opts := mail.Options{RelayURL: mp.SMTPURL, From: "portal@portal.example", MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, MaxAttempts: 1000}

	db := openDB(t, dbPath)
	o, err := mail.New(db.Mail(), opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(o)
	if err := o.Enqueue(t.Context(), mail.Message{To: "ben@members.example", Subject: "First", Text: "queued while the relay is down"}); err != nil {
		t.Fatal(err)
	}
	// Let a few attempts fail, then stop the portal.
	time.Sleep(300 * time.Millisecond)
	stop()
	db.Close()

	// The relay comes back on its address; the portal starts again.
	mp = startMailpit(t, mailpit.Options{DataDir: mpDir, SMTPAddr: mp.SMTPAddr, HTTPAddr: mp.HTTPAddr})
	db = openDB(t, dbPath)
	defer db.Close()
	if o, err = mail.New(db.Mail(), opts); err != nil {
		t.Fatal(err)
	}
	defer run(o)()
	got := waitMail(t, mp, "ben@members.example", 1)
	if strings.TrimSpace(got[0].Text) != "queued while the relay is down" {
		t.Errorf("text %q", got[0].Text)
	}
	time.Sleep(200 * time.Millisecond)
	waitMail(t, mp, "ben@members.example", 1) // still one: not sent twice
}

// A shutdown in the middle of a conversation with a relay that went quiet
// ends the attempt at once, and hands the message back, due at once and
// with its attempt uncounted, rather than leaving it claimed until the
// claim runs out.
func TestShutdownHandsBackTheMessage(t *testing.T) {
	// A relay that accepts the connection and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	db := openDB(t, storetest.Location(t))
	defer db.Close()
	o, err := mail.New(db.Mail(), mail.Options{RelayURL: "smtp://" + l.Addr().String(), From: "portal@portal.example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Enqueue(t.Context(), mail.Message{To: "di@members.example", Subject: "Held", Text: "interrupted"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	o.Deliver(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the interrupted attempt returned after %v; a stopping portal must not wait for the relay's timeout", took)
	}
	next, ok, err := db.Mail().NextMailAt(t.Context())
	if err != nil || !ok {
		t.Fatalf("message gone after an interrupted attempt (%v)", err)
	}
	if wait := time.Until(next); wait > time.Second {
		t.Errorf("interrupted message due in %v, want at once", wait)
	}
	queued, err := db.Mail().ClaimMail(t.Context(), time.Now().Add(time.Second), time.Now().Add(time.Minute), 10)
	if err != nil || len(queued) != 1 || queued[0].Attempts != 0 {
		t.Errorf("outbox after the interruption: %+v (%v), want the message with no attempt counted", queued, err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }
func logTo(b *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// Failed attempts wait twice as long each time, and the last one gives the
// message up, in the log.
func TestBackoffAndGivingUp(t *testing.T) {
	mp := startMailpit(t, mailpit.Options{})
	mp.Stop()
	db := openDB(t, storetest.Location(t))
	defer db.Close()
	clk := newClock()
	var logs bytes.Buffer
	o, err := mail.New(db.Mail(), mail.Options{RelayURL: mp.SMTPURL, From: "portal@portal.example", Now: clk.now,
		Logger: logTo(&logs), MinBackoff: time.Minute, MaxBackoff: 3 * time.Minute, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Enqueue(t.Context(), mail.Message{To: "cy@members.example", Subject: "Lost", Text: "never delivered"}); err != nil {
		t.Fatal(err)
	}
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		o.Deliver(t.Context())
		next, ok, err := db.Mail().NextMailAt(t.Context())
		if err != nil || !ok {
			t.Fatalf("attempt %d: message gone (%v)", i+1, err)
		}
		if got := next.Sub(clk.now()); got != wait {
			t.Errorf("after attempt %d: next in %v, want %v", i+1, got, wait)
		}
		// Not due yet: nothing is tried.
		clk.add(wait - time.Second)
		o.Deliver(t.Context())
		if n := strings.Count(logs.String(), "attempt failed"); n != i+1 {
			t.Fatalf("%d failed attempts logged, want %d", n, i+1)
		}
		clk.add(time.Second)
	}
	o.Deliver(t.Context())
	if _, ok, _ := db.Mail().NextMailAt(t.Context()); ok {
		t.Error("message still queued after the last attempt")
	}
	if !strings.Contains(logs.String(), "giving up") || !strings.Contains(logs.String(), "attempts=4") {
		t.Errorf("giving up not logged:\n%s", logs.String())
	}
}

// Without a relay, delivery writes the message to the log, where a
// developer finds the link.
func TestWithoutRelayLogs(t *testing.T) {
	db := openDB(t, storetest.Location(t))
	defer db.Close()
	var logs bytes.Buffer
	o, err := mail.New(db.Mail(), mail.Options{From: "portal@portal.example", Logger: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if o.Relayed() {
		t.Error("Relayed without a relay")
	}
	if err := o.Enqueue(t.Context(), mail.Message{To: "di@members.example", Subject: "Link", Text: "https://portal.example/#token=xyz"}); err != nil {
		t.Fatal(err)
	}
	o.Deliver(t.Context())
	if !strings.Contains(logs.String(), "#token=xyz") || !strings.Contains(logs.String(), "di@members.example") {
		t.Errorf("message not logged:\n%s", logs.String())
	}
	if _, ok, _ := db.Mail().NextMailAt(t.Context()); ok {
		t.Error("logged message still queued")
	}
}

func TestRefusesBadInput(t *testing.T) {
	db := openDB(t, storetest.Location(t))
	defer db.Close()
	for _, relay := range []string{"http://relay.example", "smtp://", "smtp://relay.example:notaport"} {
		if _, err := mail.New(db.Mail(), mail.Options{RelayURL: relay, From: "portal@portal.example"}); err == nil {
			t.Errorf("relay %q accepted", relay)
		}
	}
	if _, err := mail.New(db.Mail(), mail.Options{From: "not an address"}); err == nil {
		t.Error("bad sender accepted")
	}
	o, err := mail.New(db.Mail(), mail.Options{From: "portal@portal.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []mail.Message{
		{To: "a@b.example\r\nBcc: x@y.example", Subject: "s", Text: "t"},
		{To: "Ana <a@b.example>", Subject: "s", Text: "t"},
		{To: "a@b.example", Subject: "s\r\nBcc: x@y.example", Text: "t"},
		{To: "a@b.example", Subject: "", Text: "t"},
		{To: "a@b.example", Subject: "s", Text: ""},
	} {
		if err := o.Enqueue(t.Context(), m); err == nil {
			t.Errorf("queued %+v", m)
		}
	}
	if _, ok, _ := db.Mail().NextMailAt(t.Context()); ok {
		t.Error("a refused message was queued")
	}
}

// With a key, the text (links included) is sealed in the database and
// delivered in clear; a wrong key cannot open it.
func TestSealedInDatabase(t *testing.T) {
	mp := startMailpit(t, mailpit.Options{})
	db := openDB(t, storetest.Location(t))
	defer db.Close()
	var logs bytes.Buffer
	key := mail.SealKey(bytes.Repeat([]byte{9}, 32))
	o, err := mail.New(db.Mail(), mail.Options{RelayURL: mp.SMTPURL, From: "portal@portal.example", Key: key, Logger: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"eve@members.example", "fay@members.example"} {
		if err := o.Enqueue(t.Context(), mail.Message{To: to, Subject: "Link", Text: "https://portal.example/#token=secret-" + to}); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := db.Mail().ClaimMail(t.Context(), time.Now().Add(time.Minute), time.Now(), 10)
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %v, %v", stored, err)
	}
	for _, q := range stored {
		if strings.Contains(q.Text, "token=") {
			t.Errorf("text stored in clear: %q", q.Text)
		}
	}
	// Claimed above: due again at once for this test.
	for _, q := range stored {
		if err := db.Mail().RetryMail(t.Context(), q.ID, 0, time.Now().Add(-time.Second), ""); err != nil {
			t.Fatal(err)
		}
	}
	wrong, err := mail.New(db.Mail(), mail.Options{RelayURL: mp.SMTPURL, From: "portal@portal.example",
		Key: mail.SealKey(bytes.Repeat([]byte{8}, 32)), Logger: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	// The wrong key takes the first message and cannot open it: given up.
	if err := db.Mail().RetryMail(t.Context(), stored[1].ID, 0, time.Now().Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	wrong.Deliver(t.Context())
	if !strings.Contains(logs.String(), "does not open with this key") {
		t.Errorf("wrong key not logged:\n%s", logs.String())
	}
	if err := db.Mail().RetryMail(t.Context(), stored[1].ID, 0, time.Now().Add(-time.Second), ""); err != nil {
		t.Fatal(err)
	}
	o.Deliver(t.Context())
	got := waitMail(t, mp, stored[1].To, 1)
	if !strings.Contains(got[0].Text, "token=secret-"+stored[1].To) {
		t.Errorf("delivered text %q", got[0].Text)
	}
	waitMail(t, mp, stored[0].To, 0) // the one the wrong key took was given up
}
