package training

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"portal/account"
	"portal/audit"
)

// Receipts: what a public learner without an account gets for passing a
// graded public quiz. A receipt code carries what it certifies (module,
// module version, language, date, score band, the name the learner typed,
// and the end of its validity) signed with the portal's Ed25519 receipt
// key, kept outside the database; anyone can check it against the public
// key. The database keeps only the code's SHA-256, so that a receipt can
// be revoked, and counts.

// Audit actions of receipts.
const (
	ActionReceiptRevoke = "training.receipt_revoke"
)

// receiptPrefix starts every receipt code (a completion code never has a
// dot); the version of the format is in it.
const receiptPrefix = "R1."

// receiptContext is signed before the payload, so that the key signs
// nothing else that could pass for a receipt.
const receiptContext = "portal/training/receipt/v1\n"

// ReceiptWindow is how long after a pass its receipt may be asked for.
const ReceiptWindow = 24 * time.Hour

// maxNameRunes bounds the name on a receipt.
const maxNameRunes = 100

// receiptPayload is what a receipt signs.
type receiptPayload struct {
	Module  string `json:"m"`
	Version string `json:"v"`
	Lang    string `json:"l"`
	Date    string `json:"d"`           // YYYY-MM-DD, UTC
	Band    string `json:"b"`           // "70-79" … "90-100"
	Name    string `json:"n"`           // as the learner typed it
	Expires string `json:"e,omitempty"` // YYYY-MM-DD; "" for no end
}

// Receipt is an issued receipt.
type Receipt struct {
	Code      string
	Module    string
	Title     string
	Version   string
	Lang      string
	IssuedAt  time.Time // the date, at 00:00 UTC
	ScoreBand string
	Name      string
	ExpiresAt time.Time // zero: no end
}

// ReceiptRecord is what the store keeps of a receipt.
type ReceiptRecord struct {
	CodeHash  string
	Module    string
	Lang      string
	IssuedAt  time.Time
	RevokedAt time.Time // zero unless revoked
}

// ReceiptVerification is what checking a receipt code says.
type ReceiptVerification struct {
	Receipt
	// Current: the receipt's module version is the module's current one.
	Current bool
	Expired bool
	Revoked bool
}

// ReceiptKeyFile is the receipt key's file name under the data directory.
const ReceiptKeyFile = "receipt-ed25519.key"

