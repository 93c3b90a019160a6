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
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"portal/metrics"
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

// Store is the outbox table (package store implements it on SQLite). The
// Text of the messages it holds is sealed when the Outbox has a key.
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
	// QueuedMail counts the messages in the outbox, sent or not yet.
	QueuedMail(ctx context.Context) (int, error)
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
	// Key (32 bytes, from SealKey) seals message texts in the database:
	// they carry links that are credentials, and the database is copied
	// into backups. Nil stores them in clear.
	Key []byte
	// Metrics records the delivery attempts and the outbox's length (nil:
	// none).
	Metrics *metrics.Metrics
}

// Outbox queues messages and delivers them.
type Outbox struct {
	store   Store
	relay   *relay // nil: log instead of sending
	from    string
	domain  string // of From, for Message-IDs
	log     *slog.Logger
	now     func() time.Time
	max     int
	minB    time.Duration
	maxB    time.Duration
	poll    time.Duration
	seal    cipher.AEAD // nil: texts in clear
	metrics *metrics.Metrics
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
		poll: opts.Poll, metrics: opts.Metrics, wake: make(chan struct{}, 1)}
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
	if opts.Key != nil {
		block, err := aes.NewCipher(opts.Key)
		if err != nil || len(opts.Key) != 32 {
			return nil, errors.New("mail: key must be 32 bytes")
		}
		if o.seal, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
	}
	o.metrics.GaugeFunc("portal_mail_queued", "Messages in the mail outbox, due now or waiting to be retried.",
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := o.store.QueuedMail(ctx)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		})
	return o, nil
}

// SealKey derives the outbox's key from the portal's secret key.
func SealKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("portal mail-seal v1"))
	return m.Sum(nil)
}

// sealed marks a text stored sealed.
const sealed = "sealed-v1:"

// sealText seals a message's text, bound to its Message-ID.
func (o *Outbox) sealText(messageID, text string) string {
	if o.seal == nil {
		return text
	}
	nonce := make([]byte, o.seal.NonceSize())
	rand.Read(nonce)
	return sealed + base64.StdEncoding.EncodeToString(o.seal.Seal(nonce, nonce, []byte(text), []byte(messageID)))
}

// openText reverses sealText; a text stored in clear comes back as it is.
func (o *Outbox) openText(messageID, stored string) (string, error) {
	b64, ok := strings.CutPrefix(stored, sealed)
	if !ok {
		return stored, nil
	}
	if o.seal == nil {
		return "", errors.New("mail: sealed message, but no key")
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) < o.seal.NonceSize() {
		return "", errors.New("mail: sealed message unreadable")
	}
	text, err := o.seal.Open(nil, b[:o.seal.NonceSize()], b[o.seal.NonceSize():], []byte(messageID))
	if err != nil {
		return "", errors.New("mail: sealed message does not open with this key")
	}
	return string(text), nil
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
	q.Text = o.sealText(q.MessageID, m.Text)
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
	text, err := o.openText(q.MessageID, q.Text)
	if err != nil {
		// No later attempt can do better.
		log.Error("mail: giving up", "error", err)
		o.metrics.MailAttempt(metrics.MailGivenUp)
		if err := o.store.DeleteMail(context.WithoutCancel(ctx), q.ID); err != nil {
			log.Error("mail: remove unreadable message", "error", err)
		}
		return
	}
	q.Text = text
	if o.relay == nil {
		// Development without a relay: the message, links included, goes
		// to the log, where the developer reads it.
		log.Info("mail (no SMTP relay configured)", "text", q.Text)
	} else {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err = o.relay.send(sctx, o.message(q))
		cancel()
	}
	// A stopping process hands the message back, due at once and without
	// counting the attempt, so that the next start (or another process)
	// sends it without waiting for the claim to run out.
	if ctx.Err() != nil && err != nil {
		if err := o.store.RetryMail(context.WithoutCancel(ctx), q.ID, q.Attempts, o.now(), "interrupted by shutdown"); err != nil {
			log.Error("mail: hand back interrupted message; it is tried again when its claim runs out", "error", err)
		}
		return
	}
	// The store calls below must not fail because ctx ends meanwhile: a
	// sent message would be sent again.
	store := context.WithoutCancel(ctx)
	if err == nil {
		o.metrics.MailAttempt(metrics.MailSent)
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
		o.metrics.MailAttempt(metrics.MailGivenUp)
		if err := o.store.DeleteMail(store, q.ID); err != nil {
			log.Error("mail: remove given-up message", "error", err)
		}
		return
	}
	wait := o.backoff(attempts)
	o.metrics.MailAttempt(metrics.MailRetry)
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
	ssl  bool // smtps: TLS from the first byte
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
		// The TLS itself is set up by relay.dial; WithSSL keeps go-mail
		// from asking for STARTTLS on top of it.
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
	return &relay{host: u.Hostname(), ssl: u.Scheme == "smtps", opts: opts}, nil
}

// dial connects to the relay, in TLS from the first byte for smtps://.
func (r *relay) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !r.ssl {
		return d.DialContext(ctx, network, addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: r.host, MinVersion: tls.VersionTLS12}}
	return td.DialContext(ctx, network, addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *relay) send(ctx context.Context, m *gomail.Msg) error {
	// go-mail heeds ctx only while it dials: a relay that stops answering
	// afterwards would hold a stopping portal for the whole timeout. When
	// ctx ends, a past deadline on the connection stops any read or write
	// at once.
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := r.dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		return conn, nil
	}
	c, err := gomail.NewClient(r.host, slices.Concat(r.opts, []gomail.Option{gomail.WithDialContextFunc(dial)})...)
	if err != nil {
		return fmt.Errorf("mail: relay: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}
