package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"portal/audit"
	"portal/mail"
)

// send queues m, which must reach the member: the caller reports a
// failure (notify is for notices whose loss only gets logged).
func (s *Service) send(ctx context.Context, m mail.Message) error {
	if s.opts.Mail == nil {
		s.log.WarnContext(ctx, "account: no mailer; mail to a member not queued", "to", m.To, "subject", m.Subject)
		return nil
	}
	if err := s.opts.Mail.Enqueue(context.WithoutCancel(ctx), m); err != nil {
		return fmt.Errorf("account: queue mail: %w", err)
	}
	return nil
}

// acceptLink is the page that accepts an invitation or re-enrolment token.
// The token is in the fragment, which browsers never send to a server.
func (s *Service) acceptLink(token string) string {
	return s.opts.PublicURL + "/en/account/accept/#token=" + token
}

// who names the admin who acted, for the member.
func who(actor *User) string {
	if actor == nil {
		return "an administrator"
	}
	if actor.ID == audit.ActorSystem {
		return "an operator of the portal, on its command line,"
	}
	return "the administrator " + actor.Email
}

func noticeResetRequested(to string, actor *User, expires time.Time) mail.Message {
	return notice(to, "A reset of your second factor was requested", []string{
		"A reset of the second factor of your account was requested by " + who(actor) + ".",
		"Your account is, or was until recently, an administrator's, so the reset happens only if a second administrator approves it before " +
			expires.UTC().Format(noticeTime) + ". You would then receive a link to set up your access again.",
	})
}

func noticeResetCompleted(to string) mail.Message {
	return notice(to, "Your password and second factor were set up again", []string{
		"The re-enrolment link of your account has been used: a new password has been set and a new authenticator app is being set up.",
	})
}

func noticeSessionsEnded(to string, actor *User, n int) mail.Message {
	return notice(to, "Your sessions were ended", []string{
		fmt.Sprintf("%s ended all sessions of your account (%d). Log in again to continue.", capital(who(actor)), n),
	})
}

func noticeUserChanged(to string, actor *User, role Role, groups []string, demoted bool) mail.Message {
	ps := []string{
		capital(who(actor)) + " changed your account. Your role is now " + string(role) +
			" and your groups are " + strings.Join(groups, ", ") + ".",
		"Your sessions have been ended; the change takes effect when you log in again.",
	}
	if demoted {
		ps = append(ps, fmt.Sprintf("You are no longer an administrator. For %d days a reset of your password and second factor "+
			"still needs the approval of two administrators.", int(FormerAdminWindow.Hours()/24)))
	}
	return notice(to, "Your role or groups changed", ps)
}

func noticeDisabled(to string, actor *User, disabled bool) mail.Message {
	if !disabled {
		return notice(to, "Your account was enabled", []string{
			capital(who(actor)) + " enabled your account again. You can log in.",
		})
	}
	return notice(to, "Your account was disabled", []string{
		capital(who(actor)) + " disabled your account and ended its sessions. You cannot log in until an administrator enables it again.",
	})
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// notice is a mail to a member about a change an admin made to their
// account, in the words of the package's other notices (notify.go). The
// member did not make the change, so it ends by saying whom to tell when
// it was not expected, rather than "if this was not you".
func notice(to, subject string, paragraphs []string) mail.Message {
	return mail.Message{To: to, Subject: subject, Text: noticeIntro + strings.Join(paragraphs, "\n\n") + "\n" +
		"\nIf you did not expect this, tell another admin of the portal at once.\n"}
}