// LoadReceiptKey returns the receipt signing key: from hexSeed (64 hex
// digits, e.g. from the environment) when given, else from the file at
// path, which is created (mode 0600, a new random key) when missing.
func LoadReceiptKey(hexSeed, path string) (ed25519.PrivateKey, error) {
	if hexSeed != "" {
		seed, err := hex.DecodeString(strings.TrimSpace(hexSeed))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, errors.New("receipt key: want 64 hex digits (a 32-byte Ed25519 seed)")
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("receipt key: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(seed) + "\n")
		serr := f.Sync()
		if err := errors.Join(werr, serr, f.Close()); err != nil {
			return nil, fmt.Errorf("receipt key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("receipt key: %w", err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("receipt key %s: readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	return LoadReceiptKey(strings.TrimSpace(string(b)), "")
}

// ReceiptPublicKey returns the public key receipts are checked with, or
// nil when the service has no receipt key.
func (s *Service) ReceiptPublicKey() ed25519.PublicKey {
	if s.receiptKey == nil {
		return nil
	}
	return s.receiptKey.Public().(ed25519.PublicKey)
}

// scoreBand is the ten-point band a score is in.
func scoreBand(score int) string {
	if score >= 90 {
		return "90-100"
	}
	lo := score / 10 * 10
	return fmt.Sprintf("%d-%d", lo, lo+9)
}

// checkName validates the name a learner wants on a receipt.
func checkName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "", invalid("name", "Type the name to show on the receipt.")
	}
	if utf8.RuneCountInString(name) > maxNameRunes {
		return "", invalid("name", fmt.Sprintf("The name is longer than %d characters.", maxNameRunes))
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", invalid("name", "The name holds a character that cannot be printed.")
		}
	}
	return name, nil
}

// IssueReceipt issues the receipt of a public learner's passed attempt of
// a public module's graded quiz, with the name they typed. One receipt per
// attempt, within ReceiptWindow of the pass.
func (s *Service) IssueReceipt(ctx context.Context, attempt, name string) (*Receipt, error) {
	if s.receiptKey == nil {
		return nil, fmt.Errorf("%w: no receipt key", ErrUnavailable)
	}
	name, err := checkName(name)
	if err != nil {
		return nil, err
	}
	if !attemptID.MatchString(attempt) {
		return nil, ErrNotFound
	}
	now := s.now().UTC()
	var rc *Receipt
	err = s.st.Update(ctx, func(tx Tx) error {
		d, err := tx.Draw(ctx, attempt)
		if err != nil {
			return err
		}
		m, ok := s.cat.Module(d.Module)
		switch {
		case !ok || m.Restricted:
			return ErrNotFound
		case d.UserID != "":
			return invalid("attempt", "A member's pass is recorded as a completion, not a receipt.")
		case d.Submitted.IsZero() || !d.Passed:
			return invalid("attempt", "Only a passed attempt gets a receipt.")
		case now.After(d.Submitted.Add(ReceiptWindow)):
			return ErrAttemptClosed
		}
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		p := receiptPayload{Module: m.ID, Version: m.Version, Lang: d.Lang, Date: day.Format(time.DateOnly),
			Band: scoreBand(d.Score), Name: name}
		if m.ValidityMonths > 0 {
			p.Expires = day.AddDate(0, m.ValidityMonths, 0).Format(time.DateOnly)
		}
		code, err := s.signReceipt(p)
		if err != nil {
			return err
		}
		if err := tx.MarkDrawReceipted(ctx, d.ID, now); err != nil {
			return err
		}
		if err := tx.InsertReceipt(ctx, &ReceiptRecord{CodeHash: hashCode(code), Module: m.ID, Lang: d.Lang, IssuedAt: now}); err != nil {
			return err
		}
		rc = receiptFrom(p, code)
		rc.Title = m.Title(d.Lang)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}

func (s *Service) signReceipt(p receiptPayload) (string, error) {
	payload, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(s.receiptKey, append([]byte(receiptContext), payload...))
	enc := base64.RawURLEncoding
	return receiptPrefix + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig), nil
}

func receiptFrom(p receiptPayload, code string) *Receipt {
	r := &Receipt{Code: code, Module: p.Module, Version: p.Version, Lang: p.Lang, ScoreBand: p.Band, Name: p.Name}
	r.IssuedAt, _ = time.Parse(time.DateOnly, p.Date)
	if p.Expires != "" {
		r.ExpiresAt, _ = time.Parse(time.DateOnly, p.Expires)
	}
	return r
}

// IsReceiptCode reports whether code has the form of a receipt code (as
// opposed to a completion's verification code).
func IsReceiptCode(code string) bool {
	return strings.HasPrefix(strings.TrimSpace(code), receiptPrefix)
}

// maxReceiptCode bounds a receipt code's length.
const maxReceiptCode = 1024

// openReceipt checks a receipt code's signature and returns what it says.
// A malformed or forged code is ErrNotFound.
func (s *Service) openReceipt(code string) (*receiptPayload, string, error) {
	code = strings.TrimSpace(code)
	if s.receiptKey == nil || len(code) > maxReceiptCode || !strings.HasPrefix(code, receiptPrefix) {
		return nil, "", ErrNotFound
	}
	body, sigText, ok := strings.Cut(strings.TrimPrefix(code, receiptPrefix), ".")
	if !ok {
		return nil, "", ErrNotFound
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(body)
	sig, err2 := enc.DecodeString(sigText)
	if err1 != nil || err2 != nil || len(sig) != ed25519.SignatureSize ||
		!ed25519.Verify(s.ReceiptPublicKey(), append([]byte(receiptContext), payload...), sig) {
		return nil, "", ErrNotFound
	}
	var p receiptPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, "", ErrNotFound
	}
	return &p, code, nil
}

// VerifyReceipt checks a receipt code: signature, revocation, expiry, and
// whether its module version is still the current one.
func (s *Service) VerifyReceipt(ctx context.Context, code string) (*ReceiptVerification, error) {
	p, code, err := s.openReceipt(code)
	if err != nil {
		return nil, err
	}
	var rec *ReceiptRecord
	err = s.st.View(ctx, func(tx Tx) error {
		var err error
		rec, err = tx.Receipt(ctx, hashCode(code))
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	v := &ReceiptVerification{Receipt: *receiptFrom(*p, code)}
	// A correctly signed receipt the database does not list (restored from
	// an older backup) is still the portal's: only revocation needs the row.
	v.Revoked = rec != nil && !rec.RevokedAt.IsZero()
	v.Expired = !v.ExpiresAt.IsZero() && !s.now().Before(v.ExpiresAt)
	v.Title = p.Module
	if m, ok := s.cat.Module(p.Module); ok && !m.Restricted {
		v.Title = m.Title(p.Lang)
		v.Current = m.Version == p.Version
	}
	return v, nil
}

// RevokeReceipt revokes a receipt: a trainer or admin, with the code.
func (s *Service) RevokeReceipt(ctx context.Context, u *account.User, code string, cl Client) error {
	if u == nil || (u.Role != account.RoleTrainer && u.Role != account.RoleAdmin) {
		return ErrForbidden
	}
	p, code, err := s.openReceipt(code)
	if err != nil {
		return err
	}
	err = s.st.Update(ctx, func(tx Tx) error {
		return tx.RevokeReceipt(ctx, &ReceiptRecord{CodeHash: hashCode(code), Module: p.Module, Lang: p.Lang,
			IssuedAt: mustDate(p.Date), RevokedAt: s.now().UTC()})
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(code))
	if err := s.audit.Record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Action: ActionReceiptRevoke,
		Target: "training:" + p.Module, IP: cl.IP, Outcome: audit.OutcomeSuccess,
		Detail: "receipt " + hex.EncodeToString(sum[:8])}); err != nil {
		s.log.Error("audit receipt revocation", "error", err)
	}
	return nil
}

func mustDate(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}
