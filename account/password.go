package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/crypto/argon2"
)

// Argon2Params are the Argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// defaultArgon2 is OWASP's first recommended Argon2id setting.
var defaultArgon2 = Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

func (p Argon2Params) validate() error {
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 16 {
		return fmt.Errorf("account: invalid argon2 parameters %+v", p)
	}
	return nil
}

// phc is a parsed PHC string.
type phc struct {
	params     Argon2Params
	salt, hash []byte
}

var b64 = base64.RawStdEncoding

func encodePHC(p Argon2Params, salt, hash []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(hash))
}

var errPHC = errors.New("account: malformed password hash")

// parsePHC parses "$argon2id$v=19$m=19456,t=2,p=1$salt$hash".
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, errPHC
	}
	var out phc
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return phc{}, errPHC
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return phc{}, errPHC
		}
		switch k {
		case "m":
			out.params.Memory = uint32(n)
		case "t":
			out.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return phc{}, errPHC
			}
			out.params.Threads = uint8(n)
		default:
			return phc{}, errPHC
		}
	}
	var err error
	if out.salt, err = b64.DecodeString(parts[4]); err != nil {
		return phc{}, errPHC
	}
	if out.hash, err = b64.DecodeString(parts[5]); err != nil {
		return phc{}, errPHC
	}
	out.params.SaltLen, out.params.KeyLen = uint32(len(out.salt)), uint32(len(out.hash))
	if out.params.validate() != nil {
		return phc{}, errPHC
	}
	return out, nil
}

// acquire waits for a hashing slot, or for ctx to end.
func (s *Service) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("account: waiting to hash: %w", ctx.Err())
	}
}

// hashPassword returns the PHC string of password with the current
// parameters and a fresh salt.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	p := s.opts.Argon2
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	release, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	s.hashes.Add(1)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// checkHash verifies password against a PHC string. rehash reports that the
// hash was made with other parameters than the current ones.
func (s *Service) checkHash(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	h, err := parsePHC(encoded)
	if err != nil {
		// Still spend the work, so that a damaged record does not stand
		// out by its timing; then report the damage.
		h, _ = parsePHC(s.dummyHash)
		err = errPHC
	}
	release, aerr := s.acquire(ctx)
	if aerr != nil {
		return false, false, aerr
	}
	defer release()
	s.hashes.Add(1)
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(key, h.hash) == 1
	return ok, ok && h.params != s.opts.Argon2, nil
}

// Password policy.
const (
	minPasswordRunes = 12
	// zxcvbnRunes bounds the input to zxcvbn, whose matching grows faster
	// than quadratically (30 s for 1 KB measured here); the strength of a
	// prefix is a lower bound for the whole.
	zxcvbnRunes   = 64
	minScore      = 3
	minDistinct   = 5
	contextMinLen = 4
)

// contextWords are refused inside any password (SECURITY.md AU-4).
var contextWords = []string{"interpol", "cacsg", "portal", "specialist group", "specialistgroup"}

