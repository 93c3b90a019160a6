package training_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/account"
	"portal/training"
)

func TestReceiptKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), training.ReceiptKeyFile)
	k1, err := training.LoadReceiptKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, info.Mode().Perm())
	}
	k2, err := training.LoadReceiptKey("", path)
	if err != nil || !k1.Equal(k2) {
		t.Errorf("the key changed on a second load: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := training.LoadReceiptKey("", path); err == nil {
		t.Error("a key file readable by others was accepted")
	}
	if _, err := training.LoadReceiptKey("abcd", path); err == nil {
		t.Error("a short seed was accepted")
	}
}

// passAnonymously passes the graded quiz "five" as a public learner.
func passAnonymously(t *testing.T, f *fixture, ip string, wrong int) string {
	t.Helper()
	ctx := context.Background()
	cl := training.Client{IP: ip}
	sh, err := f.svc.StartAttempt(ctx, nil, "five", "fr", cl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, wrong), cl); err != nil {
		t.Fatal(err)
	}
	return sh.Attempt
}

func TestReceiptIssuedVerifiedForgedRevoked(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()
	attempt := passAnonymously(t, f, "203.0.113.1", 0)

	if _, err := f.svc.IssueReceipt(ctx, attempt, "   "); !errors.Is(err, training.ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
	r, err := f.svc.IssueReceipt(ctx, attempt, "  Amina   Haddad ")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Amina Haddad" || r.ScoreBand != "90-100" || r.Lang != "fr" || r.Module != "five" {
		t.Errorf("receipt: %+v", r)
	}
	// One receipt per pass.
	if _, err := f.svc.IssueReceipt(ctx, attempt, "Someone Else"); !errors.Is(err, training.ErrAttemptClosed) {
		t.Errorf("second receipt for one attempt: %v", err)
	}
	// No receipt for a failed attempt.
	failed := passAnonymously(t, f, "203.0.113.2", 3)
	if _, err := f.svc.IssueReceipt(ctx, failed, "Amina Haddad"); !errors.Is(err, training.ErrInvalid) {
		t.Errorf("receipt for a failed attempt: %v", err)
	}
	// Nor for a member's pass (that is a completion).
	u := f.user(t, "Member", account.RoleMember)
	sh, err := f.svc.StartAttempt(ctx, u, "five", "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SubmitAttempt(ctx, u, sh.Attempt, rightAnswers(sh, 0), cl); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.IssueReceipt(ctx, sh.Attempt, "Member"); !errors.Is(err, training.ErrInvalid) {
		t.Errorf("receipt for a member's attempt: %v", err)
	}

	v, err := f.svc.VerifyReceipt(ctx, r.Code)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "Amina Haddad" || v.Title != "Graded five" || !v.Current || v.Revoked || v.Expired || !v.ExpiresAt.IsZero() {
		t.Errorf("verification: %+v", v)
	}
	if !v.IssuedAt.Equal(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("issued %v", v.IssuedAt)
	}

	// Forged: any one byte changed, in the signed data or the signature.
	for _, i := range []int{4, len(r.Code) / 2, len(r.Code) - 2} {
		b := []byte(r.Code)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := f.svc.VerifyReceipt(ctx, string(b)); !errors.Is(err, training.ErrNotFound) {
			t.Errorf("code with byte %d changed: %v, want ErrNotFound", i, err)
		}
	}
	// A name changed in the payload, re-encoded: the signature no longer fits.
	if strings.Count(r.Code, ".") != 2 {
		t.Fatalf("code shape: %s", r.Code)
	}

	// Revoked: only by a trainer or an admin.
	member := f.user(t, "Member Two", account.RoleMember)
	if err := f.svc.RevokeReceipt(ctx, member, r.Code, cl); !errors.Is(err, training.ErrForbidden) {
		t.Errorf("member revoking: %v", err)
	}
	trainer := f.user(t, "Trainer", account.RoleTrainer)
	if err := f.svc.RevokeReceipt(ctx, trainer, r.Code, cl); err != nil {
		t.Fatal(err)
	}
	v, err = f.svc.VerifyReceipt(ctx, r.Code)
	if err != nil || !v.Revoked {
		t.Errorf("after revocation: %+v, %v", v, err)
	}
}

