package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/access"
	"portal/audit"
	"portal/backup"
	"portal/portaltest"
	"portal/proc"
	"portal/search"
	"portal/search/meilitest"
	"portal/store"
)

func envList(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runBin runs one portal command to its end and returns its output.
func runBin(t *testing.T, bin string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = envList(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// servePortal starts `portal serve` and waits until it answers. stop
// sends SIGINT and waits for the process to end; it also runs at cleanup.
func servePortal(t *testing.T, bin string, env map[string]string) (base string, stop func()) {
	t.Helper()
	addr, err := proc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env["PORTAL_ADDR"] = addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = envList(mailEnv(env))
	logs := &portaltest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("portal serve logs:\n%s", logs)
		}
	})
	base = "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("portal serve ended: %v\n%s", err, logs)
		default:
		}
		resp, err := http.Get(base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop
			}
		}
	}
	t.Fatalf("portal serve did not answer within a minute\n%s", logs)
	return "", nil
}

// testKeys gives m the portal's keys, as `portal meili keys` does.
func testKeys(t *testing.T, m *meilitest.Instance) meiliKeys {
	t.Helper()
	k, err := provisionKeys(t.Context(), search.NewClient(m.URL, m.MasterKey))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type demoCreds struct {
	Users []struct{ Email, Password, TOTPSecret, Role string }
}

func (d demoCreds) login(t *testing.T, c *portaltest.Client, email string, at time.Time) {
	t.Helper()
	for _, u := range d.Users {
		if u.Email == email {
			c.Login(u.Email, u.Password, u.TOTPSecret, at)
			return
		}
	}
	t.Fatalf("no demo user %s", email)
}

// upload is one document the load put in, as the test knows it.
type upload struct {
	id, word, sha string
	answered      time.Time // when the portal confirmed it (after its commit)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestBackupUnderLoadAndRestore(t *testing.T) {
	bin := portalBinary(t)
	siteDir, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	membersDir, err := portaltest.BuildMembersSite()
	if err != nil {
		t.Fatal(err)
	}
	m := meilitest.Start(t)
	keys := testKeys(t, m)
	secret := make([]byte, 32)
	rand.Read(secret)
	dataDir := filepath.Join(t.TempDir(), "data")
	common := map[string]string{"PORTAL_DATA_DIR": dataDir, "PORTAL_SECRET_KEY": hex.EncodeToString(secret),
		"PORTAL_SITE_DIR": siteDir, "PORTAL_MEMBERS_SITE_DIR": membersDir, "PORTAL_LOG_FORMAT": "text"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for _, e := range []map[string]string{common, extra} {
			for k, v := range e {
				out[k] = v
			}
		}
		return out
	}
	if out, err := runBin(t, bin, with(map[string]string{"PORTAL_ENV": "development", "MEILI_URL": m.URL, "MEILI_MASTER_KEY": m.MasterKey}),
		"seed", "demo", "--research", "12"); err != nil {
		t.Fatalf("seed demo: %v\n%s", err, out)
	}
	var creds demoCreds
	b, err := os.ReadFile(filepath.Join(dataDir, "demo-credentials.json"))
	if err != nil || json.Unmarshal(b, &creds) != nil {
		t.Fatalf("demo credentials: %v", err)
	}
	serveEnv := with(map[string]string{"MEILI_URL": m.URL, "MEILI_SEARCH_KEY": keys.search, "MEILI_INDEXING_KEY": keys.indexing})
	base, stopServer := servePortal(t, bin, serveEnv)
	live := &portaltest.Portal{URL: base}

	// The seeded library as the analyst sees it, with each original's hash.
	analyst := live.NewClient(t)
	creds.login(t, analyst, "analyst@demo.invalid", time.Now())
	seeded := map[string]string{}
	var res struct{ Hits []struct{ ID, Kind string } }
	analyst.JSON("GET", "/api/search?"+url.Values{"q": {"synthetic"}, "scope": {"research"}}.Encode(), nil, 200, &res)
	for _, h := range res.Hits {
		resp, body := analyst.Do("GET", "/api/research/"+h.ID+"/download", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("download seeded %s: %d", h.ID, resp.StatusCode)
		}
		seeded[h.ID] = sum(body)
	}
	if len(seeded) == 0 {
		t.Fatal("the analyst sees no seeded research")
	}

	// The load: uploads, member searches and logins, until stop.
	officer := live.NewClient(t)
	creds.login(t, officer, "officer@demo.invalid", time.Now())
	stop := make(chan struct{})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		uploads []upload
		counts  = map[string]int{}
	)
	count := func(what string) { mu.Lock(); counts[what]++; mu.Unlock() }
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			word := fmt.Sprintf("backupword%dx%s", i, strings.ToLower(rand.Text()[:6]))
			content := []byte(fmt.Sprintf("Synthetic record %d for the backup test. It mentions %s once.\n", i, word))
			resp, body := analyst.Upload("POST", "/api/research", map[string]any{
				"title": "Synthetic backup test record " + fmt.Sprint(i), "authors": []string{"Synthetic Author"},
				"organisation": "Test Organisation (synthetic)", "abstract": "Synthetic record for the backup test.",
				"year": 2024, "language": "en", "type": "study", "topics": []string{"victim-identification"},
				"countries": []string{"FR"}, "regions": []string{"europe"},
				"access": []string{"victim-identification"}, "tlp": access.Green,
			}, fmt.Sprintf("record-%d.txt", i), content)
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("upload %d: %d %s", i, resp.StatusCode, body)
				return
			}
			var d struct{ ID string }
			json.Unmarshal(body, &d)
			mu.Lock()
			uploads = append(uploads, upload{id: d.ID, word: word, sha: sum(content), answered: time.Now()})
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, body := officer.Do("GET", "/api/search?"+url.Values{"q": {"synthetic study"}}.Encode(), nil)
			if resp.StatusCode != 200 {
				t.Errorf("member search: %d %s", resp.StatusCode, body)
				return
			}
			count("search")
		}
	}()
	go func() {
		defer wg.Done()
		// Failed logins, each for another unknown address (a fixed one would
		// be throttled), paced under the per-address limit on secret routes.
		c := live.NewClient(t)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(700 * time.Millisecond):
			}
			c.RefreshCSRF()
			resp, body := c.Do("POST", "/api/session", map[string]string{"email": fmt.Sprintf("nobody%d@example.invalid", i), "password": "not the password at all"})
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
				t.Errorf("failed login: %d %s", resp.StatusCode, body)
				return
			}
			count("login")
		}
	}()
	waitFor := func(what string, n int) {
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			got := counts[what]
			if what == "upload" {
				got = len(uploads)
			}
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) || t.Failed() {
				close(stop)
				wg.Wait()
				t.Fatalf("load: %d %s in a minute, want %d", got, what, n)
			}
		}
	}
	waitFor("upload", 3)
	waitFor("login", 2)

	// What committed before the backup starts: the uploads answered so far
	// and the audit log up to its current head.
	liveDB, err := store.Open(t.Context(), filepath.Join(dataDir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	headBefore, err := audit.New(liveDB, nil).Head(t.Context())
	liveDB.Close()
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	backupDir := filepath.Join(t.TempDir(), "backup")
	out, err := runBin(t, bin, common, "backup", "--to", backupDir)
	finished := time.Now()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "backup: 100%") || strings.Contains(out, "\r") {
		t.Errorf("backup output without a terminal should be plain progress lines:\n%s", out)
	}
	waitFor("upload", len(uploads)+2) // the load goes on after the backup
	close(stop)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	stopServer()
	t.Logf("load: %d uploads, %d searches, %d failed logins; backup took %v", len(uploads), counts["search"], counts["login"], finished.Sub(started))

	// The secret key is nowhere in the backup.
	filepath.WalkDir(backupDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), common["PORTAL_SECRET_KEY"]) || strings.Contains(string(b), string(secret)) {
				t.Errorf("%s holds the secret key", p)
			}
		}
		return nil
	})

	// It holds what its manifest lists and nothing else (no leftover
	// -wal or temporary file).
	man, err := backup.ReadManifest(backupDir, secret)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{backup.ManifestName: true}
	for _, f := range man.Files {
		listed[f.Path] = true
	}
	filepath.WalkDir(backupDir, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(backupDir, p)
		if err == nil && !d.IsDir() && !listed[filepath.ToSlash(rel)] {
			t.Errorf("the backup holds %s, which its manifest does not list", rel)
		}
		return nil
	})

	tamperChecks(t, backupDir, common["PORTAL_SECRET_KEY"])

	// Restore into a new directory, as on a new machine.
	newDir := filepath.Join(t.TempDir(), "restored")
	out, err = runBin(t, bin, map[string]string{"PORTAL_SECRET_KEY": common["PORTAL_SECRET_KEY"]}, "restore", "--from", backupDir, "--data-dir", newDir)
	if err != nil || !strings.Contains(out, "portal reindex") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(newDir, "secret.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the restored directory holds a secret key file: %v", err)
	}
	for _, name := range []string{"members-manifest.json", "members-search.json", "en/training-catalogue.json"} {
		want, _ := os.ReadFile(filepath.Join(membersDir, name))
		got, err := os.ReadFile(filepath.Join(newDir, backup.MembersDir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("restored members build: %s differs (%v)", name, err)
		}
	}

	// Nothing that committed before the backup started is missing, and the
	// audit log runs on unbroken to the head the backup recorded.
	restoredDB, err := store.Open(t.Context(), filepath.Join(newDir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	restoredLog := audit.New(restoredDB, nil).WithKey(audit.ChainKey(secret))
	found := false
	restoredDB.ScanAudit(t.Context(), func(e audit.Entry) error {
		if e.ID == headBefore.ID {
			found = e.Hash == headBefore.Hash
		}
		return nil
	})
	if !found {
		t.Errorf("audit entry %d, the head before the backup started, is not in the restore as it was", headBefore.ID)
	}
	// At least that long: entries written while the backup ran may or may
	// not be in it, depending on when its snapshot was taken (the search
	// audit is written in batches, so a quick backup can see none).
	if v, err := restoredLog.Verify(t.Context()); err != nil || !v.OK() || v.Entries < int(headBefore.ID) {
		t.Errorf("restored audit log: %+v, %v; want intact and at least %d entries", v, err, headBefore.ID)
	}
	restoredDB.Close()

	// A new Meilisearch, as after losing the machine: reindex, then serve.
	m2 := meilitest.Start(t)
	keys2 := testKeys(t, m2)
	restoredEnv := map[string]string{"PORTAL_DATA_DIR": newDir, "PORTAL_SECRET_KEY": common["PORTAL_SECRET_KEY"],
		"PORTAL_SITE_DIR": siteDir, "PORTAL_MEMBERS_SITE_DIR": filepath.Join(newDir, backup.MembersDir), "PORTAL_LOG_FORMAT": "text",
		"MEILI_URL": m2.URL, "MEILI_SEARCH_KEY": keys2.search, "MEILI_INDEXING_KEY": keys2.indexing, "MEILI_ADMIN_KEY": keys2.admin}
	if out, err := runBin(t, bin, restoredEnv, "reindex"); err != nil || !strings.Contains(out, "index equals the store") {
		t.Fatalf("reindex of the restore: %v\n%s", err, out)
	}
	if out, err := runBin(t, bin, restoredEnv, "audit", "verify"); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify of the restore: %v\n%s", err, out)
	}
	base2, _ := servePortal(t, bin, restoredEnv)
	restored := &portaltest.Portal{URL: base2}
	analyst2 := restored.NewClient(t)
	// The code of the next step: the restored database remembers the last
	// one used, and refuses it again.
	creds.login(t, analyst2, "analyst@demo.invalid", time.Now().Add(30*time.Second))
	for id, want := range seeded {
		if resp, body := analyst2.Do("GET", "/api/research/"+id+"/download", nil); resp.StatusCode != 200 || sum(body) != want {
			t.Errorf("seeded %s after restore: status %d, hash %s, want %s", id, resp.StatusCode, sum(body), want)
		}
	}
	var before, after, kept int
	for _, u := range uploads {
		resp, body := analyst2.Do("GET", "/api/research/"+u.id+"/download", nil)
		switch {
		case resp.StatusCode == 200 && sum(body) == u.sha:
			kept++
		case resp.StatusCode == 200:
			t.Errorf("upload %s after restore: hash %s, want %s", u.id, sum(body), u.sha)
		case u.answered.Before(started):
			t.Errorf("upload %s, committed before the backup started, is missing after restore: %d", u.id, resp.StatusCode)
		case !u.answered.Before(finished):
			after++ // committed after the backup ended: rightly absent
			continue
		}
		if u.answered.Before(started) {
			before++
		}
	}
	if before < 3 {
		t.Errorf("only %d uploads checked from before the backup", before)
	}
	t.Logf("uploads: %d from before the backup, %d restored in all, %d after it absent", before, kept, after)

	// On a terminal the progress is one bar that redraws itself. script(1)
	// gives the command a terminal; the restored directory is the source.
	termEnv := map[string]string{"PORTAL_DATA_DIR": newDir, "PORTAL_SECRET_KEY": common["PORTAL_SECRET_KEY"]}
	line := bin + " backup --to " + filepath.Join(t.TempDir(), "again")
	if out, err := runBin(t, "script", termEnv, "-qec", line, "/dev/null"); err != nil ||
		!strings.Contains(out, "\rbackup [") || !strings.Contains(out, "##############################]") {
		t.Errorf("backup on a terminal: %v\n%q", err, out)
	}

	// Search answers after reindex, research included.
	for _, u := range uploads {
		if !u.answered.Before(started) {
			continue
		}
		var res struct {
			Hits []struct{ ID string }
		}
		analyst2.JSON("GET", "/api/search?"+url.Values{"q": {u.word}, "scope": {"research"}}.Encode(), nil, 200, &res)
		if len(res.Hits) == 0 || res.Hits[0].ID != u.id {
			t.Errorf("search for %s after restore and reindex: %+v, want %s", u.word, res.Hits, u.id)
		}
	}
	var pub struct{ Total int }
	restored.NewClient(t).JSON("GET", "/api/search?q=notice&lang=en", nil, 200, &pub)
	if pub.Total == 0 {
		t.Error("public search answers nothing after restore and reindex")
	}
}

// tamperChecks restores altered copies of a good backup and expects each
// to be refused with the target left empty.
func tamperChecks(t *testing.T, good, key string) {
	t.Helper()
	var man backup.Manifest
	b, _ := os.ReadFile(filepath.Join(good, backup.ManifestName))
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	var blobPath string
	for _, f := range man.Files {
		if strings.HasPrefix(f.Path, "blobs/") {
			blobPath = f.Path
			break
		}
	}
	if blobPath == "" {
		t.Fatal("the backup holds no blobs")
	}
	cases := []struct {
		name   string
		alter  func(dir string)
		key    string
		target func(t *testing.T) string
		want   string
	}{
		{"blob changed", func(dir string) {
			p := filepath.Join(dir, filepath.FromSlash(blobPath))
			b, _ := os.ReadFile(p)
			b[0] ^= 1
			os.Remove(p) // it may be a hard link to the live blob
			os.WriteFile(p, b, 0o600)
		}, key, nil, "does not verify"},
		{"manifest hash edited", func(dir string) {
			p := filepath.Join(dir, backup.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), man.Files[0].SHA256, strings.Repeat("0", 64), 1)), 0o600)
		}, key, nil, "MAC does not match"},
		{"database changed, manifest re-hashed but unsigned", func(dir string) {
			p := filepath.Join(dir, "portal.db")
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o600)
			mp := filepath.Join(dir, backup.ManifestName)
			mb, _ := os.ReadFile(mp)
			os.WriteFile(mp, []byte(strings.Replace(string(mb), man.Files[0].SHA256, sum(b), 1)), 0o600)
		}, key, nil, "MAC does not match"},
		{"another secret key", func(string) {}, strings.Repeat("cd", 32), nil, "MAC does not match"},
		{"target not empty", func(string) {}, key, func(t *testing.T) string {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("operator's file"), 0o600)
			return dir
		}, "not empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			if out, err := exec.Command("cp", "-r", good, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			c.alter(dir)
			target := filepath.Join(t.TempDir(), "new")
			if c.target != nil {
				target = c.target(t)
			}
			before, _ := os.ReadDir(target)
			out, err := runCmd(t, map[string]string{"PORTAL_SECRET_KEY": c.key}, "restore", "--from", dir, "--data-dir", target)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("restore: %v, want a refusal saying %q\n%s", err, c.want, out)
			}
			after, _ := os.ReadDir(target)
			if len(after) != len(before) {
				t.Errorf("the refused restore left %d entries in the target, had %d", len(after), len(before))
			}
		})
	}
}

