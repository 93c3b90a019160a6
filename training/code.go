package training

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Verification codes: 80 bits written as 16 characters of Crockford's
// base 32 (no I, L, O or U), in groups of four: "K7QX-M2PD-RT9A-4HZC".
// Readers may type them in either case, with or without dashes or spaces,
// and with O for 0 and I or L for 1.
const (
	codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	codeChars    = 16 // 16 × 5 = 80 bits
	codeGroup    = 4
)

// deriveKey derives the code key from the portal's secret key, so that the
// same secret never keys two different things.
func deriveKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("portal/progress/verification-code/v1"))
	return mac.Sum(nil)
}

// codeFor derives the verification code of a completion from its id.
func (s *Service) codeFor(completionID string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(completionID))
	sum := mac.Sum(nil)
	var b strings.Builder
	// 80 bits, read 5 at a time from two 40-bit halves of the MAC.
	for i, half := range [][]byte{sum[0:5], sum[5:10]} {
		var v uint64
		for _, x := range half {
			v = v<<8 | uint64(x)
		}
		for j := range 8 {
			if n := i*8 + j; n > 0 && n%codeGroup == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(codeAlphabet[v>>(5*uint(7-j))&31])
		}
	}
	return b.String()
}

// ownerCode re-derives c's code for its owner, or "" when the key has
// changed since it was issued.
func (s *Service) ownerCode(c *Completion) string {
	code := s.codeFor(c.ID)
	if !hmac.Equal([]byte(hashCode(code)), []byte(c.CodeHash)) {
		return ""
	}
	return code
}

// NormalizeCode returns the canonical form of a code as a reader typed it
// (upper case, grouped with dashes), and whether it is a well-formed code.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(codeAlphabet, byte(r)) < 0 {
			return "", false
		}
		if n > 0 && n%codeGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
		n++
	}
	if n != codeChars {
		return "", false
	}
	return b.String(), true
}

// hashCode is what the store keeps of a code: the hex SHA-256 of its
// canonical form.
func hashCode(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return hex.EncodeToString(sum[:])
}
