// Package config reads the portal's settings from the environment. Every
// option is declared once in the table below, with its default and help
// text; secrets may also come from a file named by the same variable with a
// _FILE suffix, so that they need not sit in the environment.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the portal's validated configuration.
type Config struct {
	Env            string // "development" or "production"
	Addr           string
	SiteDir        string
	MembersSiteDir string
	// ContentDir is the content tree graded quizzes' answer keys are read
	// from (they are never in a site build).
	ContentDir string
	// ReceiptKey is the receipts' Ed25519 seed in hex; empty keeps the key
	// in DataDir/receipt-ed25519.key, created on first run.
	ReceiptKey string
	DataDir    string
	// DatabaseURL selects PostgreSQL (postgres://…) instead of the SQLite
	// file in DataDir.
	DatabaseURL string
	// BlobURL is where research originals live (blob.OpenURL): empty for
	// DataDir/blobs. BlobAccessKey and BlobSecretKey sign requests to an
	// S3 bucket.
	BlobURL                      string
	BlobAccessKey, BlobSecretKey string
	// BlobHold is how long an upload's hold protects its stored file from
	// collection, and how often unused files are collected.
	BlobHold       time.Duration
	MeiliURL       string
	MeiliSearchKey string
	MeiliKeyUID    string
	// MeiliIndexingKey feeds the research index from `portal serve`;
	// MeiliAdminKey manages the indexes and is never given to serve.
	MeiliIndexingKey string
	MeiliAdminKey    string
	MeiliMasterKey   string
	// SecretKey (32 bytes) encrypts TOTP secrets and signs CSRF tokens. It
	// is kept outside the database on purpose: a stolen database file alone
	// yields no second factor.
	SecretKey      []byte
	PublicURL      string
	SMTPURL        string
	MailFrom       string
	SessionIdle    time.Duration
	SessionMax     time.Duration
	HashLimit      int
	MaxUploadBytes int64
	TrustedProxies []*net.IPNet
	RequestTimeout time.Duration
	// MemoryLimit is the soft limit, in bytes, on the memory the Go runtime
	// manages (runtime/debug.SetMemoryLimit); 0 sets none. GOMEMLIMIT, when
	// set, takes precedence.
	MemoryLimit int64
	LogLevel    slog.Level
	LogFormat   string
	// MetricsAddr is where Prometheus metrics and pprof are served; empty
	// serves neither. Never the public address.
	MetricsAddr string
	// ComplaintRetention is how long the personal data of a closed
	// complaint is kept; ComplaintGroup is the access group that handles
	// complaints.
	ComplaintRetention time.Duration
	ComplaintGroup     string

	// AttestationPeriod is how long a member's attestation lasts (package
	// attest); zero takes attest.DefaultPeriod.
	AttestationPeriod time.Duration
}

// Dev reports whether the portal runs in development mode.
func (c Config) Dev() bool { return c.Env == "development" }

// Option describes one environment variable.
type Option struct {
	Name    string
	Default string
	Secret  bool // may come from NAME_FILE; masked when printed
	Help    string
	// Commands are the commands that read the variable, named as on the
	// command line; "users" stands for every users subcommand. A command
	// reads only these (LoadFor), and its --help lists only these (Help).
	Commands []string
}

// ReadBy reports whether command cmd ("serve", "users unlock", …) reads o.
func (o Option) ReadBy(cmd string) bool {
	for _, c := range o.Commands {
		if c == cmd || strings.HasPrefix(cmd, c+" ") {
			return true
		}
	}
	return false
}

