package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/portaltest"
	"portal/store"
)

// `portal alerts send` makes a digest pass at once beside a running
// `portal serve`: the due search's notification is in the member's inbox
// and its mail, queued by the command, is sent by serve's mail loop. serve
// stops its digest loop at shutdown.
func TestAlertsSendCommand(t *testing.T) {
	s := startServe(t)
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i + 1) // startServe's
	}
	uploader := seedUploader(t, s.DataDir, secret)
	member := portaltest.NewClientAt(t, s.URL)
	member.Login(s.Member.Email, s.Member.Password, s.Member.TOTPSecret, time.Now())
	up := portaltest.NewClientAt(t, s.URL)
	up.Login(uploader.Email, uploader.Password, uploader.TOTPSecret, time.Now())

	tag := fmt.Sprintf("larch%d", time.Now().UnixNano()%1e6)
	var ss struct{ ID string }
	member.JSON("POST", "/api/me/saved-searches", map[string]any{"name": "Synthetic larch", "text": tag, "alert": "daily"}, http.StatusCreated, &ss)
	title := "Synthetic larch study " + tag
	resp, body := up.Upload("POST", "/api/research", map[string]any{
		"title": title, "authors": []string{"Synthetic Author"}, "organisation": "Test Organisation (synthetic)",
		"abstract": "Synthetic record.", "year": 2023, "language": "en", "type": "study",
		"topics": []string{"victim-identification"}, "countries": []string{"FR"}, "regions": []string{"europe"},
		"access": []string{"members"}, "tlp": "TLP:GREEN",
	}, "larch.txt", []byte("Synthetic text on the "+tag+" method."))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}

	// A day passes for the search: its window opened yesterday.
	db, err := sql.Open("sqlite", filepath.Join(s.DataDir, "portal.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	yesterday := time.Now().Add(-25 * time.Hour).UTC().Format(audit.TimeFormat)
	if _, err := db.ExecContext(t.Context(), `UPDATE saved_searches SET last_digest_at = ? WHERE id = ?`, yesterday, ss.ID); err != nil {
		t.Fatal(err)
	}

	send := exec.Command(portalBinary(t), "alerts", "send")
	send.Env = s.cmd.Env
	out, err := send.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 notifications, 1 mails queued") {
		t.Fatalf("portal alerts send: %v\n%s", err, out)
	}
	var in struct {
		Unread int
		Items  []struct{ Record struct{ Title string } }
	}
	member.JSON("GET", "/api/me/notifications", nil, http.StatusOK, &in)
	if in.Unread != 1 || len(in.Items) != 1 || in.Items[0].Record.Title != title {
		t.Errorf("inbox after the pass: %+v", in)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mails, err := s.Mailpit.Messages(t.Context(), s.Member.Email)
		if err != nil {
			t.Fatal(err)
		}
		if len(mails) > 0 {
			if !strings.Contains(mails[0].Text, title) {
				t.Errorf("digest mail:\n%s", mails[0].Text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not send the digest the command queued")
		}
		time.Sleep(100 * time.Millisecond)
	}

	s.stop(t)
	if !strings.Contains(s.logs.String(), `"msg":"stopped alert digests"`) {
		t.Error("serve did not stop its digest loop at shutdown")
	}
}

// seedUploader creates a second enrolled member in the serving portal's
// database.
func seedUploader(t *testing.T, dataDir string, secret []byte) portaltest.User {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(dataDir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	accounts, err := account.New(db, audit.New(db, time.Now).WithKey(audit.ChainKey(secret)),
		account.Options{SecretKey: secret, Argon2: portaltest.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	const password = "velvet quarry lantern harbour"
	u, totp, err := accounts.SeedUser(t.Context(), "uploader@test.invalid", "Test Uploader", account.RoleMember, []string{"members"}, password)
	if err != nil {
		t.Fatal(err)
	}
	return portaltest.User{User: u, Password: password, TOTPSecret: totp}
}
