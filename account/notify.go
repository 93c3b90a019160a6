package account

import (
	"context"
	"fmt"
	"time"

	"portal/mail"
)

// Mailer queues mail to members; *mail.Outbox is the one the portal uses.
type Mailer interface {
	Enqueue(ctx context.Context, m mail.Message) error
}

// notify queues a security notice. A notice that cannot be queued is
// logged and does not undo the act it reports: the act is audited either
// way.
func (s *Service) notify(ctx context.Context, m mail.Message) {
	if s.opts.Mail == nil {
		s.log.WarnContext(ctx, "account: no mailer; security notice not sent", "to", m.To, "subject", m.Subject)
		return
	}
	if err := s.opts.Mail.Enqueue(context.WithoutCancel(ctx), m); err != nil {
		s.log.ErrorContext(ctx, "account: queue security notice", "to", m.To, "subject", m.Subject, "error", err)
	}
}

const (
	noticeTime  = "2 January 2006 at 15:04 UTC"
	noticeIntro = "This is the members' portal of INTERPOL's Specialist Group on Crimes Against Children.\n\n"
	noticeEnd   = "\nIf this was not you, tell your admin at once.\n"
)

func from(c Client) string {
	if c.IP == "" {
		return ""
	}
	return " from the address " + c.IP
}

func lockNotice(to, link string, expires time.Time) mail.Message {
	return mail.Message{To: to, Subject: "Sign-in from new browsers is locked", Text: noticeIntro +
		fmt.Sprintf("After %d failed sign-in attempts from browsers you have not signed in on before,\n", MaxFailures) +
		"the portal has locked sign-in to your account from such browsers. Someone may be\n" +
		"guessing your password.\n\n" +
		"Browsers on which you have signed in before are not affected: sign in there as usual.\n\n" +
		"To sign in from another browser, open this link in it. It works once, until " + expires.UTC().Format(noticeTime) + ":\n\n" +
		link + "\n\n" +
		"An admin can lift the lock. If you did not make these attempts, consider changing your password.\n"}
}

func newDeviceNotice(to, link string, expires time.Time) mail.Message {
	return mail.Message{To: to, Subject: "Sign in from a new browser", Text: noticeIntro +
		"Someone tried to sign in to your account with your password from a browser you have not\n" +
		"signed in on before, while sign-in from new browsers is locked.\n\n" +
		"If this was you, open this link in that browser, then sign in again. It works once, until\n" +
		expires.UTC().Format(noticeTime) + ":\n\n" + link + "\n" +
		"\nIf this was not you, someone knows your password: change it from a browser you trust and\n" +
		"tell your admin.\n"}
}

func throttledNotice(to, link string, expires time.Time) mail.Message {
	return mail.Message{To: to, Subject: "Sign-in from new browsers is slowed down", Text: noticeIntro +
		"Sign-in attempts to your account have failed from browsers you have not signed in on\n" +
		"before, so the portal now makes such attempts wait, up to 15 minutes each. Someone may be\n" +
		"guessing your password.\n\n" +
		"Browsers on which you have signed in before are not affected: sign in there as usual.\n\n" +
		"To sign in from another browser without waiting, open this link in it, then sign in with\n" +
		"your password and second factor. It works once, until " + expires.UTC().Format(noticeTime) + ":\n\n" +
		link + "\n\n" +
		"If you did not make these attempts, you need not do anything; consider changing your password.\n"}
}

func deviceLockedNotice(to string, at time.Time, c Client) mail.Message {
	return mail.Message{To: to, Subject: "Sign-in from one of your browsers is locked", Text: noticeIntro +
		fmt.Sprintf("On %s, after %d failed sign-in attempts%s, the portal stopped\n", at.UTC().Format(noticeTime), DeviceMaxFailures, from(c)) +
		"trusting one of the browsers you had signed in on. Signing in from it now counts as\n" +
		"signing in from a new browser.\n" + noticeEnd}
}

func deviceUnlockedNotice(to string, at time.Time, c Client) mail.Message {
	return mail.Message{To: to, Subject: "A new browser may sign in to your account", Text: noticeIntro +
		fmt.Sprintf("On %s an unlock link mailed to you was opened%s.\n", at.UTC().Format(noticeTime), from(c)) +
		"That browser may now sign in to your account with your password and second factor.\n" + noticeEnd}
}

func unlockedNotice(to string, at time.Time) mail.Message {
	return mail.Message{To: to, Subject: "Your account was unlocked", Text: noticeIntro +
		fmt.Sprintf("On %s an admin lifted the lock on sign-in to your account. Any browser may\n", at.UTC().Format(noticeTime)) +
		"sign in again with your password and second factor.\n" + noticeEnd}
}

func passwordChangedNotice(to string, at time.Time, c Client) mail.Message {
	return mail.Message{To: to, Subject: "Your password was changed", Text: noticeIntro +
		fmt.Sprintf("On %s the password of your account was changed%s,\n", at.UTC().Format(noticeTime), from(c)) +
		"and your other sessions were ended.\n" + noticeEnd}
}