// TestBackupRefusesAMissingDatabase: a mistyped data directory must not
// give an empty backup.
func TestBackupRefusesAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	_, err := runCmd(t, map[string]string{"PORTAL_DATA_DIR": filepath.Join(dir, "typo"), "PORTAL_SECRET_KEY": strings.Repeat("ab", 32)},
		"backup", "--to", filepath.Join(dir, "b"))
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("backup of a missing data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup created the mistyped data directory: %v", err)
	}
}

// TestBackupRefusesWhatItCannotCover: with the records in PostgreSQL or
// the originals in a bucket (or a directory it does not read), backup
// refuses and names the tool that does cover them, rather than write a
// backup with half the installation.
func TestBackupRefusesWhatItCannotCover(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": strings.Repeat("ab", 32)}
	if out, err := runCmd(t, env, "users", "create-admin", "--email", "admin@example.org"); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"PORTAL_DATABASE_URL": "postgres://portal@db.invalid/portal"}, []string{"pg_dump"}},
		{map[string]string{"PORTAL_BLOB_URL": "s3://originals/portal?endpoint=s3.invalid:9000"}, []string{"versioning", "--from-blobs s3://originals/portal"}},
		{map[string]string{"PORTAL_BLOB_URL": filepath.Join(dir, "elsewhere")}, []string{"back that directory up apart"}},
		{map[string]string{"PORTAL_DATABASE_URL": "postgres://portal@db.invalid/portal", "PORTAL_BLOB_URL": "s3://originals/?endpoint=s3.invalid:9000"},
			[]string{"pg_dump", "versioning"}},
	} {
		to := filepath.Join(t.TempDir(), "b")
		_, err := runCmd(t, map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": env["PORTAL_SECRET_KEY"],
			"PORTAL_DATABASE_URL": c.env["PORTAL_DATABASE_URL"], "PORTAL_BLOB_URL": c.env["PORTAL_BLOB_URL"]}, "backup", "--to", to)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("backup with %v: %v; want a refusal saying %q", c.env, err, w)
			}
		}
		if _, err := os.Stat(to); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("backup with %v wrote %s: %v", c.env, to, err)
		}
	}
	// The default directory, named explicitly, is what backup reads.
	if out, err := runCmd(t, map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET_KEY": env["PORTAL_SECRET_KEY"],
		"PORTAL_BLOB_URL": "file://" + filepath.Join(dir, "blobs")}, "backup", "--to", filepath.Join(t.TempDir(), "b")); err != nil {
		t.Errorf("backup with PORTAL_BLOB_URL naming PORTAL_DATA_DIR/blobs: %v\n%s", err, out)
	}
}
