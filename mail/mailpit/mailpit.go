// Package mailpit runs a local Mailpit, the SMTP server and web inbox of
// `portal dev` and the tests: a child process bound to loopback with its own
// database, and a client that reads what it received through its HTTP API.
// Production sends through a real relay (PORTAL_SMTP_URL) and never uses
// this package.
package mailpit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"portal/proc"
)

// FindBinary locates the Mailpit executable: $MAILPIT_BIN, then the
// project's copy in .tools/ (built by `make tools`).
func FindBinary() (string, error) {
	return proc.FindTool("MAILPIT_BIN", "mailpit", false, "run `make tools`")
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
	*proc.Child
}

// Start launches Mailpit and waits until its API answers.
func Start(ctx context.Context, opts Options) (*Process, error) {
	for _, a := range []*string{&opts.SMTPAddr, &opts.HTTPAddr} {
		if err := proc.Loopback(a); err != nil {
			return nil, fmt.Errorf("mailpit: %w", err)
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
	child, err := proc.Start("mailpit", cmd)
	if err != nil {
		return nil, err
	}
	p := &Process{SMTPURL: "smtp://" + opts.SMTPAddr, URL: "http://" + opts.HTTPAddr,
		SMTPAddr: opts.SMTPAddr, HTTPAddr: opts.HTTPAddr, Child: child}
	client := &http.Client{Timeout: time.Second}
	ready := func(ctx context.Context) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
		// The SMTP listener starts beside the HTTP one.
		c, err := net.DialTimeout("tcp", p.SMTPAddr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	if err := child.WaitReady(ctx, 30*time.Second, ready); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
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
