package main

import (
	"log/slog"
	"runtime/debug"

	"portal/config"
)

// setMemoryLimit gives the long-running commands (serve, dev) a soft memory
// limit, PORTAL_MEMORY_LIMIT (64 MiB unless configured), unless GOMEMLIMIT
// is set, in which case the runtime has applied that one already.
//
// Without a limit the collector lets the heap grow to twice what survived
// the last collection (GOGC=100), and a collection that runs while a
// login's 19 MiB password hash is in use counts that as survivor: the next
// logins then take fresh pages rather than reuse the freed ones, and the
// runtime gives pages back to the system only slowly. With a limit, the
// collector runs earlier as the heap nears it and the scavenger returns
// freed pages to stay under it, which keeps the resident size bounded on a
// small host. 64 MiB is several times the live heap of a serving portal
// (about 8 MiB, most of it zxcvbn's dictionaries) and, with the 20–30 MiB
// of the binary's file-backed pages, keeps the process under 100 MiB.
//
// The limit is soft: a live heap larger than it (a large PDF in the
// extractor's sandbox, say) is not refused, and the runtime caps the
// collector's share of the CPU (at about half) rather than collect without
// end, so the cost of a limit too low for the load is CPU time, never a
// failure.
func setMemoryLimit(cfg config.Config, getenv func(string) string, log *slog.Logger) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	if cfg.MemoryLimit <= 0 {
		return
	}
	debug.SetMemoryLimit(cfg.MemoryLimit)
	log.Info("soft memory limit", "MiB", cfg.MemoryLimit>>20)
}

// releaseStartupGarbage collects what start-up left behind and returns the
// freed pages to the system, once, before the first request. Above all
// that is the 19 MiB of the account service's dummy password hash, which
// also doubled the collector's heap goal: an idle server would otherwise
// keep it resident until the runtime's periodic collection minutes later,
// and the scavenger would return it more slowly still.
func releaseStartupGarbage() {
	debug.FreeOSMemory()
}
