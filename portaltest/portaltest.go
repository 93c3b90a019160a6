// Package portaltest runs the real portal for integration tests: the public
// site built by the pinned Hugo, a real Meilisearch with the portal's keys
// and indexes, a real Mailpit as the SMTP relay, and the echo server over
// real HTTP.
package portaltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/account"
	"portal/alerts"
	"portal/api"
	"portal/attest"
	"portal/audit"
	"portal/blob"
	"portal/blob/seaweedfs"
	"portal/complaints"
	"portal/extract"
	"portal/extract/extracttest"
	"portal/groups"
	"portal/mail"
	"portal/mail/mailpit"
	"portal/ocr"
	"portal/portaltest/pgtest"
	"portal/reach"
	"portal/research"
	"portal/search"
	"portal/search/meilitest"
	"portal/site"
	"portal/store"
	"portal/store/storetest"
	"portal/training"
)

// PublicURL is the public origin the test builds of the site are made for:
// canonical links, alternates, Open Graph URLs and the sitemap name it.
const PublicURL = "https://portal.example"

var built struct {
	once sync.Once
	dir  string
	err  error
}

// BuildSite builds the public site once per test binary and returns its
// directory. RemoveSite deletes it.
func BuildSite() (string, error) {
	built.once.Do(func() {
		root, err := site.FindRoot(".")
		if err != nil {
			built.err = err
			return
		}
		dir, err := os.MkdirTemp("", "portal-site-")
		if err != nil {
			built.err = err
			return
		}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		built.dir = filepath.Join(dir, "public")
		if err := site.Build(ctx, site.BuildOptions{Root: root, Destination: built.dir, BaseURL: PublicURL + "/", Stdout: &out, Stderr: &out}); err != nil {
			built.err = fmt.Errorf("%w\n%s", err, out.Bytes())
		}
	})
	return built.dir, built.err
}

var builtMembers struct {
	once sync.Once
	dir  string
	err  error
}

// BuildMembersSite builds the members environment (members-only training
// with its manifest, catalogue and search documents) once per test binary
// and returns its directory. RemoveSite deletes it.
func BuildMembersSite() (string, error) {
	builtMembers.once.Do(func() {
		root, err := site.FindRoot(".")
		if err != nil {
			builtMembers.err = err
			return
		}
		dir, err := os.MkdirTemp("", "portal-members-site-")
		if err != nil {
			builtMembers.err = err
			return
		}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		builtMembers.dir = filepath.Join(dir, "members")
		if err := site.Build(ctx, site.BuildOptions{Root: root, Destination: builtMembers.dir, Environment: "members",
			Stdout: &out, Stderr: &out}); err != nil {
			builtMembers.err = fmt.Errorf("%w\n%s", err, out.Bytes())
		}
	})
	return builtMembers.dir, builtMembers.err
}

// RemoveSite deletes the sites BuildSite and BuildMembersSite made, and
// stops the SeaweedFS that portals with S3 storage share and the test
// binary's PostgreSQL, if they were started. Call it from TestMain.
func RemoveSite() {
	Weed.Stop()
	pgtest.StopShared()
	if built.dir != "" {
		os.RemoveAll(filepath.Dir(built.dir))
	}
	if builtMembers.dir != "" {
		os.RemoveAll(filepath.Dir(builtMembers.dir))
	}
}

// Portal is a running portal.
type Portal struct {
	URL        string
	SiteDir    string
	MembersDir string
	Meili      *meilitest.Instance
	SearchKey  string
	AdminKey   string
	Server     *httptest.Server
	API        *api.Server
	DB         *store.DB
	Audit      *audit.Log
	Accounts   *account.Service
	Research   *research.Service
	Training   *training.Service
	// Complaints runs the complaints procedure on the accounts' clock.
	Complaints *complaints.Service
	Groups     *groups.Service
	Attest     *attest.Service
	Reach      *reach.Service
	Indexer    *search.Indexer
	Searcher   *search.Searcher
	// Alerts holds saved searches, follows and the inbox; a test runs a
	// digest pass with Alerts.Send.
	Alerts *alerts.Service
	// Mailpit is the SMTP relay the portal's outbox sends to; Mail reads
	// what it received.
	Mailpit *mailpit.Process
	Outbox  *mail.Outbox
	// SecretKey is the portal's PORTAL_SECRET_KEY, for a test that starts
	// a second server over the same database, as a restart would.
	SecretKey []byte
	// Bucket is the portal's bucket on Weed when Options.S3 is set.
	Bucket   string
	stopMail func()
	// stopRecognition stops the research library's recognition loop.
	stopRecognition func()
	extractor       *extract.Extractor
	dataDir         string
	dbURL           string // PostgreSQL's, or "" on SQLite
}