// Options lists every setting, in the order --help prints them.
func Options() []Option {
	// The commands that read a variable, grouped as they share code.
	var (
		servers = []string{"serve", "dev"}
		state   = []string{"serve", "dev", "reindex", "users", "seed demo", "audit", "backup", "complaints", "attestation", "training remind", "migrate-store"}
		links   = []string{"serve", "dev", "users create-admin", "users reset-mfa", "users unlock", "complaints", "attestation run", "training remind"}
		mailers = []string{"serve", "dev", "users reset-mfa", "users unlock", "users disable", "users enable", "complaints", "attestation run", "training remind"}
		indexes = []string{"dev", "index site", "reindex", "seed demo"}
		// research opens the research library and its originals.
		research = []string{"serve", "dev", "reindex", "seed demo"}
		sites    = []string{"serve", "dev", "index site", "reindex", "training remind"}
		meili    = []string{"serve", "dev", "index site", "reindex", "seed demo", "meili keys"}
	)
	// `portal alerts send` reads the state, mails links and runs members'
	// searches, as serve's digest pass does.
	state, links, mailers, meili = append(state, "alerts"), append(links, "alerts"), append(mailers, "alerts"), append(meili, "alerts")
	searchers := append(servers[:len(servers):len(servers)], "alerts")
	return []Option{
		{Name: "PORTAL_ENV", Default: "production", Commands: state, Help: `"production" or "development" (development allows demo data and a local Meilisearch, and keeps a generated PORTAL_SECRET_KEY in PORTAL_DATA_DIR/secret.key)`},
		{Name: "PORTAL_ADDR", Default: "127.0.0.1:8080", Commands: links, Help: "address the HTTP server listens on; invitation links point at it when PORTAL_PUBLIC_URL is empty"},
		{Name: "PORTAL_METRICS_ADDR", Commands: servers, Help: "address of a separate listener for Prometheus metrics (/metrics) and Go profiling (/debug/pprof/), for operators only: keep it on loopback or a private network (e.g. 127.0.0.1:9090); empty serves neither"},
		{Name: "PORTAL_SITE_DIR", Default: "site/public", Commands: sites, Help: "the public site built by Hugo"},
		{Name: "PORTAL_MEMBERS_SITE_DIR", Commands: append(sites[:len(sites):len(sites)], "backup"), Help: "the members' build of the site (Hugo --environment members), served under /members/ to members whose groups allow each page and indexed with its access groups; empty serves and indexes none"},
		{Name: "PORTAL_CONTENT_DIR", Default: "content", Commands: []string{"serve", "dev", "training remind"}, Help: "the content tree (content/ of the repository, or of the release archive) whose graded quizzes' answer keys the portal marks with: they are never in a site build; without it graded quizzes answer 503"},
		{Name: "PORTAL_RECEIPT_KEY", Secret: true, Commands: []string{"serve", "dev", "training remind"}, Help: "64 hex digits: the Ed25519 seed that signs public learners' training receipts; empty keeps the key in PORTAL_DATA_DIR/receipt-ed25519.key (mode 0600, made on first run), which several instances must not do: give them all the same key. Its public key is served at /api/training/receipts/key"},
		{Name: "PORTAL_DATA_DIR", Default: "var", Commands: append(state[:len(state):len(state)], "index site"), Help: "local state: database, uploads, development Meilisearch"},
		{Name: "PORTAL_DATABASE_URL", Secret: true, Commands: append(state[:len(state):len(state)], "db migrate", "index site"), Help: "postgres://ROLE@HOST/DB: keep the portal's records in PostgreSQL (15 or newer, a database with LC_COLLATE 'C') instead of SQLite under PORTAL_DATA_DIR, so that several portals can share them; give serve the runtime role, and `portal db migrate --grant ROLE` the owner's URL"},
		{Name: "PORTAL_BLOB_URL", Commands: append(research[:len(research):len(research)], "backup"), Help: "where research originals live: empty for PORTAL_DATA_DIR/blobs, a directory (or file:///path), or an S3-compatible bucket s3://bucket/prefix?endpoint=host:port&region=…&tls=false (default endpoint AWS S3, tls true; the bucket must exist and stay private: downloads go through the portal)"},
		{Name: "PORTAL_BLOB_HOLD", Default: "10m", Commands: research, Help: "how long an upload may take from storing its file to recording it, and how often the files of failed or killed uploads are collected (on one instance at a time)"},
		{Name: "AWS_ACCESS_KEY_ID", Commands: append(research[:len(research):len(research)], "migrate-store"), Help: "access key of the PORTAL_BLOB_URL bucket (never in the URL), and of migrate-store's --from-blobs/--to-blobs"},
		{Name: "AWS_SECRET_ACCESS_KEY", Secret: true, Commands: append(research[:len(research):len(research)], "migrate-store"), Help: "secret key of the PORTAL_BLOB_URL bucket, and of migrate-store's"},
		{Name: "PORTAL_SECRET_KEY", Secret: true, Commands: append(state[:len(state):len(state)], "restore"), Help: "64 hex digits (32 bytes): encrypts TOTP secrets and signs CSRF tokens; keep it outside the database and its backups"},
		{Name: "PORTAL_PUBLIC_URL", Commands: links, Help: "the portal's public origin (https://portal.example), used in mailed links and as the passkeys' site, and by portal dev as the site's base URL (canonical links, sitemap); required by serve in production"},
		{Name: "PORTAL_SMTP_URL", Secret: true, Commands: mailers, Help: "SMTP relay of the portal's mail (queued in the database, sent by serve with retries): smtp://user:pass@host:587 (STARTTLS required except on loopback) or smtps://…:465; required by serve in production; empty (development only) logs the mail and shows invitation links to the admin instead"},
		{Name: "PORTAL_MAIL_FROM", Default: "portal@localhost", Commands: mailers, Help: "sender address of the portal's emails"},
		{Name: "PORTAL_SESSION_IDLE", Default: "30m", Commands: servers, Help: "a session ends after this long without a request"},
		{Name: "PORTAL_SESSION_MAX", Default: "12h", Commands: servers, Help: "a session ends this long after login, however active"},
		{Name: "PORTAL_ATTESTATION_PERIOD", Default: "8760h", Commands: []string{"serve", "dev", "attestation run"}, Help: "how long a member's attestation lasts before it is due again (a year by default; at least 720h): reminders go 30 and 7 days before, and a lapsed member is suspended"},
		{Name: "PORTAL_HASH_CONCURRENCY", Commands: []string{"serve", "dev", "seed demo"}, Help: "password hashes computed at once (each takes 19 MiB); default the number of CPUs"},
		{Name: "PORTAL_MAX_UPLOAD_MB", Default: "50", Commands: servers, Help: "largest research file accepted, in MiB"},
		{Name: "PORTAL_TRUSTED_PROXIES", Commands: servers, Help: "comma-separated CIDRs whose X-Forwarded-For/-Proto headers are trusted; empty trusts none"},
		{Name: "PORTAL_REQUEST_TIMEOUT", Default: "10s", Commands: servers, Help: "upper bound on the work of one API request"},
		{Name: "PORTAL_MEMORY_LIMIT", Default: "off", Commands: servers, Help: "soft limit on the memory the Go runtime manages (as GOMEMLIMIT: 64MiB, 1GiB, …; \"off\" for none): the garbage collector works harder as it nears the limit instead of letting the heap grow"},
		{Name: "GOMEMLIMIT", Commands: servers, Help: "the Go runtime's own soft memory limit; when set, it wins over PORTAL_MEMORY_LIMIT"},
		{Name: "PORTAL_LOG_LEVEL", Default: "info", Commands: state, Help: "debug, info, warn or error"},
		{Name: "PORTAL_LOG_FORMAT", Default: "json", Commands: state, Help: `"json" or "text"`},
		{Name: "PORTAL_COMPLAINT_RETENTION", Default: "12mo", Commands: []string{"serve", "dev", "complaints"}, Help: "how long the personal data of a closed complaint (name, e-mail, organisation, messages) is kept before it is erased: months (12mo), days (400d) or a Go duration; the case number, dates, decision and reason code stay for the statistics"},
		{Name: "PORTAL_COMPLAINT_GROUP", Default: "access-blocking", Commands: []string{"serve", "dev", "complaints"}, Help: "the access group whose members handle complaints (the review queue)"},
		{Name: "MEILI_URL", Commands: meili, Help: "Meilisearch base URL"},
		{Name: "MEILI_SEARCH_KEY", Secret: true, Commands: searchers, Help: "Meilisearch key with only the search and version actions, used to answer searches"},
		{Name: "MEILI_SEARCH_KEY_UID", Default: "0d4b8e52-3c1f-4b7a-9a55-6f0b7c2d9e11", Commands: searchers, Help: "the search key's uid, named in the tenant tokens every search goes through (the default is the uid `portal meili keys` gives it)"},
		{Name: "MEILI_INDEXING_KEY", Secret: true, Commands: servers, Help: "Meilisearch key with only documents.add, documents.delete and tasks.get on the research index: `portal serve` indexes uploads with it, and refuses a key that may do more"},
		{Name: "MEILI_ADMIN_KEY", Secret: true, Commands: indexes, Help: "Meilisearch key that creates, configures, swaps and deletes the portal's indexes: `portal index` and `portal reindex`; never `portal serve`"},
		{Name: "MEILI_MASTER_KEY", Secret: true, Commands: meili, Help: "Meilisearch master key; only `portal meili keys` and development use it (the other commands in place of MEILI_ADMIN_KEY), never `portal serve`, which refuses it"},
		{Name: "MEILI_BIN", Commands: []string{"dev"}, Help: "the Meilisearch binary to start; default .tools/meilisearch in the repository, then $PATH"},
		{Name: "HUGO", Commands: []string{"dev"}, Help: "a prebuilt Hugo of the version go.mod pins; default `go tool hugo`"},
	}
}

