package portaltest

import (
	"context"
	"testing"
	"time"

	"portal/mail/mailpit"
)

// Mail is a message as the test's Mailpit received it.
type Mail = mailpit.Mail

func startMailpit(dir string) (*mailpit.Process, error) {
	bin, err := mailpit.FindBinary()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return mailpit.Start(ctx, mailpit.Options{Binary: bin, DataDir: dir})
}

// Mail waits until the portal's outbox has handed every queued message to
// Mailpit, then returns the messages Mailpit holds for to, oldest first.
func (p *Portal) Mail(t testing.TB, to string) []Mail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, pending, err := p.DB.Mail().NextMailAt(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("portaltest: the outbox did not empty within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := p.Mailpit.Messages(t.Context(), to)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