// ReopenDB opens the portal's database again, as a restarted portal
// would; the caller closes it.
func (p *Portal) ReopenDB(ctx context.Context) (*store.DB, error) {
	if p.DB.Engine() == store.Postgres {
		return store.OpenPostgres(ctx, p.dbURL)
	}
	return store.Open(ctx, p.DB.Path())
}

// Options adjusts Start.
type Options struct {
	// Logs receives the server's JSON logs (nil discards them).
	Logs io.Writer
	// Now is the accounts' clock (default time.Now), for expiry tests.
	Now func() time.Time
	// AttestationPeriod is PORTAL_ATTESTATION_PERIOD (default a year).
	AttestationPeriod time.Duration
	// SecretRate overrides the per-address limit on secret-checking routes,
	// for tests that make many attempts on purpose.
	SecretRate float64
	// SecretBurst is that limit's burst (default: as api.Options).
	SecretBurst int
	// MaxUploadBytes overrides the research upload limit (default 50 MiB).
	MaxUploadBytes int64
	// S3 keeps the research originals in a new bucket of the test
	// binary's SeaweedFS (Weed) instead of a local directory.
	S3 bool
}

// Weed is the SeaweedFS of the test binary, started by the first portal
// that keeps its originals in S3 and stopped by RemoveSite.
var Weed seaweedfs.Once

