// Package meilitest starts a real Meilisearch for a test: a fresh process on
// a free loopback port with a temporary data directory, stopped by t.Cleanup.
// Tests never fake Meilisearch; when the binary is missing they fail with the
// command that installs it, so CI cannot silently skip them.
package meilitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"portal/proc"
	"portal/search/meiliproc"
)

// Instance is a running test Meilisearch.
type Instance struct {
	URL       string
	MasterKey string
	Process   *meiliproc.Process
	opts      meiliproc.Options
}

// Start runs a new Meilisearch for t, stopped when t ends.
func Start(t testing.TB) *Instance {
	t.Helper()
	m, err := Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Process.Stop() })
	return m
}

// Run starts a Meilisearch with its data in dir, for callers without a
// testing.TB (TestMain); they stop it with m.Process.Stop.
func Run(dir string) (*Instance, error) {
	bin, err := meiliproc.FindBinary()
	if err != nil {
		return nil, fmt.Errorf("%w (make test installs it)", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	addr, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	opts := meiliproc.Options{Binary: bin, DataDir: dir, MasterKey: key, Addr: addr}
	p, err := meiliproc.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start meilisearch: %w", err)
	}
	return &Instance{URL: p.URL, MasterKey: key, Process: p, opts: opts}, nil
}

// Restart starts the instance again after Kill or Stop, on the same
// address with the same data, as a supervisor would.
func (m *Instance) Restart() error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := meiliproc.Start(ctx, m.opts)
	if err != nil {
		return fmt.Errorf("restart meilisearch: %w", err)
	}
	m.Process = p
	return nil
}
