package bench

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/extract"
	"portal/proc"
	"portal/research"
	"portal/store"
)

// pprofOverlay is added to the portal's main package, through the go
// command's -overlay (nothing is written into cmd/portal), for the
// profiling run only: it serves net/http/pprof on BENCH_PPROF_ADDR.
const pprofOverlay = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`

// BuildPortal builds the portal binary (cmd/portal) into dir, and a copy
// with a pprof listener for profiling.
func BuildPortal(ctx context.Context, root, dir string) (plain, profiled string, err error) {
	plain, profiled = filepath.Join(dir, "portal"), filepath.Join(dir, "portal-pprof")
	build := func(out string, extra ...string) error {
		args := append([]string{"build"}, extra...)
		args = append(args, "-o", out, "./cmd/portal")
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	if err := build(plain); err != nil {
		return "", "", err
	}
	src := filepath.Join(dir, "zz_bench_pprof.go")
	if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
		return "", "", err
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(root, "cmd", "portal", "zz_bench_pprof.go"): src}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		return "", "", err
	}
	return plain, profiled, build(profiled, "-overlay", ov)
}

// PortalEnv is the environment of the portal's commands.
type PortalEnv struct {
	SiteDir, DataDir string
	SecretKey        string // hex
	Meili            *Meili
	Addr             string
	// DatabaseURL, when set, puts the portal's records in PostgreSQL
	// (PORTAL_DATABASE_URL) instead of DataDir/portal.db.
	DatabaseURL string
}

// NewPortalEnv prepares a data directory and a secret key.
func NewPortalEnv(dataDir, siteDir string, m *Meili) (*PortalEnv, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	return &PortalEnv{SiteDir: siteDir, DataDir: dataDir, SecretKey: hex.EncodeToString(k), Meili: m, Addr: addr}, nil
}

// Environ is the portal's environment, built from nothing but PATH and
// HOME: the master key never reaches it.
func (e *PortalEnv) Environ(siteDir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"PORTAL_ENV=production",
		"PORTAL_ADDR=" + e.Addr,
		"PORTAL_SITE_DIR=" + siteDir,
		"PORTAL_DATA_DIR=" + e.DataDir,
		"PORTAL_SECRET_KEY=" + e.SecretKey,
		// Production needs a relay and the public origin for the links it
		// mails; the benchmark sends none, so nothing needs to answer.
		"PORTAL_SMTP_URL=smtp://127.0.0.1:9",
		"PORTAL_PUBLIC_URL=http://" + e.Addr,
		// The harness plays a proxy in front of many clients (the login
		// burst): it names them in X-Forwarded-For.
		"PORTAL_TRUSTED_PROXIES=127.0.0.1/32",
		"PORTAL_LOG_LEVEL=" + cmp.Or(os.Getenv("BENCH_PORTAL_LOG_LEVEL"), "warn"),
		"MEILI_URL=" + e.Meili.URL,
		"MEILI_SEARCH_KEY=" + e.Meili.SearchKey,
		"MEILI_SEARCH_KEY_UID=" + e.Meili.SearchKeyUID,
		"MEILI_INDEXING_KEY=" + e.Meili.IndexingKey,
	}
	if e.DatabaseURL != "" {
		env = append(env, "PORTAL_DATABASE_URL="+e.DatabaseURL)
	}
	return env
}

// OperatorEnviron is Environ with the admin key, which the operator's
// commands (`portal reindex`) use to create and swap indexes and `portal
// serve` no longer holds.
func (e *PortalEnv) OperatorEnviron(siteDir string) []string {
	return append(e.Environ(siteDir), "MEILI_ADMIN_KEY="+e.Meili.AdminKey)
}

// Portal is a running `portal serve`.
type Portal struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// PID is the server's process id.
func (p *Portal) PID() int { return p.cmd.Process.Pid }

// StartPortal runs `bin serve` with env and waits until /api/health answers.
func StartPortal(ctx context.Context, bin string, env []string) (*Portal, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &log}, &syncWriter{w: &log}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := ""
	for _, kv := range env {
		if a, ok := strings.CutPrefix(kv, "PORTAL_ADDR="); ok {
			addr = a
		}
	}
	p := &Portal{URL: "http://" + addr, cmd: cmd, done: make(chan struct{}), log: &log}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(90 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("portal serve exited: %s", log.String())
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := c.Get(p.URL + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	p.Stop()
	return nil, fmt.Errorf("portal did not become healthy: %s", log.String())
}

// Stop ends the server (SIGTERM, then SIGKILL).
func (p *Portal) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Log is what the server wrote.
func (p *Portal) Log() string { return p.log.String() }

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// Accounts opens the portal's database beside a stopped or running portal
// and seeds accounts as `portal seed demo` does (production Argon2 cost).
type Accounts struct {
	db  *store.DB
	svc *account.Service
}

// OpenAccounts opens the database of env: PostgreSQL when env has a
// DatabaseURL (migrated as `portal db migrate` does), the SQLite file in
// its data directory otherwise.
func OpenAccounts(ctx context.Context, env *PortalEnv) (*Accounts, error) {
	if err := os.MkdirAll(env.DataDir, 0o700); err != nil {
		return nil, err
	}
	var (
		db  *store.DB
		err error
	)
	if env.DatabaseURL != "" {
		db, err = store.OpenPostgres(ctx, env.DatabaseURL)
	} else {
		db, err = store.Open(ctx, filepath.Join(env.DataDir, "portal.db"))
	}
	if err != nil {
		return nil, err
	}
	key, _ := hex.DecodeString(env.SecretKey)
	svc, err := account.New(db, audit.New(db, nil), account.Options{SecretKey: key})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Accounts{db: db, svc: svc}, nil
}

// Close closes the database.
func (a *Accounts) Close() error { return a.db.Close() }

// Seed creates n accounts named prefix-i with the given groups (cycled)
// and role, two at a time (Argon2 is the cost).
func (a *Accounts) Seed(ctx context.Context, prefix string, n int, role account.Role, groups [][]string) ([]Member, []account.User, error) {
	out := make([]Member, n)
	users := make([]account.User, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			g := groups[i%len(groups)]
			m := Member{Email: fmt.Sprintf("%s-%d@bench.invalid", prefix, i), Password: rand.Text(), Groups: g}
			u, secret, err := a.svc.SeedUser(ctx, m.Email, fmt.Sprintf("Bench %s %d (synthetic)", prefix, i), role, g, m.Password)
			if err != nil {
				errs <- fmt.Errorf("seed %s: %w", m.Email, err)
				return
			}
			m.TOTP, m.Groups = secret, u.Groups
			out[i], users[i] = m, u
		}()
	}
	wg.Wait()
	close(errs)
	return out, users, <-errs
}

