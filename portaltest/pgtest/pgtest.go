// Package pgtest runs a private PostgreSQL 15 for the tests, as meilitest
// runs Meilisearch: initdb into a temporary directory, a postmaster that
// listens only on a unix socket in that directory, one server per test
// binary, and a fresh database per test copied from a template. It never
// touches the system's PostgreSQL service, and fails (never skips) when the
// binaries are missing.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// BinDir holds Debian's PostgreSQL 15 server binaries.
const BinDir = "/usr/lib/postgresql/15/bin"

// Server is a running private PostgreSQL.
type Server struct {
	dir   string // socket and data directory, owned by the server's user
	cmd   *exec.Cmd
	done  chan error
	admin *sql.DB

	mu        sync.Mutex
	n         int
	templates map[string]error
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared starts the test binary's server on first use and returns it;
// TestMain stops it with StopShared.
func Shared() (*Server, error) {
	shared.once.Do(func() { shared.srv, shared.err = Start() })
	return shared.srv, shared.err
}

// StopShared stops the server Shared started, if any, and removes its files.
func StopShared() {
	if shared.srv != nil {
		_ = shared.srv.Stop()
	}
}

// Start runs initdb into a new temporary directory and starts postgres on a
// unix socket there. fsync is off: the data is thrown away at the end.
func Start() (*Server, error) { return start(false) }

// StartDurable is Start with PostgreSQL's own durability settings (fsync,
// full-page writes, synchronous commit), as a production server runs: for
// the benchmark harness, which compares the store on it with SQLite's,
// whose commits are synchronous=FULL.
func StartDurable() (*Server, error) { return start(true) }

func start(durable bool) (*Server, error) {
	initdb := filepath.Join(BinDir, "initdb")
	if _, err := os.Stat(initdb); err != nil {
		return nil, fmt.Errorf("pgtest: PostgreSQL 15 is missing (%w); make test-deps installs Debian's postgresql", err)
	}
	dir, err := os.MkdirTemp("", "portal-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	cred, err := serverUser(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	// The locale is C: text sorts by bytes, as SQLite's BINARY collation
	// does (store.Open refuses another collation).
	out, err := command(cred, initdb, "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
		"--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	s := &Server{dir: dir, done: make(chan error, 1), templates: map[string]error{}}
	args := []string{"-D", data, "-k", dir, "-c", "listen_addresses=", "-c", "max_connections=300", "-c", "log_min_messages=fatal"}
	if !durable {
		args = append(args, "-F", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	}
	s.cmd = command(cred, filepath.Join(BinDir, "postgres"), args...)
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	if s.admin, err = sql.Open("pgx", s.URL("postgres")); err != nil {
		s.Stop()
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s.admin.SetMaxOpenConns(2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = s.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case werr := <-s.done:
			s.done <- werr
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			s.Stop()
			return nil, fmt.Errorf("pgtest: postgres exited: %v\n%s", werr, log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("pgtest: postgres did not answer in 30s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverUser returns the credentials to run the server with: PostgreSQL
// refuses to run as root, so under root (CI, these machines) it runs as the
// postgres user, which then owns dir. The process is started with those
// credentials directly rather than through runuser, so that the signals
// that stop it reach the postmaster itself.
func serverUser(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
	// Its own process group keeps it out of a terminal's Ctrl-C, so that
	// TestMain stops it in order; the parent's death stops it otherwise.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	return cmd
}

// Stop shuts the server down (fast shutdown) and removes its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err = <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			err = <-s.done
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// URL is the connection URL of database name as the superuser.
func (s *Server) URL(name string) string { return s.RoleURL(name, "postgres") }

// RoleURL is the connection URL of database name as role (the socket
// trusts every role; the tests are about what a role may do, not about
// passwords).
func (s *Server) RoleURL(name, role string) string {
	q := url.Values{"host": {s.dir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(role), Path: "/" + name, RawQuery: q.Encode()}).String()
}

// Exec runs a statement as the superuser on the postgres database.
func (s *Server) Exec(ctx context.Context, query string) error {
	if _, err := s.admin.ExecContext(ctx, query); err != nil {
		return fmt.Errorf("pgtest: %s: %w", query, err)
	}
	return nil
}

// Template creates database name once per server and fills it with fill
// (given its URL), for Database to copy. fill must close its connections.
func (s *Server) Template(ctx context.Context, name string, fill func(url string) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err, ok := s.templates[name]; ok {
		return err
	}
	err := s.Exec(ctx, "CREATE DATABASE "+quoteIdent(name))
	if err == nil {
		err = fill(s.URL(name))
	}
	s.templates[name] = err
	return err
}

// Database creates a new database for t, a copy of template (an empty
// database when template is ""), dropped when t ends, and returns its URL
// as the superuser, who owns it.
func (s *Server) Database(t testing.TB, template string) string {
	t.Helper()
	return s.URL(s.DatabaseName(t, template))
}

// DatabaseName is Database, returning the database's name.
func (s *Server) DatabaseName(t testing.TB, template string) string {
	t.Helper()
	name, err := s.NewDatabase(context.Background(), template)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Exec(context.Background(), "DROP DATABASE "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	return name
}

// NewDatabase creates a new database copied from template (template0 when
// "") and returns its name.
func (s *Server) NewDatabase(ctx context.Context, template string) (string, error) {
	if template == "" {
		template = "template0"
	}
	// CREATE DATABASE refuses a template another CREATE DATABASE is
	// copying, so copies are made one at a time.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	name := "test_" + strconv.Itoa(s.n)
	// FILE_COPY copies the template's few megabytes at once instead of
	// logging every page, which fsync off makes cheap.
	if err := s.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+quoteIdent(template)+" STRATEGY FILE_COPY"); err != nil {
		return "", err
	}
	return name, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
