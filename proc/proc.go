// Package proc runs the local servers that development and the tests start
// beside the portal (Meilisearch, Mailpit) as child processes: found in the
// project's .tools/, bound to loopback, kept out of a terminal's Ctrl-C,
// polled until they answer, and stopped in order. Production runs none of
// them.
package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// FindTool locates the executable name: the file $envVar names, then the
// project's copy in .tools/ (searched upwards from the working directory,
// so that tests in sub-packages find it), then, when onPath, $PATH. hint
// says how to get it.
func FindTool(envVar, name string, onPath bool, hint string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", envVar, err)
		}
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, ".tools", name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if onPath {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s binary not found: %s or set %s", name, hint, envVar)
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Loopback fills an empty *addr with a free loopback address and refuses
// one that is not on loopback: these servers have no access control worth
// exposing.
func Loopback(addr *string) error {
	if *addr == "" {
		a, err := FreeAddr()
		if err != nil {
			return fmt.Errorf("pick port: %w", err)
		}
		*addr = a
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("address %q is not on loopback", *addr)
	}
	return nil
}

// Child is one running child process.
type Child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
}

// Start starts cmd as the child called name.
func Start(name string, cmd *exec.Cmd) (*Child, error) {
	// Its own process group keeps a terminal's Ctrl-C away from the child:
	// the parent stops it in order. Pdeathsig stops it if the parent dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &Child{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// WaitReady polls ready every 50 ms until it reports true, the child exits,
// or timeout passes.
func (c *Child) WaitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !ready(ctx) {
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited during start-up: %v", c.name, c.err)
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready: %w", c.name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Exited is closed when the process has ended.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Err is how the process ended, once Exited is closed.
func (c *Child) Err() error {
	select {
	case <-c.exited:
		return c.err
	default:
		return errors.New(c.name + " is running")
	}
}

// Stop ends the process: SIGTERM, then SIGKILL after five seconds.
func (c *Child) Stop() error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.Kill()
	}
	return nil
}

// Kill ends the process at once and waits for it.
func (c *Child) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}
