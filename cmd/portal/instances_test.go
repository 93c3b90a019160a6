package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"portal/audit"
	"portal/mail/mailpit"
	"portal/portaltest"
	"portal/portaltest/pgtest"
	"portal/research"
	"portal/search"
	"portal/search/meilitest"
	"portal/store"
	"portal/store/storetest"
)

// instance is one `portal serve` of a multi-instance test.
type instance struct {
	name   string
	cmd    *exec.Cmd
	URL    string
	logs   *portaltest.LogBuffer
	exited chan error
}

// startInstance starts `portal serve` with env and waits until it listens.
func startInstance(t *testing.T, name string, env []string) *instance {
	t.Helper()
	in := &instance{name: name, logs: &portaltest.LogBuffer{}, exited: make(chan error, 1)}
	in.cmd = exec.Command(portalBinary(t), "serve")
	in.cmd.Env = env
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			in.logs.Write(append(line, '\n'))
			var l struct{ Msg, URL string }
			if json.Unmarshal(line, &l) == nil && l.Msg == "portal listening" {
				listening <- l.URL
			}
		}
		io.Copy(io.Discard, stderr)
		in.exited <- in.cmd.Wait()
	}()
	t.Cleanup(func() {
		if in.cmd.ProcessState == nil {
			in.cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("portal %s logs:\n%s", name, in.logs.String())
		}
	})
	select {
	case in.URL = <-listening:
	case err := <-in.exited:
		t.Fatalf("portal %s exited at start: %v\n%s", name, err, in.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("portal %s did not start:\n%s", name, in.logs.String())
	}
	return in
}

