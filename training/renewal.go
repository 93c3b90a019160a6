package training

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"portal/account"
	"portal/mail"
)

// Renewal: a module's trainers may give a pass a validity (front matter
// validityMonths). A completion then expires that many months after it was
// issued or last renewed; its learner is reminded by mail ReminderLead
// before, once per period, and sees a banner on the module's pages from
// then on (Progress). Passing the quiz again from then on renews it.

// ReminderLead is how long before a completion expires its learner is
// reminded.
const ReminderLead = 30 * 24 * time.Hour

// Mailer queues mail: mail.Outbox.
type Mailer interface {
	Enqueue(ctx context.Context, m mail.Message) error
}

// Reminder is a completion whose learner is due a renewal reminder.
type Reminder struct {
	CompletionID string
	Module       string
	ModuleTitle  string
	Lang         string
	ValidFrom    time.Time // the issue or the latest renewal
	Email        string
	LearnerName  string
}

// Validity is where a completion stands against its module's validity.
type Validity string

// Validity states.
const (
	ValidityCurrent  Validity = "current"
	ValidityExpiring Validity = "expiring" // within ReminderLead of its end
	ValidityExpired  Validity = "expired"
)

// validityAt returns when a completion issued at issued ends in m (zero for
// no end) and where it stands at now.
func (m *Module) validityAt(issued, now time.Time) (time.Time, Validity) {
	if m.ValidityMonths <= 0 {
		return time.Time{}, ValidityCurrent
	}
	end := issued.AddDate(0, m.ValidityMonths, 0)
	switch {
	case !now.Before(end):
		return end, ValidityExpired
	case !now.Add(ReminderLead).Before(end):
		return end, ValidityExpiring
	}
	return end, ValidityCurrent
}

// RemindRenewals mails every learner whose completion of a module with a
// validity ends within ReminderLead (or has ended) and who was not reminded
// yet. It returns how many mails it queued. Run by one goroutine of serve
// (RunReminders) and by `portal training remind`; a completion is claimed
// in the database before its mail is queued, so two runs never mail twice.
func (s *Service) RemindRenewals(ctx context.Context) (int, error) {
	if s.mail == nil {
		return 0, errors.New("training: no mailer for renewal reminders")
	}
	now := s.now().UTC()
	sent := 0
	for _, m := range s.cat.Modules() {
		if m.ValidityMonths <= 0 {
			continue
		}
		// Valid from this or earlier, a completion ends within the lead.
		cutoff := now.Add(ReminderLead).AddDate(0, -m.ValidityMonths, 0)
		var due []Reminder
		err := s.st.View(ctx, func(tx Tx) error {
			var err error
			due, err = tx.DueReminders(ctx, m.ID, cutoff)
			return err
		})
		if err != nil {
			return sent, err
		}
		for _, r := range due {
			claimed := false
			err := s.st.Update(ctx, func(tx Tx) error {
				var err error
				claimed, err = tx.ClaimReminder(ctx, &r, now)
				return err
			})
			if err != nil {
				return sent, err
			}
			if !claimed {
				continue
			}
			end, _ := m.validityAt(r.ValidFrom, now)
			if err := s.mail.Enqueue(ctx, reminderMail(r, m, end, s.publicURL)); err != nil {
				// Not sent: let the next run try again.
				if uerr := s.st.Update(ctx, func(tx Tx) error { return tx.UnclaimReminder(ctx, &r) }); uerr != nil {
					s.log.Error("training: release a renewal reminder", "error", uerr)
				}
				return sent, fmt.Errorf("renewal reminder: %w", err)
			}
			sent++
		}
	}
	return sent, nil
}

// RunReminders runs RemindRenewals now and then every interval until ctx
// ends.
func (s *Service) RunReminders(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.RemindRenewals(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("training: renewal reminders", "error", err)
		} else if n > 0 {
			s.log.Info("training: renewal reminders queued", "mails", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reminderText holds the reminder in each language: subject and body with
// {title}, {date}, {name} and {url}.
var reminderText = map[string][2]string{
	"en": {"Your training \"{title}\" ends on {date}",
		"Hello {name},\n\nYour completion of the training module \"{title}\" is valid until {date}. To keep it valid, take the module's quiz again before then:\n\n{url}\n\nThis message was sent by the portal of INTERPOL's Specialist Group on Crimes Against Children.\n"},
	"fr": {"Votre formation « {title} » expire le {date}",
		"Bonjour {name},\n\nVotre réussite du module de formation « {title} » est valable jusqu'au {date}. Pour qu'elle reste valable, refaites le quiz du module avant cette date :\n\n{url}\n\nCe message a été envoyé par le portail du Groupe de spécialistes d'INTERPOL sur les infractions contre les enfants.\n"},
	"es": {"Su formación «{title}» caduca el {date}",
		"Hola, {name}:\n\nSu aprobado del módulo de formación «{title}» es válido hasta el {date}. Para que siga siendo válido, vuelva a hacer el cuestionario del módulo antes de esa fecha:\n\n{url}\n\nEste mensaje lo ha enviado el portal del Grupo de especialistas de INTERPOL sobre delitos contra menores.\n"},
	"ar": {"ينتهي تدريبك «{title}» في {date}",
		"مرحبًا {name}،\n\nإتمامك للوحدة التدريبية «{title}» صالح حتى {date}. لكي يبقى صالحًا، أعد اختبار الوحدة قبل هذا التاريخ:\n\n{url}\n\nأُرسلت هذه الرسالة من بوابة فريق الإنتربول المتخصص المعني بالجرائم المرتكبة ضد الأطفال.\n"},
}

func reminderMail(r Reminder, m *Module, end time.Time, publicURL string) mail.Message {
	text, ok := reminderText[r.Lang]
	if !ok {
		text = reminderText["en"]
	}
	fill := func(s string) string {
		for k, v := range map[string]string{"{title}": m.Title(r.Lang), "{date}": end.UTC().Format(time.DateOnly),
			"{name}": r.LearnerName, "{url}": publicURL + m.URL(r.Lang)} {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	return mail.Message{To: r.Email, Subject: fill(text[0]), Text: fill(text[1])}
}

// renew starts a new validity period for u's completion of m when it is
// expiring or has expired and u has just passed the quiz again; it answers
// the progress after it.
func (s *Service) renew(ctx context.Context, tx Tx, u *account.User, m *Module, p *Progress) (*Progress, error) {
	c := p.Completion
	if c == nil || c.New || c.Validity == ValidityCurrent {
		return p, nil
	}
	if err := tx.RenewCompletion(ctx, c.id, s.now().UTC()); err != nil {
		return nil, err
	}
	p, err := s.read(ctx, tx, u, m)
	if err != nil {
		return nil, err
	}
	p.Completion.Renewed = true
	return p, nil
}