// isCommonPassword reports whether lower (a lower-cased password) is on
// zxcvbn's list of 30,000 common passwords. It scans the list, which zxcvbn
// holds anyway, instead of keeping a set of it: a scan takes about 20 µs,
// next to tens of milliseconds for hashing the password, where a set would
// hold 1.7 MiB for the life of the process once a password has been set.
func isCommonPassword(lower string) bool {
	for _, p := range frequency.FrequencyLists["passwords"] {
		// Lower-casing keeps an ASCII string's length, which rules out
		// most entries without lower-casing them.
		if len(p) != len(lower) && isASCII(p) {
			continue
		}
		if strings.ToLower(p) == lower {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// CheckPassword applies the password policy: at least 12 Unicode code
// points and at most MaxPasswordBytes bytes, no composition rules, not a
// common password, a zxcvbn score of at least 3, and no context word (the
// context arguments such as the e-mail's local part and display name, plus
// the group's own names). A refusal is ErrWeakPassword wrapped in a
// *PasswordError whose Reason can be shown to the user.
func CheckPassword(password string, context ...string) error {
	weak := func(reason string) error { return &PasswordError{Reason: reason} }
	if len(password) > MaxPasswordBytes {
		return weak(fmt.Sprintf("Use at most %d bytes.", MaxPasswordBytes))
	}
	if !utf8.ValidString(password) {
		return weak("The password contains invalid characters.")
	}
	runes := []rune(password)
	if len(runes) < minPasswordRunes {
		return weak(fmt.Sprintf("Use at least %d characters.", minPasswordRunes))
	}
	distinct := make(map[rune]struct{}, len(runes))
	for _, r := range runes {
		if unicode.IsControl(r) {
			return weak("The password contains control characters.")
		}
		distinct[r] = struct{}{}
	}
	// zxcvbn does not see repetition outside ASCII (twelve identical
	// emoji score 4), so too few distinct symbols is refused here.
	if len(distinct) < minDistinct {
		return weak("The password repeats too few different characters.")
	}
	lower := strings.ToLower(password)
	if isCommonPassword(lower) {
		return weak("This is a commonly used password.")
	}

	words := append([]string(nil), contextWords...)
	for _, c := range context {
		words = append(words, contextTerms(c)...)
	}
	for _, w := range words {
		if containsWord(lower, w) {
			return weak("The password must not contain your name, your e-mail address or the portal's name.")
		}
	}

	if len(runes) > zxcvbnRunes {
		runes = runes[:zxcvbnRunes]
	}
	if zxcvbn.PasswordStrength(asciiSymbols(runes), words).Score < minScore {
		return weak("The password is too easy to guess. A few unrelated words make a strong one.")
	}
	return nil
}

// contextTerms splits a context string (an e-mail address, a name) into the
// terms a password must not contain: the whole and each long part.
func contextTerms(c string) []string {
	c = strings.ToLower(strings.TrimSpace(c))
	if local, _, ok := strings.Cut(c, "@"); ok {
		c = local
	}
	terms := []string{c}
	for _, f := range strings.FieldsFunc(c, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if f != c {
			terms = append(terms, f)
		}
	}
	return terms
}

// leet undoes common character substitutions.
var leet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i")

// containsWord reports whether pw (lower-case) contains w, also after
// undoing leet substitutions and dropping separators, or nearly equals it.
func containsWord(pw, w string) bool {
	if utf8.RuneCountInString(w) < contextMinLen {
		return false
	}
	squash := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || r == '-' || r == '_' || r == '.' {
				return -1
			}
			return r
		}, s)
	}
	w = squash(w)
	for _, p := range []string{pw, squash(pw), leet.Replace(squash(pw))} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return levenshtein(squash(pw), w) <= 2
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 2*len(rb)+4 || len(rb) > 2*len(ra)+4 {
		return max(len(ra), len(rb)) // far apart; skip the table
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// symbolBytes stand in for non-ASCII characters when zxcvbn scores a
// password. zxcvbn's repeat and sequence matchers work on bytes and mis-handle
// multi-byte characters; giving each distinct character its own
// single-byte symbol lets them see the structure. The symbols are control
// characters that cannot appear in a password (CheckPassword refuses them),
// excluding the newline that regexp's "." skips, listed in an order with
// large gaps so that unrelated characters never form a "sequence".
var symbolBytes = func() []byte {
	var pool []byte
	for b := byte(1); b < 0x20; b++ {
		if b != '\n' && b != '\r' && b != '\t' {
			pool = append(pool, b)
		}
	}
	pool = append(pool, 0x7f)
	out := make([]byte, len(pool))
	for i := range pool {
		out[i] = pool[(i*7)%len(pool)]
	}
	return out
}()

func asciiSymbols(runes []rune) string {
	var b strings.Builder
	seen := map[rune]byte{}
	for _, r := range runes {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		sym, ok := seen[r]
		if !ok && len(seen) < len(symbolBytes) {
			sym = symbolBytes[len(seen)]
			seen[r] = sym
			ok = true
		}
		if ok {
			b.WriteByte(sym)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
