// Package mailpit runs a local Mailpit, the SMTP server and web inbox of
// `portal dev` and the tests: a child process bound to loopback with its own
// database, and a client that reads what it received through its HTTP API.
// Production sends through a real relay (PORTAL_SMTP_URL) and never uses
// this package.
package mailpit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// FindBinary locates the Mailpit executable: $MAILPIT_BIN, then the
// project's copy in .tools/ (built by `make tools`, searched upwards from
// the working directory so that tests in sub-packages find it).
func FindBinary() (string, error) {
	if p := os.Getenv("MAILPIT_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("MAILPIT_BIN: %w", err)
		}
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, ".tools", "mailpit")
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
	return "", errors.New("mailpit binary not found: run `make tools` or set MAILPIT_BIN")
}

// Options says how to start Mailpit.
type Options struct {
	Binary  string // path to the mailpit executable
	DataDir string // holds its database; created if missing
	// SMTPAddr and HTTPAddr are host:port on loopback; empty picks free
	// ports.
	SMTPAddr, HTTPAddr string
	Output             io.Writer
}

// Process is one running Mailpit.
type Process struct {
	// SMTPURL is the relay URL for PORTAL_SMTP_URL (no TLS, which the
	// portal accepts only on loopback); URL is the web inbox and API.
	SMTPURL, URL string
	// SMTPAddr and HTTPAddr are the addresses it listens on, for a restart
	// on the same ones.
	SMTPAddr, HTTPAddr string
	cmd                *exec.Cmd
	exited             chan struct{}
	err                error
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start launches Mailpit and waits until its API answers.
func Start(ctx context.Context, opts Options) (*Process, error) {
	for _, a := range []*string{&opts.SMTPAddr, &opts.HTTPAddr} {
		if *a == "" {
			addr, err := freeAddr()
			if err != nil {
				return nil, fmt.Errorf("mailpit: pick port: %w", err)
			}
			*a = addr
		}
		if host, _, err := net.SplitHostPort(*a); err != nil || !net.ParseIP(host).IsLoopback() {
			return nil, fmt.Errorf("mailpit: address %q is not on loopback", *a)
		}
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("mailpit: create data dir: %w", err)
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(opts.Binary,
		"--smtp", opts.SMTPAddr,
		"--listen", opts.HTTPAddr,
		"--database", filepath.Join(opts.DataDir, "mailpit.db"),
		"--disable-version-check",
		"--quiet",
	)
	cmd.Stdout, cmd.Stderr = out, out
	// As for Meilisearch (search/meiliproc): its own process group keeps a
	// terminal's Ctrl-C away, and it stops if the parent dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mailpit: %w", err)
	}
	p := &Process{SMTPURL: "smtp://" + opts.SMTPAddr, URL: "http://" + opts.HTTPAddr,
		SMTPAddr: opts.SMTPAddr, HTTPAddr: opts.HTTPAddr, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx, 30*time.Second); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// The SMTP listener starts beside the HTTP one.
				if c, err := net.DialTimeout("tcp", p.SMTPAddr, time.Second); err == nil {
					c.Close()
					return nil
				}
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("mailpit exited during start-up: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("mailpit did not become ready at %s: %w", p.URL, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop ends the process: SIGTERM, then SIGKILL after five seconds.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	return nil
}

// Mail is one message as Mailpit received it.
type Mail struct {
	ID        string // Mailpit's own
	MessageID string // the Message-ID header, without angle brackets
	From      string
	To        []string
	Subject   string
	Date      time.Time // the Date header
	Text      string    // the plain-text part
	HTML      string
}

type address struct {
	Address string `json:"Address"`
}

// Messages returns the messages addressed to to, oldest first.
func (p *Process) Messages(ctx context.Context, to string) ([]Mail, error) {
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	q := url.Values{"query": {"to:" + `"` + to + `"`}, "limit": {"500"}}
	if err := p.get(ctx, "/api/v1/search?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	out := make([]Mail, 0, len(list.Messages))
	// Mailpit lists the newest first.
	for i := len(list.Messages) - 1; i >= 0; i-- {
		var m struct {
			ID        string    `json:"ID"`
			MessageID string    `json:"MessageID"`
			From      address   `json:"From"`
			To        []address `json:"To"`
			Subject   string    `json:"Subject"`
			Date      time.Time `json:"Date"`
			Text      string    `json:"Text"`
			HTML      string    `json:"HTML"`
		}
		if err := p.get(ctx, "/api/v1/message/"+url.PathEscape(list.Messages[i].ID), &m); err != nil {
			return nil, err
		}
		mail := Mail{ID: m.ID, MessageID: m.MessageID, From: m.From.Address, Subject: m.Subject, Date: m.Date, Text: m.Text, HTML: m.HTML}
		for _, a := range m.To {
			mail.To = append(mail.To, a.Address)
		}
		out = append(out, mail)
	}
	return out, nil
}

func (p *Process) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("mailpit: GET %s: %s: %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("mailpit: GET %s: %w", path, err)
	}
	return nil
}