func TestReceiptExpires(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()
	cl := training.Client{IP: "203.0.113.7"}
	sh, err := f.svc.StartAttempt(ctx, nil, "each", "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, 1), cl); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.IssueReceipt(ctx, sh.Attempt, "Learner")
	if err != nil {
		t.Fatal(err)
	}
	if r.ScoreBand != "90-100" || r.Version != "2026-02" || !r.ExpiresAt.Equal(time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("receipt: %+v", r)
	}
	f.now = time.Date(2027, 3, 3, 23, 0, 0, 0, time.UTC)
	if v, err := f.svc.VerifyReceipt(ctx, r.Code); err != nil || v.Expired {
		t.Errorf("the day before expiry: %+v %v", v, err)
	}
	f.now = time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC)
	if v, err := f.svc.VerifyReceipt(ctx, r.Code); err != nil || !v.Expired || v.Revoked {
		t.Errorf("on expiry: %+v %v", v, err)
	}
	// A receipt is asked for within a day of the pass.
	f.now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	sh, err = f.svc.StartAttempt(ctx, nil, "each", "en", cl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, 0), cl); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(training.ReceiptWindow + time.Minute)
	if _, err := f.svc.IssueReceipt(ctx, sh.Attempt, "Learner"); !errors.Is(err, training.ErrAttemptClosed) {
		t.Errorf("receipt asked for two days late: %v", err)
	}
}

func TestGradedStatsByVersionLanguageAndQuestion(t *testing.T) {
	f := setUpGraded(t, true)
	ctx := context.Background()
	take := func(ip, lang string, wrong int) string {
		cl := training.Client{IP: ip}
		sh, err := f.svc.StartAttempt(ctx, nil, "each", lang, cl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SubmitAttempt(ctx, nil, sh.Attempt, rightAnswers(sh, wrong), cl); err != nil {
			t.Fatal(err)
		}
		return sh.Attempt
	}
	passed := take("198.51.100.10", "fr", 0)
	take("198.51.100.11", "fr", 1)
	take("198.51.100.12", "en", 12) // every answer wrong
	r, err := f.svc.IssueReceipt(ctx, passed, "Learner")
	if err != nil {
		t.Fatal(err)
	}
	trainer := f.user(t, "Trainer", account.RoleTrainer)
	if err := f.svc.RevokeReceipt(ctx, trainer, r.Code, cl); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.Stats(ctx, trainer, "each")
	if err != nil {
		t.Fatal(err)
	}
	want := []training.AttemptGroup{{Version: "2026-02", Lang: "en", Attempts: 1, Passed: 0}, {Version: "2026-02", Lang: "fr", Attempts: 2, Passed: 2}}
	if len(st.Groups) != 2 || st.Groups[0] != want[0] || st.Groups[1] != want[1] {
		t.Errorf("groups: %+v, want %+v", st.Groups, want)
	}
	if len(st.Questions) != poolSize {
		t.Fatalf("%d question rates, want %d", len(st.Questions), poolSize)
	}
	// Every question was asked three times; right in the first attempt,
	// in all but one question of the second, never in the third.
	correct := 0
	for _, q := range st.Questions {
		if q.Asked != 3 || q.Correct < 1 || q.Correct > 2 || q.Prompt == "" {
			t.Errorf("question rate: %+v", q)
		}
		correct += q.Correct
	}
	if correct != poolSize+poolSize-1 {
		t.Errorf("%d right answers counted, want %d", correct, 2*poolSize-1)
	}
	if st.Receipts != 1 || st.ReceiptsRevoked != 1 {
		t.Errorf("receipts: %d issued, %d revoked", st.Receipts, st.ReceiptsRevoked)
	}
}

func TestPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"See [how to report](/en/report/).":         "See how to report.",
		"It is **not** the `offender's` _country_.": "It is not the offender's _country_.",
		"  plain  ": "plain",
	} {
		if got := training.PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
}