// leaseTaken reports whether the instance's log says it took the lease.
func (in *instance) leaseTaken(name string) bool {
	for line := range strings.Lines(in.logs.String()) {
		var l struct{ Msg, Lease string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "lease: taken; running its work here" && l.Lease == name {
			return true
		}
	}
	return false
}

// within polls cond every 200 ms for up to d.
func within(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func researchMeta(title string) map[string]any {
	return map[string]any{
		"title": title, "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record for the two-instance test.", "year": 2024, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": []string{"members"}, "tlp": "TLP:GREEN",
	}
}

// TestTwoInstances runs two `portal serve` processes on one database, one
// Meilisearch and one bucket, as behind a load balancer (issue 13,
// "Several portals at once"): on one PostgreSQL (the test binary's,
// pgtest), and on the SQLite file of a shared PORTAL_DATA_DIR.
func TestTwoInstances(t *testing.T) {
	for _, engine := range []store.Engine{store.Postgres, store.SQLite} {
		t.Run(string(engine), func(t *testing.T) { twoInstances(t, engine) })
	}
}

func twoInstances(t *testing.T, engine store.Engine) {
	siteDir, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	meili := meilitest.Start(t)
	keys := testKeys(t, meili)
	pages, err := search.ReadFeeds(siteDir)
	if err != nil {
		t.Fatal(err)
	}
	ix := search.NewIndexer(search.NewClient(meili.URL, keys.admin), nil)
	if err := ix.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ix.IndexSite(ctx, pages); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i + 7)
	}
	dataDir := t.TempDir()
	dbLoc := filepath.Join(dataDir, "portal.db")
	if engine == store.Postgres {
		srv, err := pgtest.Shared()
		if err != nil {
			t.Fatal(err)
		}
		dbLoc = srv.Database(t, "")
	}
	member := seedMemberAt(t, dbLoc, secret)
	mailpitBin, err := mailpit.FindBinary()
	if err != nil {
		t.Fatal(err)
	}
	mp, err := mailpit.Start(ctx, mailpit.Options{Binary: mailpitBin, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Stop() })
	weed, err := portaltest.Weed.Get()
	if err != nil {
		t.Fatalf("SeaweedFS: %v", err)
	}
	bucket, err := weed.MakeBucket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := weed.Client()
	if err != nil {
		t.Fatal(err)
	}

	// A short hold, so that the collection of a killed upload's leftovers
	// runs within the test: it also sets how often it runs.
	const hold = 15 * time.Second
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"PORTAL_ADDR=127.0.0.1:0",
		"PORTAL_DATA_DIR=" + dataDir,
		"PORTAL_SITE_DIR=" + siteDir,
		"PORTAL_SECRET_KEY=" + hex.EncodeToString(secret),
		"PORTAL_LOG_LEVEL=debug",
		"PORTAL_SMTP_URL=" + mp.SMTPURL,
		"PORTAL_PUBLIC_URL=https://portal.example",
		"PORTAL_MAIL_FROM=portal@example.org",
		"PORTAL_BLOB_HOLD=" + hold.String(),
		"MEILI_URL=" + meili.URL,
		"MEILI_SEARCH_KEY=" + keys.search,
		"MEILI_INDEXING_KEY=" + keys.indexing,
	}
	env = append(env, weed.Env(bucket)...)
	if engine == store.Postgres {
		env = append(env, "PORTAL_DATABASE_URL="+dbLoc)
	}
	a := startInstance(t, "a", env)
	b := startInstance(t, "b", env)

	// A session made through one instance is valid on the other.
	ca := portaltest.NewClientAt(t, a.URL)
	ca.Login(member.Email, member.Password, member.TOTPSecret, time.Now())
	cb := portaltest.NewClientAt(t, b.URL)
	cb.SetCookie("__Host-portal_session", ca.Cookie("__Host-portal_session"))
	cb.JSON("GET", "/api/me", nil, http.StatusOK, nil)
	cb.RefreshCSRF()

	// An upload through one is downloadable and searchable through the
	// other.
	text := "# Synthetic two-instance record\n\nIt mentions the cobalt meridian accord.\n"
	resp, body := ca.Upload("POST", "/api/research", researchMeta("Synthetic two-instance record"), "record.md", []byte(text))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload through a: %d %s", resp.StatusCode, body)
	}
	var doc struct{ ID, IndexState string }
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	resp, body = cb.Do("GET", "/api/research/"+doc.ID+"/download", nil)
	if resp.StatusCode != http.StatusOK || string(body) != text {
		t.Fatalf("download through b: %d %q", resp.StatusCode, body)
	}
	var res struct{ Hits []struct{ ID string } }
	found := within(20*time.Second, func() bool {
		cb.JSON("GET", "/api/search?"+url.Values{"q": {"cobalt meridian accord"}, "scope": {"research"}}.Encode(), nil, http.StatusOK, &res)
		return len(res.Hits) > 0 && res.Hits[0].ID == doc.ID
	})
	if !found {
		t.Fatalf("search through b: %+v (upload's index state %s)", res.Hits, doc.IndexState)
	}

	// A session ended through one is ended on both.
	resp, body = cb.Do("DELETE", "/api/session", nil)
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Fatalf("logout through b: %d %s", resp.StatusCode, body)
	}
	if resp, _ := ca.Do("GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a still honours the session ended through b: %d", resp.StatusCode)
	}

	// A login throttle triggered through one holds on the other.
	const nobody = "nobody@test.invalid"
	try := func(in *instance) (int, string) {
		c := portaltest.NewClientAt(t, in.URL)
		c.RefreshCSRF()
		resp, body := c.Do("POST", "/api/session", map[string]string{"email": nobody, "password": "not the password at all"})
		return resp.StatusCode, string(body)
	}
	throttled := false
	for range 8 {
		if code, body := try(a); code == http.StatusTooManyRequests {
			throttled = strings.Contains(body, `"throttled"`)
			break
		}
	}
	if !throttled {
		t.Fatal("a never throttled the failed logins")
	}
	if code, body := try(b); code != http.StatusTooManyRequests || !strings.Contains(body, `"throttled"`) {
		t.Fatalf("b after a throttled the address: %d %s, want 429 throttled", code, body)
	}

	// The re-push loop runs on exactly one instance, and so does the
	// recognition of scanned pages.
	leases := []string{"research re-push", "page recognition"}
	if !within(30*time.Second, func() bool {
		for _, name := range leases {
			if !a.leaseTaken(name) && !b.leaseTaken(name) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("an instance each should have taken the leases %q", leases)
	}
	time.Sleep(2 * time.Second)
	for _, name := range leases {
		if a.leaseTaken(name) == b.leaseTaken(name) {
			t.Fatalf("lease %q taken by a: %v, b: %v; want exactly one", name, a.leaseTaken(name), b.leaseTaken(name))
		}
	}
	holder, survivor := a, b
	if b.leaseTaken("research re-push") {
		holder, survivor = b, a
	}

	// The holder is killed in the middle of an upload: its first 8 MiB
	// part is in the bucket, the rest never comes.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	// A new window of the per-address limit (10 requests in 10 s, counted
	// across instances), which the logins and failures above may have
	// used up.
	time.Sleep(time.Until(time.Now().Truncate(10 * time.Second).Add(10 * time.Second)))
	hc := portaltest.NewClientAt(t, holder.URL)
	hc.Login(member.Email, member.Password, member.TOTPSecret, time.Now().Add(30*time.Second))
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="metadata"`)
		h.Set("Content-Type", "application/json")
		part, _ := mw.CreatePart(h)
		json.NewEncoder(part).Encode(researchMeta("Synthetic upload cut short"))
		fw, _ := mw.CreateFormFile("file", "big.txt")
		line := []byte(strings.Repeat("synthetic filler text ", 40) + "\n")
		for written := 0; written < 12<<20; written += len(line) {
			if _, err := fw.Write(line); err != nil {
				return // the instance died
			}
		}
		select {} // never finishes
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", holder.URL+"/api/research", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-CSRF-Token", hc.CSRF())
	req.AddCookie(&http.Cookie{Name: "__Host-portal_session", Value: hc.Cookie("__Host-portal_session")})
	uploadDone := make(chan struct{})
	go func() {
		defer close(uploadDone)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	unfinished := func() int {
		n := 0
		for u := range s3.ListIncompleteUploads(ctx, bucket, "", true) {
			if u.Err == nil {
				n++
			}
		}
		return n
	}
	if !within(time.Minute, func() bool { return unfinished() > 0 }) {
		t.Fatal("the upload never reached the bucket")
	}
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-holder.exited
	pw.CloseWithError(io.ErrClosedPipe)
	<-uploadDone

	// The survivor takes the work over within a minute.
	if !within(time.Minute, func() bool { return survivor.leaseTaken("research re-push") }) {
		t.Fatal("the survivor did not take the re-push lease over within a minute")
	}
	// The killed upload's leftovers are collected, and every recorded
	// version still has its file.
	objects := func() []string {
		var out []string
		for o := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				out = append(out, o.Key)
			}
		}
		return out
	}
	if !within(2*time.Minute, func() bool { return unfinished() == 0 }) {
		t.Fatalf("the killed upload's unfinished upload was never collected; objects %q", objects())
	}
	db, err := storetest.OpenAt(ctx, dbLoc)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hashes []string
	err = db.Research().View(ctx, func(tx research.Tx) error {
		ids, err := tx.DocumentIDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			vs, err := tx.Versions(ctx, id)
			if err != nil {
				return err
			}
			for _, v := range vs {
				hashes = append(hashes, v.SHA256)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := objects()
	if len(hashes) != 1 || len(got) != 1 || !strings.HasSuffix(got[0], hashes[0]) {
		t.Fatalf("versions name %q, the bucket holds %q: want the one recorded file and nothing else", hashes, got)
	}
	// Both instances appended to the audit log, each under the write lock:
	// one chain, which verifies under the portals' key.
	chain, err := audit.New(db, nil).WithKey(audit.ChainKey(secret)).Verify(ctx)
	if err != nil || !chain.OK() || chain.Entries < 5 {
		t.Errorf("audit chain after two instances: %+v, %v; want one intact chain of their entries", chain, err)
	}
}
