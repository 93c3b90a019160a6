// Package mail is the portal's outgoing mail: invitations, resets, security
// notices and alerts. Callers queue a Message in the database with
// Outbox.Enqueue; one delivery loop (Outbox.Run, owned by the serving
// process) sends what is due through an SMTP relay with
// github.com/wneessen/go-mail, retrying with exponential backoff, so that
// neither a relay that is down nor a restart loses a message. Without a
// relay configured, delivery writes the message to the log instead.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to one member, in plain text.
type Message struct {
	To, Subject, Text string
}

// Queued is a message in the outbox. MessageID and Date are fixed when it
// is queued, so that every attempt sends the same message and a receiver
// that got it twice (a relay that accepted but whose answer was lost) can
// tell.
type Queued struct {
	ID int64
	Message
	MessageID string // without the angle brackets
	Date      time.Time
	Attempts  int // attempts made before this one
}

// Store is the outbox table (package store implements it on SQLite).
type Store interface {
	// AddMail queues q (its ID is ignored), due at once.
	AddMail(ctx context.Context, q Queued) error
	// ClaimMail returns up to limit messages due at now and moves each
	// one's due time to until, so that a process that dies while sending
	// leaves it to be tried again then, and another process does not take
	// it meanwhile.
	ClaimMail(ctx context.Context, now, until time.Time, limit int) ([]Queued, error)
	// RetryMail records a failed attempt: attempts made so far, the next
	// due time and the error.
	RetryMail(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error
	// DeleteMail removes a message that was sent or given up.
	DeleteMail(ctx context.Context, id int64) error
	// NextMailAt returns the earliest due time in the outbox, and false
	// when it is empty.
	NextMailAt(ctx context.Context) (time.Time, bool, error)
}

// Options configures an Outbox. Zero values take the defaults.
type Options struct {
	// RelayURL is smtp://user:password@host:587 (STARTTLS required) or
	// smtps://user:password@host:465; empty logs messages instead of
	// sending them. Plain smtp:// without TLS is accepted only for a relay
	// on loopback (Mailpit in development and tests), where nothing leaves
	// the machine.
	RelayURL string
	// From is the sender address.
	From   string
	Logger *slog.Logger
	// Now is the clock (time.Now by default).
	Now func() time.Time
	// MaxAttempts bounds the attempts per message (default 8); after the
	// last one the message is logged as given up and removed.
	MaxAttempts int
	// MinBackoff is the wait after the first failed attempt (default 30 s);
	// it doubles after each further failure, up to MaxBackoff (default 1 h).
	MinBackoff, MaxBackoff time.Duration
	// Poll bounds how long the loop sleeps without looking at the outbox
	// (default 10 s), so that mail queued by another process (`portal
	// users reset-mfa`) goes out soon.
	Poll time.Duration
}

// Outbox queues messages and delivers them.
type Outbox struct {
	store  Store
	relay  *relay // nil: log instead of sending
	from   string
	domain string // of From, for Message-IDs
	log    *slog.Logger
	now    func() time.Time
	max    int
	minB   time.Duration
	maxB   time.Duration
	poll   time.Duration
	// wake tells the delivery loop that a message was queued.
	wake chan struct{}
}

// sendTimeout bounds one SMTP conversation; the claim on a message lasts a
// little longer, so that it is never taken twice while being sent.
const sendTimeout = 30 * time.Second

// New returns an Outbox over store. It checks the relay URL and the sender
// address, so that a wrong configuration fails at start.
func New(store Store, opts Options) (*Outbox, error) {
	from, err := mail.ParseAddress(opts.From)
	if err != nil || strings.ContainsAny(opts.From, "\r\n") {
		return nil, fmt.Errorf("mail: invalid sender address %q", opts.From)
	}
	o := &Outbox{store: store, from: opts.From, domain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		log: opts.Logger, now: opts.Now, max: opts.MaxAttempts, minB: opts.MinBackoff, maxB: opts.MaxBackoff,
		poll: opts.Poll, wake: make(chan struct{}, 1)}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.max <= 0 {
		o.max = 8
	}
	if o.minB <= 0 {
		o.minB = 30 * time.Second
	}
	if o.maxB <= 0 {
		o.maxB = time.Hour
	}
	if o.poll <= 0 {
		o.poll = 10 * time.Second
	}
	if opts.RelayURL != "" {
		if o.relay, err = parseRelay(opts.RelayURL); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Relayed reports whether messages go to an SMTP relay rather than to the
// log.
func (o *Outbox) Relayed() bool { return o.relay != nil }

// Enqueue checks m and queues it; it is committed when Enqueue returns.
func (o *Outbox) Enqueue(ctx context.Context, m Message) error {
	if err := checkMessage(m); err != nil {
		return err
	}
	var b [16]byte
	rand.Read(b[:])
	q := Queued{Message: m, MessageID: hex.EncodeToString(b[:]) + "@" + o.domain, Date: o.now().UTC()}
	if err := o.store.AddMail(ctx, q); err != nil {
		return fmt.Errorf("mail: queue: %w", err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

func checkMessage(m Message) error {
	a, err := mail.ParseAddress(m.To)
	if err != nil || a.Address != m.To || strings.ContainsAny(m.To, "\r\n") {
		return fmt.Errorf("mail: invalid recipient %q", m.To)
	}
	if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
		return errors.New("mail: subject must be one non-empty line")
	}
	if m.Text == "" {
		return errors.New("mail: empty message")
	}
	return nil
}

// Run delivers due messages until ctx ends. The portal runs one per
// serving process.
func (o *Outbox) Run(ctx context.Context) {
	for ctx.Err() == nil {
		o.Deliver(ctx)
		wait := o.poll
		if next, ok, err := o.store.NextMailAt(ctx); err != nil {
			if ctx.Err() == nil {
				o.log.Warn("mail: read outbox", "error", err)
			}
		} else if ok {
			wait = min(wait, max(next.Sub(o.now()), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-o.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Deliver makes one attempt at each message due now.
func (o *Outbox) Deliver(ctx context.Context) {
	for ctx.Err() == nil {
		now := o.now()
		batch, err := o.store.ClaimMail(ctx, now, now.Add(sendTimeout+30*time.Second), 10)
		if err != nil {
			if ctx.Err() == nil {
				o.log.Warn("mail: read outbox", "error", err)
			}
			return
		}
		for _, q := range batch {
			o.attempt(ctx, q)
		}
		if len(batch) < 10 {
			return
		}
	}
}

func (o *Outbox) attempt(ctx context.Context, q Queued) {
	log := o.log.With("messageId", q.MessageID, "to", q.To, "subject", q.Subject)
	var err error
	if o.relay == nil {
		// Development without a relay: the message, links included, goes
		// to the log, where the developer reads it.
		log.Info("mail (no SMTP relay configured)", "text", q.Text)
	} else {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err = o.relay.send(sctx, o.message(q))
		cancel()
	}
	// A stopping process leaves the message claimed; it is due again when
	// the claim runs out, and the next start sends it.
	if ctx.Err() != nil && err != nil {
		return
	}
	// The store calls below must not fail because ctx ends meanwhile: a
	// sent message would be sent again.
	store := context.WithoutCancel(ctx)
	if err == nil {
		if err := o.store.DeleteMail(store, q.ID); err != nil {
			log.Error("mail: sent, but could not be removed from the outbox; it will be sent again", "error", err)
		} else if o.relay != nil {
			log.Info("mail sent", "attempt", q.Attempts+1)
		}
		return
	}
	attempts := q.Attempts + 1
	if attempts >= o.max {
		log.Error("mail: giving up", "attempts", attempts, "error", err)
		if err := o.store.DeleteMail(store, q.ID); err != nil {
			log.Error("mail: remove given-up message", "error", err)
		}
		return
	}
	wait := o.backoff(attempts)
	log.Warn("mail: attempt failed; will retry", "attempt", attempts, "retryIn", wait, "error", err)
	if err := o.store.RetryMail(store, q.ID, attempts, o.now().Add(wait), err.Error()); err != nil {
		log.Error("mail: record failed attempt", "error", err)
	}
}

// backoff is the wait after the given number of failed attempts.
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.minB
	for i := 1; i < attempts && d < o.maxB; i++ {
		d *= 2
	}
	return min(d, o.maxB)
}

func (o *Outbox) message(q Queued) *gomail.Msg {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.SetCharset(gomail.CharsetUTF8)
	// Checked at New and Enqueue, these cannot fail.
	_ = m.From(o.from)
	_ = m.To(q.To)
	m.Subject(q.Subject)
	m.SetMessageIDWithValue(q.MessageID)
	m.SetDateWithValue(q.Date)
	m.SetBodyString(gomail.TypeTextPlain, q.Text)
	return m
}

// relay is an SMTP relay.
type relay struct {
	host string
	opts []gomail.Option
}

func parseRelay(raw string) (*relay, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("mail: relay must be smtp://host:port or smtps://host:port")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"smtp": "587", "smtps": "465"}[u.Scheme]
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("mail: relay port %q", port)
	}
	opts := []gomail.Option{gomail.WithPort(p), gomail.WithTimeout(sendTimeout)}
	switch {
	case u.Scheme == "smtps":
		opts = append(opts, gomail.WithSSL())
	case isLoopback(u.Hostname()):
		// A relay on this machine: what it receives never crosses a
		// network, so TLS is not asked of it.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// A link in a message is a credential: never in clear text.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	return &relay{host: u.Hostname(), opts: opts}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *relay) send(ctx context.Context, m *gomail.Msg) error {
	c, err := gomail.NewClient(r.host, r.opts...)
	if err != nil {
		return fmt.Errorf("mail: relay: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}
