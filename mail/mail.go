// Package mail sends the portal's few emails (invitations and second-factor
// resets) through an SMTP relay. Without a relay configured the portal sends
// none and shows the admin the link to pass on instead.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// SMTP sends mail through one relay.
type SMTP struct {
	addr     string // host:port
	host     string
	auth     smtp.Auth
	from     string
	implicit bool // smtps:// (TLS from the first byte) rather than STARTTLS
}

// New parses a relay URL, smtp://user:password@host:587 (STARTTLS, which is
// then required) or smtps://user:password@host:465, and the sender address.
func New(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("mail: relay must be smtp://host:port or smtps://host:port")
	}
	if _, err := mailAddress(from); err != nil {
		return nil, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"smtp": "587", "smtps": "465"}[u.Scheme]
	}
	s := &SMTP{addr: net.JoinHostPort(u.Hostname(), port), host: u.Hostname(), from: from, implicit: u.Scheme == "smtps"}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, u.Hostname())
	}
	return s, nil
}

func mailAddress(a string) (string, error) {
	if strings.ContainsAny(a, "\r\n<>") || !strings.Contains(a, "@") {
		return "", fmt.Errorf("mail: invalid address %q", a)
	}
	return a, nil
}

// SendInvitation mails an invitation link.
func (s *SMTP) SendInvitation(ctx context.Context, to, link string, expires time.Time) error {
	body := "You have been invited to the members' area of the portal of INTERPOL's Specialist Group on\r\n" +
		"Crimes Against Children.\r\n\r\n" +
		"Open this link to set your password and your second factor:\r\n\r\n" + link + "\r\n\r\n" +
		"The link works once and expires on " + expires.UTC().Format("2 January 2006 at 15:04 UTC") + ".\r\n" +
		"If you did not expect this invitation, ignore this message.\r\n"
	return s.send(ctx, to, "Your invitation to the members' portal", body)
}

// SendMFAReset mails the re-enrolment link of a member whose second factor
// an admin has reset.
func (s *SMTP) SendMFAReset(ctx context.Context, to, link string, expires time.Time) error {
	body := "An admin has reset the second factor of your account on the members' portal of INTERPOL's\r\n" +
		"Specialist Group on Crimes Against Children, and ended your sessions.\r\n\r\n" +
		"Open this link to set a new password and a new second factor:\r\n\r\n" + link + "\r\n\r\n" +
		"The link works once and expires on " + expires.UTC().Format("2 January 2006 at 15:04 UTC") + ".\r\n" +
		"If you did not ask for this reset, tell your admin.\r\n"
	return s.send(ctx, to, "Set up your second factor again", body)
}

func (s *SMTP) send(ctx context.Context, to, subject, body string) error {
	if _, err := mailAddress(to); err != nil {
		return err
	}
	msg := "From: " + s.from + "\r\nTo: " + to + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", subject) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" +
		"Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" + body
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("mail: dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	tlsConf := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if s.implicit {
		conn = tls.Client(conn, tlsConf)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %w", err)
	}
	defer c.Close()
	if !s.implicit {
		// An invitation link is a credential: never send it in clear text.
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("mail: relay does not offer STARTTLS")
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("mail: starttls: %w", err)
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return fmt.Errorf("mail: auth: %w", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("mail: rcpt: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: data: %w", err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return fmt.Errorf("mail: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return c.Quit()
}