// LoadFor reads and validates the configuration of command cmd: only the
// variables it reads (Option.Commands); the others keep their defaults,
// unread and unchecked, so that a setting meant for `portal serve` cannot
// stop `portal meili keys`.
func LoadFor(cmd string, getenv func(string) string) (Config, error) {
	reads := map[string]bool{}
	for _, o := range Options() {
		if o.ReadBy(cmd) {
			reads[o.Name] = true
			if o.Secret {
				reads[o.Name+"_FILE"] = true
			}
		}
	}
	return Load(func(name string) string {
		if reads[name] {
			return getenv(name)
		}
		return ""
	})
}

// Load reads and validates the configuration from every variable in the
// table. getenv is os.Getenv outside tests. All problems are
// reported together, one per line.
func Load(getenv func(string) string) (Config, error) {
	var problems []string
	get := func(o Option) string {
		v := getenv(o.Name)
		if o.Secret {
			if file := getenv(o.Name + "_FILE"); file != "" {
				if v != "" {
					problems = append(problems, fmt.Sprintf("%s and %s_FILE are both set; set one", o.Name, o.Name))
				}
				b, err := os.ReadFile(file)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s_FILE: %v", o.Name, err))
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			v = o.Default
		}
		return v
	}
	vals := map[string]string{}
	for _, o := range Options() {
		vals[o.Name] = get(o)
	}

	c := Config{
		Env:              vals["PORTAL_ENV"],
		Addr:             vals["PORTAL_ADDR"],
		MetricsAddr:      vals["PORTAL_METRICS_ADDR"],
		SiteDir:          vals["PORTAL_SITE_DIR"],
		MembersSiteDir:   vals["PORTAL_MEMBERS_SITE_DIR"],
		ContentDir:       vals["PORTAL_CONTENT_DIR"],
		ReceiptKey:       vals["PORTAL_RECEIPT_KEY"],
		DataDir:          vals["PORTAL_DATA_DIR"],
		BlobURL:          vals["PORTAL_BLOB_URL"],
		BlobAccessKey:    vals["AWS_ACCESS_KEY_ID"],
		BlobSecretKey:    vals["AWS_SECRET_ACCESS_KEY"],
		MeiliURL:         strings.TrimRight(vals["MEILI_URL"], "/"),
		MeiliSearchKey:   vals["MEILI_SEARCH_KEY"],
		MeiliKeyUID:      vals["MEILI_SEARCH_KEY_UID"],
		MeiliAdminKey:    vals["MEILI_ADMIN_KEY"],
		MeiliIndexingKey: vals["MEILI_INDEXING_KEY"],
		MeiliMasterKey:   vals["MEILI_MASTER_KEY"],
		LogFormat:        vals["PORTAL_LOG_FORMAT"],
	}
	if c.Env != "production" && c.Env != "development" {
		problems = append(problems, fmt.Sprintf(`PORTAL_ENV must be "production" or "development", not %q`, c.Env))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("PORTAL_ADDR %q is not host:port", c.Addr))
	}
	if c.MetricsAddr != "" {
		// Port 0 (any free port, for tests) gives two listeners anyway.
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			problems = append(problems, fmt.Sprintf("PORTAL_METRICS_ADDR %q is not host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr && port != "0" {
			problems = append(problems, "PORTAL_METRICS_ADDR must differ from PORTAL_ADDR: metrics and profiles are never served on the public address")
		}
	}
	if c.DatabaseURL = vals["PORTAL_DATABASE_URL"]; c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, "PORTAL_DATABASE_URL is not a postgres:// URL")
		}
	}
	if c.MeiliURL != "" {
		if u, err := url.Parse(c.MeiliURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("MEILI_URL %q is not an http(s) URL", c.MeiliURL))
		}
	}
	for _, s := range strings.Split(vals["PORTAL_TRUSTED_PROXIES"], ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("PORTAL_TRUSTED_PROXIES: %q is not a CIDR", s))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	c.PublicURL, c.SMTPURL, c.MailFrom = strings.TrimRight(vals["PORTAL_PUBLIC_URL"], "/"), vals["PORTAL_SMTP_URL"], vals["PORTAL_MAIL_FROM"]
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			problems = append(problems, fmt.Sprintf("PORTAL_PUBLIC_URL %q is not an origin such as https://portal.example", c.PublicURL))
		}
	}
	if k := vals["PORTAL_SECRET_KEY"]; k != "" {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != 32 {
			problems = append(problems, "PORTAL_SECRET_KEY must be 64 hex digits (32 random bytes)")
		}
		c.SecretKey = b
	}
	for name, dst := range map[string]*time.Duration{"PORTAL_SESSION_IDLE": &c.SessionIdle, "PORTAL_SESSION_MAX": &c.SessionMax, "PORTAL_BLOB_HOLD": &c.BlobHold} {
		d, err := time.ParseDuration(vals[name])
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("%s %q is not a positive duration", name, vals[name]))
		}
		*dst = d
	}
	if v := vals["PORTAL_ATTESTATION_PERIOD"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 720*time.Hour {
			problems = append(problems, fmt.Sprintf("PORTAL_ATTESTATION_PERIOD %q is not a duration of at least 720h (30 days)", v))
		}
		c.AttestationPeriod = d
	}
	if c.SessionMax > 24*time.Hour || c.SessionIdle > time.Hour {
		problems = append(problems, "sessions may last at most 24h and idle at most 1h (NIST SP 800-63B AAL2)")
	}
	if v := vals["PORTAL_HASH_CONCURRENCY"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			problems = append(problems, fmt.Sprintf("PORTAL_HASH_CONCURRENCY %q is not a number from 1 to 256", v))
		}
		c.HashLimit = n
	}
	if n, err := strconv.Atoi(vals["PORTAL_MAX_UPLOAD_MB"]); err != nil || n < 1 || n > 2048 {
		problems = append(problems, fmt.Sprintf("PORTAL_MAX_UPLOAD_MB %q is not a number from 1 to 2048", vals["PORTAL_MAX_UPLOAD_MB"]))
	} else {
		c.MaxUploadBytes = int64(n) << 20
	}
	if d, err := parseRetention(vals["PORTAL_COMPLAINT_RETENTION"]); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.ComplaintRetention = d
	}
	c.ComplaintGroup = vals["PORTAL_COMPLAINT_GROUP"]
	d, err := time.ParseDuration(vals["PORTAL_REQUEST_TIMEOUT"])
	if err != nil || d <= 0 {
		problems = append(problems, fmt.Sprintf("PORTAL_REQUEST_TIMEOUT %q is not a positive duration", vals["PORTAL_REQUEST_TIMEOUT"]))
	}
	c.RequestTimeout = d
	if n, err := ParseMemoryLimit(vals["PORTAL_MEMORY_LIMIT"]); err != nil {
		problems = append(problems, fmt.Sprintf("PORTAL_MEMORY_LIMIT: %v", err))
	} else {
		c.MemoryLimit = n
	}
	if err := c.LogLevel.UnmarshalText([]byte(vals["PORTAL_LOG_LEVEL"])); err != nil {
		problems = append(problems, fmt.Sprintf("PORTAL_LOG_LEVEL %q is not debug, info, warn or error", vals["PORTAL_LOG_LEVEL"]))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		problems = append(problems, fmt.Sprintf(`PORTAL_LOG_FORMAT must be "json" or "text", not %q`, c.LogFormat))
	}
	if len(problems) > 0 {
		return c, errors.New("configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

// minMemoryLimit is the lowest PORTAL_MEMORY_LIMIT accepted: below it the
// heap of an idle portal would already be over the limit and the collector
// would run without pause.
const minMemoryLimit = 32 << 20

// ParseMemoryLimit reads a memory limit written as GOMEMLIMIT is: a whole
// number of bytes with an optional unit B, KiB, MiB, GiB or TiB. "off" or
// "0" means no limit (0).
func ParseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return 0, nil
	}
	num, shift := s, 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size such as 80MiB or 1GiB, or \"off\"", s)
	}
	if n <<= shift; n < minMemoryLimit {
		return 0, fmt.Errorf("%q is below the minimum of %d MiB", s, minMemoryLimit>>20)
	}
	return n, nil
}

