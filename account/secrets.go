package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"rsc.io/qr"
)

// TOTP parameters (RFC 6238; SECURITY.md MF-3).
const (
	totpStep    = 30 // seconds
	totpDigits  = 6
	totpSkew    = 1 // steps accepted either side of now
	totpSeedLen = 20
)

// Recovery codes: 10 codes of 15 random bytes (120 bits; SECURITY.md MF-6 allows
// SHA-256 storage from 112 bits), written as 24 base32 letters in groups.
const (
	recoveryCount = 10
	recoveryBytes = 15
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken returns 32 random bytes, base64url: session and invitation tokens.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenLen is the length of a token from newToken.
const tokenLen = 43

// hashToken returns the stored form of a token: hex SHA-256.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken rejects values that newToken cannot have produced before
// any lookup.
func wellFormedToken(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

func newUserID() string { return newID() }

// newID returns a random 16-byte hex identifier: users, invitations,
// reset requests.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// deriveKey derives a purpose-bound key from the secret key, so that the
// AES key and the CSRF MAC key are never the same bytes.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// seal encrypts a TOTP seed with AES-256-GCM: nonce || ciphertext. The user
// ID is additional data, so a sealed seed copied to another row won't open.
func (s *Service) seal(seed []byte, userID string) ([]byte, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, seed, []byte(userID)), nil
}

func (s *Service) open(sealed []byte, userID string) ([]byte, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("account: sealed TOTP secret too short")
	}
	seed, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(userID))
	if err != nil {
		return nil, fmt.Errorf("account: open TOTP secret: %w", err)
	}
	return seed, nil
}

func (s *Service) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.sealKey)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	return cipher.NewGCM(block)
}

// hotp is RFC 4226 with SHA-1 and six digits.
func hotp(seed []byte, counter uint64) string {
	m := hmac.New(sha1.New, seed)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, v%1_000_000)
}

func totpStepAt(t time.Time) int64 { return t.Unix() / totpStep }

// TOTPCode returns the RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32
// secret at t, or "" if the secret does not decode. For tests and demo data.
func TOTPCode(secret string, t time.Time) string {
	seed, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(seed) == 0 {
		return ""
	}
	return hotp(seed, uint64(totpStepAt(t)))
}

// matchTOTP returns the time step within ±totpSkew of now whose code equals
// code and that is later than after, or 0. Every candidate is compared, in
// constant time, so timing does not tell which step matched.
func matchTOTP(seed []byte, code string, now time.Time, after int64) int64 {
	var found int64
	cur := totpStepAt(now)
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		eq := subtle.ConstantTimeCompare([]byte(hotp(seed, uint64(step))), []byte(code)) == 1
		if eq && step > after && found == 0 {
			found = step
		}
	}
	return found
}

// isTOTPCode reports whether s looks like a six-digit code.
func isTOTPCode(s string) bool {
	if len(s) != totpDigits {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// newRecoveryCodes returns codes for the user and their stored hashes.
func newRecoveryCodes() (codes, hashes []string) {
	for range recoveryCount {
		b := make([]byte, recoveryBytes)
		rand.Read(b)
		raw := strings.ToLower(b32.EncodeToString(b)) // 24 letters
		var groups []string
		for i := 0; i < len(raw); i += 4 {
			groups = append(groups, raw[i:i+4])
		}
		codes = append(codes, strings.Join(groups, "-"))
		hashes = append(hashes, hashRecoveryCode(raw))
	}
	return codes, hashes
}

// normRecoveryCode returns the canonical form of a typed recovery code, or
// "" if it cannot be one: case, spaces and hyphens are forgiven.
func normRecoveryCode(s string) string {
	if len(s) > 64 {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(s))
	if len(s) != 24 {
		return ""
	}
	if _, err := b32.DecodeString(strings.ToUpper(s)); err != nil {
		return ""
	}
	return s
}

func hashRecoveryCode(norm string) string {
	sum := sha256.Sum256([]byte("portal recovery code v1\x00" + norm))
	return hex.EncodeToString(sum[:])
}

// enrolment builds what the member needs to set up an authenticator app.
func (s *Service) enrolment(seed []byte, email string) (TOTPEnrolment, error) {
	secret := b32.EncodeToString(seed)
	label := url.PathEscape(s.opts.Issuer + ":" + email)
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", s.opts.Issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	u := "otpauth://totp/" + label + "?" + q.Encode()
	svg, err := qrSVG(u)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: secret, URL: u, QRSVG: svg}, nil
}

// qrSVG renders text as a QR code in a self-contained SVG document: one
// path of unit squares, a four-module quiet zone, no scripts, no styles and
// no external references, so it can be inlined under a strict CSP.
func qrSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("account: QR code: %w", err)
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img" aria-label="QR code for setting up your authenticator app">`, n, n, n*6, n*6)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
