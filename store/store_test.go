package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
)

func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestPragmasOnBothPools(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for _, pool := range []struct {
		name string
		db   *sql.DB
	}{{"writer", db.writer}, {"reader", db.reader}} {
		// Hold several connections at once so that the check covers more
		// than the first connection of the pool.
		n := 1
		if pool.name == "reader" {
			n = 3
		}
		var conns []*sql.Conn
		for range n {
			c, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for _, tc := range []struct{ pragma, want string }{
				{"journal_mode", "wal"},
				{"synchronous", "2"},
				{"foreign_keys", "1"},
				{"busy_timeout", "10000"},
			} {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", pool.name, i, tc.pragma, err)
				}
				if got != tc.want {
					t.Errorf("%s conn %d: PRAGMA %s = %q, want %q", pool.name, i, tc.pragma, got, tc.want)
				}
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if _, err := db.reader.ExecContext(ctx, `CREATE TABLE x (y)`); err == nil {
		t.Error("reader pool accepted a write; want query_only")
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := range 3 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		var n, max int
		if err := db.reader.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if last := ms[len(ms)-1].version; n != len(ms) || max != last {
			t.Errorf("reopen %d: schema_migrations has %d rows up to %d, want %d up to %d", i, n, max, len(ms), last)
		}
		// SECURITY.md AU-9: migrations create no accounts.
		var users int
		if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
			t.Fatal(err)
		}
		if users != 0 {
			t.Errorf("fresh database has %d users, want 0", users)
		}
		db.Close()
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("database mode = %v, want 0600", got)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (999, '0999_future.sql', '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(ctx, path); err == nil {
		db.Close()
		t.Fatal("Open accepted a database migrated by a newer binary")
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	err := db.Update(ctx, func(tx account.Tx) error {
		return tx.InsertSession(ctx, &account.Session{ID: "x", UserID: "nobody", Stage: account.StageFull,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now})
	})
	if err == nil {
		t.Fatal("session for a missing user was inserted; want a foreign key error")
	}
}

func insertUser(ctx context.Context, db *DB, id string) error {
	now := time.Now()
	return db.Update(ctx, func(tx account.Tx) error {
		return tx.InsertUser(ctx, &account.UserRecord{
			User:         account.User{ID: id, Email: id + "@example.org", DisplayName: id, Role: account.RoleMember, Groups: []string{"members"}, CreatedAt: now, UpdatedAt: now},
			PasswordHash: "x",
		})
	})
}

func TestUserRoundTripAndConflict(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := insertUser(ctx, db, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := insertUser(ctx, db, "u1"); !errors.Is(err, account.ErrConflict) {
		t.Errorf("duplicate insert: got %v, want ErrConflict", err)
	}
	err := db.View(ctx, func(tx account.Tx) error {
		u, err := tx.UserByEmail(ctx, "u1@example.org")
		if err != nil {
			return err
		}
		if u.ID != "u1" || len(u.Groups) != 1 || u.Groups[0] != "members" || !u.LastFailureAt.IsZero() {
			t.Errorf("read back %+v", u)
		}
		_, err = tx.UserByID(ctx, "nope")
		if !errors.Is(err, account.ErrNotFound) {
			t.Errorf("missing user: got %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDurability commits in a child process, kills it with SIGKILL right
// after the commit returns, and checks that the row survived (SECURITY.md RE-1).
func TestDurability(t *testing.T) {
	if path := os.Getenv("STORE_CRASH_DB"); path != "" {
		crashChild(path, os.Getenv("STORE_CRASH_ID"))
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	const iterations = 20
	for i := range iterations {
		id := "crash-" + strconv.Itoa(i)
		cmd := exec.Command(exe, "-test.run=^TestDurability$")
		cmd.Env = append(os.Environ(), "STORE_CRASH_DB="+path, "STORE_CRASH_ID="+id)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "committed\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("iteration %d: child said %q, %v", i, line, err)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("iteration %d: reopen: %v", i, err)
		}
		var n int
		err = db.reader.QueryRow(`SELECT count(*) FROM users WHERE id LIKE 'crash-%'`).Scan(&n)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != i+1 {
			t.Fatalf("iteration %d: %d committed rows present, want %d", i, n, i+1)
		}
	}
}

// crashChild commits one row, reports it, and waits to be killed with the
// database still open.
func crashChild(path, id string) {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := insertUser(ctx, db, id); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("committed")
	time.Sleep(time.Minute)
	os.Exit(3)
}

// TestConcurrentWrites: many writers queue on the single writer connection
// instead of failing with SQLITE_BUSY (SECURITY.md RE-2), while readers keep reading.
func TestConcurrentWrites(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	log := audit.New(db, nil)
	if err := insertUser(ctx, db, "w"); err != nil {
		t.Fatal(err)
	}
	const workers, writes = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*writes*2)
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range writes {
				var err error
				if i%2 == 0 {
					err = log.Record(ctx, audit.Entry{Action: "test.write", Outcome: audit.OutcomeSuccess, Target: strconv.Itoa(w)})
				} else {
					now := time.Now()
					err = db.Update(ctx, func(tx account.Tx) error {
						return tx.InsertSession(ctx, &account.Session{ID: fmt.Sprintf("%d-%d", w, i), UserID: "w",
							Stage: account.StageFull, CreatedAt: now, LastSeenAt: now, ExpiresAt: now})
					})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
		go func() { // a reader beside each writer
			defer wg.Done()
			for range writes {
				if _, _, err := log.List(ctx, audit.Filter{Limit: 5}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent access: %v", err)
	}
	var entries, sessions int
	db.reader.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&entries)
	db.reader.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions)
	if want := workers * writes / 2; entries != want || sessions != want {
		t.Errorf("got %d audit rows and %d sessions, want %d each", entries, sessions, want)
	}
	res, err := log.Verify(ctx)
	if err != nil || !res.OK() {
		t.Errorf("Verify after concurrent appends = %+v, %v; want an intact chain", res, err)
	}
}

func TestBackup(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for i := range 5 {
		if err := insertUser(ctx, db, "b"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	st, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("backup mode = %v, want 0600", got)
	}
	if err := db.Backup(ctx, dest); err == nil {
		t.Error("Backup overwrote an existing file")
	}
	copyDB, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.reader.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v; want ok", check, err)
	}
	var n int
	copyDB.reader.QueryRow(`SELECT count(*) FROM users`).Scan(&n)
	if n != 5 {
		t.Errorf("backup has %d users, want 5", n)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := audit.New(db, nil).Record(ctx, audit.Entry{Action: "test.x", Outcome: audit.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET detail = 'x'`, `DELETE FROM audit_log`} {
		if _, err := db.writer.ExecContext(ctx, q); err == nil {
			t.Errorf("%s succeeded; want the append-only trigger to refuse", q)
		}
	}
}

func TestCheckExists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	if err := CheckExists(path); !errors.Is(err, ErrNoDatabase) {
		t.Errorf("missing file: %v, want ErrNoDatabase", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckExists(path); !errors.Is(err, ErrNoDatabase) {
		t.Errorf("empty file: %v, want ErrNoDatabase", err)
	}
	if err := CheckExists(dir); err == nil || errors.Is(err, ErrNoDatabase) {
		t.Errorf("a directory: %v, want another refusal", err)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := CheckExists(path); err != nil {
		t.Errorf("after Open: %v", err)
	}
}
