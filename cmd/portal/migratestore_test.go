package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/blob"
	"portal/extract"
	"portal/portaltest"
	"portal/portaltest/pgtest"
	"portal/research"
	"portal/store"
	"portal/training"
)

// TestMigrateStore moves an installation from SQLite to PostgreSQL: every
// table's rows arrive (counts and checksums), audit verify prints the same
// head on both engines, the target keeps working (its identity sequences
// moved past the copied ids), and a second copy into it is refused.
func TestMigrateStore(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("ab", 32)
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": secret}
	if out, err := runCmd(t, env, "users", "create-admin", "--email", "admin@example.org"); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "portal.db")
	key, _ := hex.DecodeString(secret)
	fill := func(db *store.DB, n int) {
		t.Helper()
		ctx := t.Context()
		log := audit.New(db, nil).WithKey(audit.ChainKey(key))
		now := time.Now()
		for i := range n {
			id := fmt.Sprintf("user%d-%d", n, i)
			err := db.Update(ctx, func(tx account.Tx) error {
				if err := tx.InsertUser(ctx, &account.UserRecord{User: account.User{ID: id, Email: id + "@example.org",
					DisplayName: "Synthetic " + id, Role: account.RoleMember, Groups: []string{"members"}, CreatedAt: now, UpdatedAt: now},
					PasswordHash: "x", TOTPSecret: []byte{0, 1, 2, byte(i)}}); err != nil {
					return err
				}
				return tx.InsertSession(ctx, &account.Session{ID: "s" + id, UserID: id, Stage: account.StageFull,
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.1", UserAgent: "test ?"})
			})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Progress().Update(ctx, func(tx training.Tx) error {
				return tx.InsertAttempt(ctx, &training.Attempt{UserID: id, Module: "m", Lang: "en", Score: 80, Passed: true, At: now,
					Results: []training.QuestionResult{{ID: "q1", Correct: true}, {ID: "q2", Correct: false}}})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := log.Record(ctx, audit.Entry{Actor: id, Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess, Detail: "é ✓"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	src, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	fill(src, 30)
	src.Close()

	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	url := srv.Database(t, "")
	out, err := runCmd(t, env, "migrate-store", "--from", "sqlite:"+path, "--to", url)
	if err != nil || !strings.Contains(out, "counts and checksums match") || !strings.Contains(out, "audit chain verified") {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	for _, table := range []string{"users", "sessions", "audit_log", "training_quiz_attempts", "training_quiz_answers"} {
		if !strings.Contains(out, table) {
			t.Errorf("the report names no %s:\n%s", table, out)
		}
	}

	// audit verify says the same on both engines.
	lite, err := runCmd(t, env, "audit", "verify")
	if err != nil {
		t.Fatalf("audit verify on SQLite: %v\n%s", err, lite)
	}
	pgEnv := map[string]string{"PORTAL_DATA_DIR": t.TempDir(), "PORTAL_SECRET_KEY": secret, "PORTAL_DATABASE_URL": url}
	pg, err := runCmd(t, pgEnv, "audit", "verify")
	if err != nil || pg != lite || !strings.Contains(pg, "intact") {
		t.Errorf("audit verify on PostgreSQL: %v\n%s\nwant what SQLite says:\n%s", err, pg, lite)
	}

	// The target goes on: new rows get new ids, the chain grows.
	dst, err := store.OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	fill(dst, 3)
	res, err := audit.New(dst, nil).WithKey(audit.ChainKey(key)).Verify(t.Context())
	if err != nil || !res.OK() {
		t.Errorf("Verify on the target after new entries = %+v, %v", res, err)
	}
	dst.Close()

	out, err = runCmd(t, env, "migrate-store", "--from", "sqlite:"+path, "--to", url)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("migrate-store into a non-empty target: %v\n%s; want a refusal", err, out)
	}
}

// TestMigrateStoreBlobs moves the originals from a blob directory to a
// bucket on the real SeaweedFS, on their own and with the records: every
// blob arrives under its name, a record naming an original the directory
// lacks stops the move before anything is copied, and a non-empty bucket
// is refused with both targets left as they were.
func TestMigrateStoreBlobs(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	secret := strings.Repeat("cd", 32)
	weed, err := portaltest.Weed.Get()
	if err != nil {
		t.Fatalf("SeaweedFS: %v", err)
	}
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": secret,
		"AWS_ACCESS_KEY_ID": weed.AccessKey, "AWS_SECRET_ACCESS_KEY": weed.SecretKey}
	bucketURL := func() string {
		t.Helper()
		name, err := weed.MakeBucket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return weed.URL(name)
	}
	// inBucket lists a bucket's blobs, each read back against its name.
	inBucket := func(rawURL string) map[string]int64 {
		t.Helper()
		s, err := blob.OpenURL(ctx, rawURL, "", weed.AccessKey, weed.SecretKey)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got := map[string]int64{}
		err = s.List(ctx, func(i blob.Info) error {
			f, err := s.Open(ctx, i.SHA256)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if n, err := io.Copy(h, f); err != nil || n != i.Size || hex.EncodeToString(h.Sum(nil)) != i.SHA256 {
				return fmt.Errorf("blob %s reads as %d bytes, %v", i.SHA256, n, err)
			}
			got[i.SHA256] = i.Size
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// The installation: three stored originals, each named by a record.
	blobDir := filepath.Join(dir, "blobs")
	blobs, err := blob.OpenDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	want := map[string]int64{}
	store1 := func(data string) research.Version {
		t.Helper()
		tmp, err := blobs.Put(ctx, strings.NewReader(data), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := blobs.Commit(ctx, tmp); err != nil {
			t.Fatal(err)
		}
		want[tmp.SHA256] = tmp.Size
		return research.Version{Number: 1, SHA256: tmp.SHA256, Size: tmp.Size, Kind: extract.KindText, Filename: "synthetic.txt", Pages: 1}
	}
	db, err := store.Open(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	uploader := account.User{ID: "uploader", Email: "uploader@example.org", DisplayName: "Synthetic Uploader",
		Role: account.RoleTrainer, Groups: []string{"members"}, CreatedAt: now, UpdatedAt: now}
	if err := db.Update(ctx, func(tx account.Tx) error {
		return tx.InsertUser(ctx, &account.UserRecord{User: uploader, PasswordHash: "x"})
	}); err != nil {
		t.Fatal(err)
	}
	record := func(i int, v research.Version) {
		t.Helper()
		id := fmt.Sprintf("%032x", i)
		v.UploadedBy, v.UploadedAt = uploader.ID, now
		err := db.Research().Update(ctx, func(tx research.Tx) error {
			d := &research.Document{ID: id, UploaderID: uploader.ID, CreatedAt: now, UpdatedAt: now, CurrentVersion: 1, Revision: 1,
				IndexState: research.IndexPending, Metadata: research.Metadata{Title: fmt.Sprintf("Synthetic record %d", i),
					Authors: []string{"Synthetic Author"}, Year: 2024, Language: "en", Type: research.TypeStudy,
					AccessGroups: []string{"members"}, TLP: access.Green}}
			if err := tx.InsertDocument(ctx, d); err != nil {
				return err
			}
			return tx.InsertVersion(ctx, id, &v)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, data := range []string{"Synthetic original one.\n", "Synthetic original two.\n", strings.Repeat("Synthetic original three. ", 4000)} {
		record(i, store1(data))
	}
	// A fourth record names an original the directory lacks.
	lost := []byte("Synthetic original that is missing from the directory.\n")
	lostSum := sha256.Sum256(lost)
	record(3, research.Version{Number: 1, SHA256: hex.EncodeToString(lostSum[:]), Size: int64(len(lost)), Kind: extract.KindText, Filename: "lost.txt", Pages: 1})
	db.Close()

	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	pgURL := srv.Database(t, "")
	bucket := bucketURL()
	all := []string{"migrate-store", "--from", "sqlite:" + filepath.Join(dir, "portal.db"), "--to", pgURL, "--from-blobs", blobDir, "--to-blobs", bucket}

	if out, err := runCmd(t, env, "migrate-store", "--from-blobs", filepath.Join(dir, "no-such-dir"), "--to-blobs", bucket); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("migrate-store from a missing directory: %v\n%s; want a refusal", err, out)
	}
	if out, err := runCmd(t, env, "migrate-store", "--from-blobs", blobDir); err == nil {
		t.Errorf("migrate-store with --from-blobs alone: %s; want a usage error", out)
	}
	out, err := runCmd(t, env, all...)
	if err == nil || !strings.Contains(err.Error(), "lacks") || !strings.Contains(err.Error(), hex.EncodeToString(lostSum[:])) {
		t.Fatalf("migrate-store with an original missing: %v\n%s; want a refusal naming it", err, out)
	}
	if got := inBucket(bucket); len(got) != 0 {
		t.Fatalf("after the refusal the bucket holds %v", got)
	}

	// With the missing original back, records and originals move together.
	tmp, err := blobs.Put(ctx, bytes.NewReader(lost), 1<<20)
	if err == nil {
		err = blobs.Commit(ctx, tmp)
	}
	if err != nil {
		t.Fatal(err)
	}
	want[tmp.SHA256] = tmp.Size
	out, err = runCmd(t, env, all...)
	if err != nil || !strings.Contains(out, "audit chain verified") || !strings.Contains(out, fmt.Sprintf("copied %d originals", len(want))) {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	if got := inBucket(bucket); !maps.Equal(got, want) {
		t.Errorf("the bucket holds %v, want %v", got, want)
	}

	// A non-empty bucket is refused before the records are copied: the
	// refused run leaves the second database empty for a later move.
	pgURL2 := srv.Database(t, "")
	out, err = runCmd(t, env, "migrate-store", "--from", "sqlite:"+filepath.Join(dir, "portal.db"), "--to", pgURL2, "--from-blobs", blobDir, "--to-blobs", bucket)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("migrate-store into a non-empty bucket: %v\n%s; want a refusal", err, out)
	}
	if out, err := runCmd(t, env, "migrate-store", "--from", "sqlite:"+filepath.Join(dir, "portal.db"), "--to", pgURL2); err != nil {
		t.Errorf("records-only migrate-store after the refusal: %v\n%s", err, out)
	}

	// On their own, into a new bucket, and the copy's report says so.
	bucket2 := bucketURL()
	out, err = runCmd(t, env, "migrate-store", "--from-blobs", "file://"+blobDir, "--to-blobs", bucket2)
	if err != nil || !strings.Contains(out, fmt.Sprintf("copied %d originals", len(want))) || !strings.Contains(out, "matches its SHA-256") {
		t.Fatalf("migrate-store of the originals alone: %v\n%s", err, out)
	}
	if got := inBucket(bucket2); !maps.Equal(got, want) {
		t.Errorf("the second bucket holds %v, want %v", got, want)
	}
}
