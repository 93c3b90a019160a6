package account

// Hooks for the external tests in account_test.

// HashCount returns how many Argon2 computations s has run.
func HashCount(s *Service) int64 { return s.hashes.Load() }

// HoldHashSlots occupies every hashing slot until release is called.
func HoldHashSlots(s *Service) (release func()) {
	for range cap(s.sem) {
		s.sem <- struct{}{}
	}
	return func() {
		for range cap(s.sem) {
			<-s.sem
		}
	}
}

// FastArgon2 keeps tests quick where the hash cost is not under test.
var FastArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// ParsePHC exposes the PHC parser.
func ParsePHC(s string) (Argon2Params, error) {
	h, err := parsePHC(s)
	return h.params, err
}