// InsertResearch writes records into the portal's research store as
// uploads would have left them, with the given index state: pending for the
// records `portal reindex` rebuilds, indexed for the ones the harness loads
// into Meilisearch itself (the portal checks every hit against the store).
func (a *Accounts) InsertResearch(ctx context.Context, uploader string, recs []Record, state research.IndexState) error {
	now := time.Now().UTC()
	return a.db.Research().Update(ctx, func(tx research.Tx) error {
		for _, rec := range recs {
			d := rec.Doc
			doc := &research.Document{
				ID: d.ID,
				Metadata: research.Metadata{Title: d.Title, Authors: d.Authors, Organisation: d.Organisation,
					Abstract: d.Abstract, Year: d.Year, Language: d.Language, Type: research.Type(d.Type),
					Topics: d.Topics, Countries: d.Countries, Regions: d.Regions, AccessGroups: d.AccessGroups,
					TLP: access.TLP(d.TLP)},
				UploaderID: uploader, CreatedAt: now, UpdatedAt: d.UpdatedAt,
				CurrentVersion: 1, Revision: 1, IndexState: state,
			}
			if err := tx.InsertDocument(ctx, doc); err != nil {
				return err
			}
			var text bytes.Buffer
			ps := make([]research.Passage, len(rec.Passages))
			for i, p := range rec.Passages {
				ps[i] = research.Passage{Number: p.Number, Text: p.Text}
				text.WriteString(p.Text)
			}
			sum := sha256.Sum256(text.Bytes())
			if err := tx.InsertVersion(ctx, d.ID, &research.Version{Number: 1, SHA256: hex.EncodeToString(sum[:]),
				Size: int64(text.Len()), Kind: extract.KindText, Filename: "synthetic.txt", Pages: len(ps),
				UploadedBy: uploader, UploadedAt: now}); err != nil {
				return err
			}
			if err := tx.InsertPassages(ctx, d.ID, 1, ps); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reindex runs `portal reindex` and returns the whole command's wall time
// and its research indexing stage, measured from the progress bar. The
// command reports 0 records once the new index has been created with its
// settings and before it reads the first record from the store, and the
// total once the rebuilt index is live and the store records it; between
// them come reports as Meilisearch confirms batches. The stage is the time
// from the 0 report to the final one: reading the store, sending every
// batch, Meilisearch indexing them, the swap, and recording the index
// states. Creating the build index before and dropping the replaced one
// after are not counted, as the raw side's index creation is not.
func Reindex(ctx context.Context, bin string, env []string) (total, stage time.Duration, out string, err error) {
	cmd := exec.CommandContext(ctx, bin, "reindex")
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	marker := []byte("\rresearch [")
	var (
		times []time.Time // when each report's marker arrived, in order
		buf   bytes.Buffer
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		b := make([]byte, 4096)
		for {
			n, err := pr.Read(b)
			now := time.Now()
			buf.Write(b[:n])
			// Counted over everything read, so that a marker split
			// between two reads is counted once it is whole.
			for k := bytes.Count(buf.Bytes(), marker); len(times) < k; {
				times = append(times, now)
			}
			if err != nil {
				return
			}
		}
	}()
	start := time.Now()
	err = cmd.Run()
	total = time.Since(start)
	pw.Close()
	<-readDone
	out = buf.String() + stderr.String()
	if err != nil {
		return total, 0, out, fmt.Errorf("portal reindex: %w\n%s", err, out)
	}
	reports := reportRE.FindAllStringSubmatch(buf.String(), -1)
	if len(reports) < 2 || len(reports) != len(times) {
		return total, 0, out, fmt.Errorf("portal reindex: %d progress reports, %d readable: too few to time the indexing stage by", len(times), len(reports))
	}
	first, last := reports[0], reports[len(reports)-1]
	if first[1] != "0" || last[1] != last[2] {
		return total, 0, out, fmt.Errorf("portal reindex: progress ran from %s/%s to %s/%s, not from 0 to the total", first[1], first[2], last[1], last[2])
	}
	return total, times[len(times)-1].Sub(times[0]), out, nil
}

// reportRE matches one progress report of `portal reindex`: done, total.
var reportRE = regexp.MustCompile(`\rresearch \[[#.]*\] (\d+)/(\d+)`)