// TestArgon2 are cheaper hash parameters for tests that are not about
// hashing; the account package's own tests check the production ones.
var TestArgon2 = account.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Start runs a portal for one test, stopped when the test ends.
func Start(t testing.TB, opts Options) *Portal {
	t.Helper()
	p, err := Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Run builds the sites (once), starts a Meilisearch, provisions the keys,
// indexes the sites and serves it all on a loopback port. Close stops it.
func Run(opts Options) (*Portal, error) {
	dir, err := BuildSite()
	if err != nil {
		return nil, fmt.Errorf("build site: %w", err)
	}
	membersDir, err := BuildMembersSite()
	if err != nil {
		return nil, fmt.Errorf("build members site: %w", err)
	}
	dataDir, err := os.MkdirTemp("", "portal-test-")
	if err != nil {
		return nil, err
	}
	p := &Portal{SiteDir: dir, MembersDir: membersDir, dataDir: dataDir}
	if p.Meili, err = meilitest.Run(filepath.Join(dataDir, "meili")); err != nil {
		p.Close()
		return nil, err
	}
	if p.Mailpit, err = startMailpit(filepath.Join(dataDir, "mailpit")); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.setUp(opts); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Portal) setUp(opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	master := search.NewClient(p.Meili.URL, p.Meili.MasterKey)
	var err error
	keyTime := time.Now()
	if p.SearchKey, err = search.ProvisionKey(ctx, master, search.SearchKey(), keyTime); err != nil {
		return fmt.Errorf("provision search key: %w", err)
	}
	if p.AdminKey, err = search.ProvisionKey(ctx, master, search.AdminKey(), keyTime); err != nil {
		return fmt.Errorf("provision admin key: %w", err)
	}
	pages, err := search.ReadFeeds(p.SiteDir)
	if err != nil {
		return err
	}
	membersPages, err := search.ReadMembersFeed(p.MembersDir)
	if err != nil {
		return err
	}
	pages = append(pages, membersPages...)
	if err := search.NewIndexer(search.NewClient(p.Meili.URL, p.AdminKey), nil).IndexSite(ctx, pages); err != nil {
		return fmt.Errorf("index site: %w", err)
	}
	logs := opts.Logs
	if logs == nil {
		logs = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// SQLite, or PostgreSQL when PORTAL_TEST_STORE=postgres: the API's
	// suites run once per engine in make test.
	if storetest.Engine() == store.Postgres {
		if p.dbURL, err = storetest.NewPostgresURL(ctx, nil); err != nil {
			return err
		}
		p.DB, err = store.OpenPostgres(ctx, p.dbURL)
	} else {
		p.DB, err = store.Open(ctx, filepath.Join(p.dataDir, "portal.db"))
	}
	if err != nil {
		return err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	p.SecretKey = secret
	p.Audit = audit.New(p.DB, now).WithKey(audit.ChainKey(secret))
	// The outbox keeps the real clock: a message's Date is when it was
	// queued, whatever time the accounts' clock says it is.
	if p.Outbox, err = mail.New(p.DB.Mail(), mail.Options{RelayURL: p.Mailpit.SMTPURL, From: "portal@portal.example",
		Logger: log, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Key: mail.SealKey(secret)}); err != nil {
		return err
	}
	mailCtx, stopMail := context.WithCancel(context.Background())
	mailDone := make(chan struct{})
	go func() { defer close(mailDone); p.Outbox.Run(mailCtx) }()
	p.stopMail = func() { stopMail(); <-mailDone }
	if p.Accounts, err = account.New(p.DB, p.Audit, account.Options{Now: now, SecretKey: secret, Argon2: TestArgon2, Logger: log,
		Mail: p.Outbox, PublicURL: PublicURL}); err != nil {
		return err
	}
	p.Indexer = search.NewIndexer(search.NewClient(p.Meili.URL, p.AdminKey), nil)
	if err := p.Indexer.EnsureIndexes(ctx); err != nil {
		return err
	}
	idx, err := search.NewResearchIndexer(p.Indexer)
	if err != nil {
		return err
	}
	blobs, err := p.openBlobs(ctx, opts)
	if err != nil {
		return err
	}
	// Compiling PDFium's WebAssembly takes half a minute under the race
	// detector; the compiled code is kept for the next test binaries.
	if p.extractor, err = extract.New(ctx, extract.Options{Logger: log, CacheDir: extracttest.CacheDir()}); err != nil {
		return err
	}
	// Scanned pages are read as serve reads them, when Tesseract is
	// installed (make test-deps installs it; the OCR test requires it).
	var recogniser research.Recogniser
	if r, err := ocr.New(ocr.Options{Logger: log}); err == nil {
		recogniser = r
	}
	if p.Research, err = research.New(p.DB.Research(), blobs, p.extractor, idx, p.Audit,
		research.Options{Now: now, Logger: log, MaxUploadBytes: opts.MaxUploadBytes,
			PreviewDir: filepath.Join(p.dataDir, "previews"), Recogniser: recogniser}); err != nil {
		return err
	}
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() { defer close(recDone); p.Research.RunRecognition(recCtx) }()
	p.stopRecognition = func() { stopRec(); <-recDone }
	catalogue, err := training.OpenCatalogue(p.SiteDir, p.MembersDir, log)
	if err != nil {
		return err
	}
	root, err := site.FindRoot(".")
	if err != nil {
		return err
	}
	if err := catalogue.SetContentDir(filepath.Join(root, "content")); err != nil {
		return err
	}
	receiptKey, err := training.LoadReceiptKey("", filepath.Join(p.dataDir, training.ReceiptKeyFile))
	if err != nil {
		return err
	}
	if p.Training, err = training.New(p.DB.Progress(), catalogue, p.Audit,
		training.Options{SecretKey: secret, ReceiptKey: receiptKey, Mail: p.Outbox, PublicURL: PublicURL, Now: now, Logger: log}); err != nil {
		return err
	}
	if p.Complaints, err = complaints.New(p.DB.Complaints(), p.DB, p.Audit, p.Outbox, complaints.Options{
		PublicURL: PublicURL, SecretKey: secret, Now: now, Logger: log}); err != nil {
		return err
	}
	if p.Groups, err = groups.New(p.DB.Groups(), p.Audit, now); err != nil {
		return err
	}
	if p.Attest, err = attest.New(p.DB.Attestations(), p.Groups, p.Audit,
		attest.Options{Now: now, Mail: p.Outbox, Logger: log, Period: opts.AttestationPeriod, PublicURL: PublicURL}); err != nil {
		return err
	}
	if p.Reach, err = reach.New(p.DB.Reach(), p.Groups, p.Audit); err != nil {
		return err
	}
	p.Searcher = search.NewSearcher(p.Meili.URL, p.SearchKey, search.SearchKey().UID)
	if p.Alerts, err = alerts.New(p.DB.Alerts(), p.Searcher, p.Outbox,
		alerts.Options{PublicURL: PublicURL, SecretKey: secret, Audit: p.Audit, Now: now, Logger: log}); err != nil {
		return err
	}
	e, err := api.New(api.Options{
		Logger:      log,
		Search:      p.Searcher,
		Research:    p.Research,
		Training:    p.Training,
		Accounts:    p.Accounts,
		Audit:       p.Audit,
		Outbox:      p.Outbox,
		SecretKey:   secret,
		SiteDir:     p.SiteDir,
		MembersDir:  p.MembersDir,
		SecretRate:  opts.SecretRate,
		SecretBurst: opts.SecretBurst,
		Database:    p.DB,
		RateLimits:  p.DB,
		Complaints:  p.Complaints,
		Groups:      p.Groups,
		Attest:      p.Attest,
		Reach:       p.Reach,
		Alerts:      p.Alerts,
	})
	if err != nil {
		return err
	}
	p.API = e
	p.Server = httptest.NewServer(e)
	p.URL = p.Server.URL
	return nil
}

// openBlobs opens the local blob directory, or with opts.S3 a new bucket.
func (p *Portal) openBlobs(ctx context.Context, opts Options) (blob.Store, error) {
	if !opts.S3 {
		return blob.OpenDir(p.BlobDir())
	}
	weed, err := Weed.Get()
	if err != nil {
		return nil, fmt.Errorf("SeaweedFS: %w", err)
	}
	if p.Bucket, err = weed.MakeBucket(ctx); err != nil {
		return nil, err
	}
	return blob.OpenBucket(ctx, weed.Config(p.Bucket))
}

// Close stops the server and Meilisearch and removes Meilisearch's data.
func (p *Portal) Close() {
	if p.Server != nil {
		p.Server.Close()
	}
	if p.API != nil {
		p.API.Close()
	}
	if p.Accounts != nil {
		p.Accounts.Wait()
	}
	if p.stopMail != nil {
		p.stopMail()
	}
	if p.stopRecognition != nil {
		p.stopRecognition()
	}
	if p.Mailpit != nil {
		_ = p.Mailpit.Stop()
	}
	if p.Meili != nil {
		_ = p.Meili.Process.Stop()
	}
	if p.extractor != nil {
		p.extractor.Close()
	}
	if p.DB != nil {
		p.DB.Close()
	}
	os.RemoveAll(p.dataDir)
}

// LogBuffer collects the server's logs safely: the server writes a request's
// log line after the response is sent, while the test may be reading.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Clock is a settable clock for expiry tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to the current time.
func NewClock() *Clock { return &Clock{now: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// BlobDir is where the portal stores uploaded originals.
func (p *Portal) BlobDir() string { return filepath.Join(p.dataDir, "blobs") }

// RefuseInserts makes the portal's real database refuse new rows of table
// whose column holds one of values, as a full disk or a damaged file
// would, with a trigger that raises; the returned function lifts it (and
// the test's end does, in any case).
func (p *Portal) RefuseInserts(t testing.TB, table, column string, values ...string) (lift func()) {
	t.Helper()
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	name := table + "_test_refuse"
	in := column + " IN (" + strings.Join(quoted, ", ") + ")"
	create := `CREATE TRIGGER ` + name + ` BEFORE INSERT ON ` + table + ` WHEN NEW.` + in +
		` BEGIN SELECT RAISE(ABORT, '` + table + ` refused by the test'); END`
	drop := `DROP TRIGGER ` + name
	if p.DB.Engine() == store.Postgres {
		// portal_refuse is the migrations' trigger function (0002).
		create = `CREATE TRIGGER ` + name + ` BEFORE INSERT ON ` + table + ` FOR EACH ROW WHEN (NEW.` + in +
			`) EXECUTE FUNCTION portal_refuse('` + table + ` refused by the test')`
		drop += ` ON ` + table
	}
	if err := p.DB.ExecRaw(t.Context(), create); err != nil {
		t.Fatal(err)
	}
	lifted := false
	lift = func() {
		if !lifted {
			lifted = true
			if err := p.DB.ExecRaw(context.Background(), drop); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(lift)
	return lift
}
