package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/complaints"
	"portal/store"
)

// TestComplaintsOverdueCommand: one pass from the command line reports a
// case that missed its targets to the leads once; the next pass finds
// nothing new.
func TestComplaintsOverdueCommand(t *testing.T) {
	dir := t.TempDir()
	dev := map[string]string{"PORTAL_ENV": "development", "PORTAL_DATA_DIR": dir}
	// create-admin makes the database and the development secret.
	if out, err := runCmd(t, dev, "users", "create-admin", "--email", "first@example.org"); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	db, err := store.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, dev, "complaints", "overdue")
	if err == nil || !strings.Contains(err.Error(), "nobody to tell") {
		t.Errorf("a pass without a lead: %v\n%s", err, out)
	}
	// While the handling group has no lead, an enabled admin is told.
	now := time.Now()
	if err := db.Update(t.Context(), func(tx account.Tx) error {
		return tx.InsertUser(t.Context(), &account.UserRecord{User: account.User{ID: strings.Repeat("1", 32), Email: "lead@example.org",
			DisplayName: "Lead", Role: account.RoleAdmin, Groups: []string{account.GroupMembers}, CreatedAt: now, UpdatedAt: now}})
	}); err != nil {
		t.Fatal(err)
	}
	s := db.Complaints()
	opened := time.Now().Add(-40 * 24 * time.Hour)
	f := complaints.Form{Lang: "en", Domain: "late.example", Name: "Synthetic", Email: "owner@example.org", Relation: "owner", Explanation: "Synthetic."}
	if err := s.AddSubmission(t.Context(), complaints.Submission{TokenHash: "t", Form: f, CreatedAt: opened, ExpiresAt: opened.Add(time.Hour)},
		complaints.Attempt{AddrKey: "k", Domain: f.Domain, At: opened}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenCase(t.Context(), "t", opened, func(sub complaints.Submission) complaints.Case {
		return complaints.Case{Number: "CP-2026-LATE", Lang: "en", State: complaints.StateNew, Domain: sub.Form.Domain, Name: sub.Form.Name,
			Email: sub.Form.Email, Relation: sub.Form.Relation, Explanation: sub.Form.Explanation, OpenedAt: opened}
	}, "status"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	out, err = runCmd(t, dev, "complaints", "overdue")
	if err != nil || !strings.Contains(out, "overdue targets mailed: 2") {
		t.Fatalf("first pass: %v\n%s", err, out)
	}
	out, err = runCmd(t, dev, "complaints", "overdue")
	if err != nil || !strings.Contains(out, "overdue targets mailed: 0") {
		t.Errorf("second pass: %v\n%s", err, out)
	}
}
