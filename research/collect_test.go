package research_test

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/blob"
	"portal/research"
)

// holds returns every hash with a row in blob_holds.
func (e *env) holds() []string {
	e.t.Helper()
	var out []string
	err := e.db.Research().View(e.ctx(), func(tx research.Tx) error {
		var err error
		out, err = tx.ExpiredBlobHolds(e.ctx(), time.Now().AddDate(100, 0, 0), 1000)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// deadUpload does what an upload on another instance does up to stage
// (1: stored under a temporary key, 2: and held, 3: and committed), then
// stops as if that instance were killed.
func (e *env) deadUpload(now time.Time, body string, stage int) blob.Temp {
	e.t.Helper()
	tmp, err := e.blobs.Put(e.ctx(), strings.NewReader(body), 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	if stage >= 2 {
		err := e.db.Research().Update(e.ctx(), func(tx research.Tx) error {
			ok, err := tx.HoldBlob(e.ctx(), tmp.SHA256, now, now.Add(research.DefaultBlobHold))
			if err == nil && !ok {
				err = errors.New("hold refused")
			}
			return err
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	if stage >= 3 {
		if err := e.blobs.Commit(e.ctx(), tmp); err != nil {
			e.t.Fatal(err)
		}
	}
	return tmp
}

// TestCollectAfterKilledUploads: uploads killed at each step leave no row
// without its file and nothing that a collection after the hold period
// does not remove; a collection within the hold period removes nothing an
// upload in progress needs, and a recorded file is never removed.
func TestCollectAfterKilledUploads(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(t *testing.T, tweak ...func(*research.Options)) *env) {
		clk := &clock{now: time.Now().UTC().Round(0)}
		e := newEnv(t, func(o *research.Options) { o.Now = clk.Now })
		alice := e.user("alice", account.RoleMember)
		kept := e.upload(alice, meta([]string{"members"}, access.Green), "kept.md", []byte("# Synthetic kept record\n"))
		if h := e.holds(); len(h) != 0 {
			t.Fatalf("a recorded upload left hold rows %q", h)
		}

		e.deadUpload(clk.Now(), "# Synthetic file stored only\n", 1)
		e.deadUpload(clk.Now(), "# Synthetic file stored and held\n", 2)
		committed := e.deadUpload(clk.Now(), "# Synthetic file stored, held and named\n", 3)
		if n := e.blobFiles(); n != 4 {
			t.Fatalf("%d files after the killed uploads, want 4 (one recorded, two temporary, one named)", n)
		}

		// Within the hold period the killed uploads could be live ones on
		// another instance: nothing of theirs goes.
		got, err := e.svc.Collect(e.ctx())
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if got != (research.Collected{}) || e.blobFiles() != 4 {
			t.Fatalf("Collect within the hold period removed %+v; %d files left, want 4", got, e.blobFiles())
		}
		// A file held by an upload in progress cannot be removed by its
		// failed twin on this instance either: the same bytes uploaded by
		// a member the database does not know fail after storing.
		ghost := &account.User{ID: "user-ghost", Email: "ghost@example.org", Role: account.RoleMember, Groups: []string{"members"}}
		if _, err := e.svc.Upload(e.ctx(), ghost, meta([]string{"members"}, access.Green), "x.md",
			strings.NewReader("# Synthetic file stored, held and named\n"), e.c); err == nil {
			t.Fatal("upload by an unknown member succeeded")
		}
		if f, err := e.blobs.Open(e.ctx(), committed.SHA256); err != nil {
			t.Fatalf("a failed upload removed a file another upload holds: %v", err)
		} else {
			f.Close()
		}

		clk.advance(research.DefaultBlobHold + time.Minute)
		got, err = e.svc.Collect(e.ctx())
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		// Two hashes: the named file, and the held one that never got its
		// name; and the two temporary keys.
		if got.Blobs != 2 || got.Temps != 2 {
			t.Errorf("Collect after the hold period = %+v, want 2 hashes and 2 temporary keys", got)
		}
		if n := e.blobFiles(); n != 1 {
			t.Errorf("%d files left, want only the recorded one", n)
		}
		if h := e.holds(); len(h) != 0 {
			t.Errorf("hold rows left: %q", h)
		}
		if _, err := e.blobs.Open(e.ctx(), committed.SHA256); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the killed upload's named file is still there: %v", err)
		}
		_, _, f, err := e.svc.OpenVersion(e.ctx(), alice, kept.ID, 0, e.c)
		if err != nil {
			t.Fatalf("the recorded file is gone: %v", err)
		}
		f.Close()
	})
}

// TestHoldAndDeletionExclude checks the statements that order uploads and
// deletions of one hash across instances: a hold is refused while the
// hash is being deleted, a deletion while it is held or recorded, and a
// version cannot be recorded once its hold has lapsed.
func TestHoldAndDeletionExclude(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC()
	h := strings.Repeat("ab", 32)
	update := func(fn func(tx research.Tx) (bool, error)) bool {
		t.Helper()
		var ok bool
		if err := e.db.Research().Update(e.ctx(), func(tx research.Tx) error {
			var err error
			ok, err = fn(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	hold := func(at time.Time) bool {
		return update(func(tx research.Tx) (bool, error) { return tx.HoldBlob(e.ctx(), h, at, at.Add(time.Minute)) })
	}
	mark := func(at time.Time) bool {
		return update(func(tx research.Tx) (bool, error) { return tx.MarkBlobDeleting(e.ctx(), h, at, at.Add(time.Minute)) })
	}
	renew := func(at time.Time) bool {
		return update(func(tx research.Tx) (bool, error) { return tx.RenewBlobHold(e.ctx(), h, at.Add(time.Minute)) })
	}
	release := func() {
		update(func(tx research.Tx) (bool, error) { return true, tx.ReleaseBlob(e.ctx(), h) })
	}

	// Two uploads of the same file hold it at once.
	for i := range 2 {
		if !hold(now) {
			t.Fatalf("hold %d refused on a free hash", i+1)
		}
	}
	if mark(now) {
		t.Fatal("a held hash was marked for deletion")
	}
	release()
	if mark(now) {
		t.Fatal("a hash still held once was marked for deletion")
	}
	release()
	if !mark(now) {
		t.Fatal("a hash without holds was not marked for deletion")
	}
	if hold(now) || renew(now) {
		t.Fatal("a hash being deleted was held")
	}
	if mark(now) {
		t.Fatal("a live deletion was taken over")
	}
	// A deletion whose instance died is taken over after it expires.
	later := now.Add(2 * time.Minute)
	if !mark(later) {
		t.Fatal("an expired deletion was not taken over")
	}
	update(func(tx research.Tx) (bool, error) { return true, tx.ForgetBlob(e.ctx(), h) })
	if !hold(later) {
		t.Fatal("hold refused after the deletion ended")
	}
	// The holder dies: after expiry its hold counts for nothing.
	if mark(later) {
		t.Fatal("a live hold was overridden")
	}
	if !mark(later.Add(2 * time.Minute)) {
		t.Fatal("an expired hold still protects the hash")
	}

	// A recorded hash is never marked, held or not.
	alice := e.user("alice", account.RoleMember)
	d := e.upload(alice, meta([]string{"members"}, access.Green), "r.md", []byte("# Synthetic recorded\n"))
	_, vs, err := e.svc.Get(e.ctx(), alice, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	h = vs[0].SHA256
	if mark(later.Add(time.Hour)) {
		t.Fatal("a recorded hash was marked for deletion")
	}
	_, _, f, err := e.svc.OpenVersion(e.ctx(), alice, d.ID, 0, e.c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil || buf.String() != "# Synthetic recorded\n" {
		t.Fatalf("read %q, %v", buf.String(), err)
	}
	f.Close()
}