// ValidateServe checks what `portal serve` needs beyond Load.
func (c Config) ValidateServe() error {
	var problems []string
	if c.MeiliURL == "" {
		problems = append(problems, "MEILI_URL is required (only `portal dev` starts a local Meilisearch)")
	}
	if c.MeiliSearchKey == "" {
		problems = append(problems, "MEILI_SEARCH_KEY is required")
	}
	if c.MeiliIndexingKey == "" {
		problems = append(problems, "MEILI_INDEXING_KEY is required (uploads are indexed as they arrive; `portal meili keys` prints it)")
	}
	if len(c.SecretKey) == 0 {
		problems = append(problems, "PORTAL_SECRET_KEY is required (generate one with: openssl rand -hex 32)")
	}
	// Reset, unlock and invitation links are credentials: without a relay
	// they would go to the log, and without the public origin they would
	// point at the listen address and passkeys would trust the request's
	// Host header (SECURITY.md ML-1, MF-8). Development logs the links and
	// uses the request's host on purpose.
	if c.Env == "production" {
		if c.SMTPURL == "" {
			problems = append(problems, "PORTAL_SMTP_URL is required in production: the portal mails reset, unlock and invitation links, which must never go to the log")
		}
		if c.PublicURL == "" {
			problems = append(problems, "PORTAL_PUBLIC_URL is required in production: mailed links and passkeys are bound to it")
		}
	}
	// The process that answers the internet must not hold the key that can
	// mint or delete every other key (SECURITY.md MS-1).
	if c.MeiliMasterKey != "" {
		problems = append(problems, "MEILI_MASTER_KEY must not be set for `portal serve`; give it only to `portal meili keys`")
	}
	if len(problems) > 0 {
		return errors.New("configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return nil
}

// Help describes the variables command cmd reads, for its --help, or is
// empty when it reads none. defaults replaces the table's default of a
// variable where the command uses its own.
func Help(cmd string, defaults map[string]string) string {
	var b strings.Builder
	for _, o := range Options() {
		if !o.ReadBy(cmd) {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("Environment:\n")
		}
		fmt.Fprintf(&b, "  %s", o.Name)
		if o.Secret {
			fmt.Fprintf(&b, " (or %s_FILE)", o.Name)
		}
		def := o.Default
		if d, ok := defaults[o.Name]; ok {
			def = d
		}
		if def != "" {
			fmt.Fprintf(&b, "  [default %s]", def)
		}
		fmt.Fprintf(&b, "\n      %s\n", o.Help)
	}
	return b.String()
}

// NewLogger returns the structured logger the configuration asks for.
// Times are written in UTC (RFC 3339 with Z), so that logs from several
// machines line up (SECURITY.md LG-2).
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			a.Value = slog.TimeValue(a.Value.Time().UTC())
		}
		return a
	}}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// LoadOrCreateSecret reads a development secret from path, or creates one of
// 32 random bytes (hex encoded) with mode 0600 when the file does not exist.
// Production secrets come from the environment or *_FILE variables instead.
func LoadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < 16 {
			return "", fmt.Errorf("secret in %s is shorter than 16 bytes", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	key := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create secret dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("sync secret: %w", err)
	}
	return key, f.Close()
}

// parseRetention reads PORTAL_COMPLAINT_RETENTION: months ("12mo", a month
// being a twelfth of 365 days), days ("400d") or a Go duration; at least a
// day.
func parseRetention(v string) (time.Duration, error) {
	bad := fmt.Errorf("PORTAL_COMPLAINT_RETENTION %q is not a period such as 12mo, 400d or 9600h", v)
	var d time.Duration
	switch {
	case strings.HasSuffix(v, "mo"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "mo"))
		if err != nil || n < 1 || n > 1200 {
			return 0, bad
		}
		d = time.Duration(n) * 365 * 24 * time.Hour / 12
	case strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || n < 1 || n > 36500 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	default:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, bad
		}
	}
	if d < 24*time.Hour {
		return 0, bad
	}
	return d, nil
}
