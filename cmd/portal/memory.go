package main

import (
	"log/slog"
	"runtime/debug"

	"portal/config"
)

// setMemoryLimit applies PORTAL_MEMORY_LIMIT, a soft limit on what the Go
// runtime manages, to the long-running commands (serve, dev), unless
// GOMEMLIMIT is set, in which case the runtime has applied that one already.
//
// Without a limit the collector lets the heap grow to twice what survived
// the last collection (GOGC=100), and a collection that runs while a
// login's 19 MiB password hash is in use counts that as survivor: the next
// logins then take fresh pages rather than reuse the freed ones. With a
// limit, the collector runs earlier as the heap nears it and the scavenger
// returns freed pages to stay under it, which bounds the resident size on
// a small host.
//
// It is off by default because it is soft in a way that costs: the PDF
// sandbox's memory (wazero's linear memory, on the Go heap) counts against
// it, and a live heap above the limit makes the collector run back to back,
// up to the runtime's cap of about half the CPU, for as long as an
// extraction lasts. An operator who knows the host's uploads can choose.
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
