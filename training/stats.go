package training

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"portal/account"
	"portal/audit"
)

// Stats are the numbers trainers see for one module.
type Stats struct {
	Module   string
	Title    string
	PassMark int
	HasQuiz  bool
	// Started counts learners with any lesson done or quiz attempt;
	// Completed those with a completion record.
	Started   int
	Completed int
	Attempts  int // quiz attempts, all learners
	// Scores is the distribution of the learners' best scores in ten
	// buckets: 0–9, 10–19, …, 80–89 and 90–100.
	Scores []Bucket
	// MostMissed lists up to ten questions missed at least once, by miss
	// rate over all attempts, highest first.
	MostMissed  []Missed
	Completions []CompletionRow
	// ValidityMonths is the module's validity (0: completions never
	// expire); Current, Expiring and Expired count the completions by
	// where they stand today.
	ValidityMonths             int
	Current, Expiring, Expired int
	// Graded quizzes: attempts and passes by module version and language,
	// each question's pass rate over every attempt that asked it (pools
	// ask some more than others), and public learners' receipts (counts
	// only: the portal keeps no names).
	Groups                    []AttemptGroup
	Questions                 []QuestionRate
	Receipts, ReceiptsRevoked int
}

// AttemptGroup counts graded attempts of one module version in one
// language.
type AttemptGroup struct {
	Version, Lang    string
	Attempts, Passed int
}

// QuestionRate is how often a graded question was answered correctly.
type QuestionRate struct {
	Question string
	Prompt   string
	Asked    int
	Correct  int
	Rate     float64 // Correct / Asked
}

// Bucket is one range of scores.
type Bucket struct {
	From, To int // inclusive
	Learners int
}

// Missed is how often a question was answered wrongly.
type Missed struct {
	Question string
	Prompt   string
	Answered int
	Missed   int
	Rate     float64 // Missed / Answered
}

// CompletionRow is one learner's completion, as trainers see it: no code.
type CompletionRow struct {
	LearnerName string
	IssuedAt    time.Time
	BestScore   int
	Lang        string
	ExpiresAt   time.Time // zero: no end
	Validity    Validity
}

// MostMissedLimit is how many questions Stats lists.
const MostMissedLimit = 10

// Stats returns the numbers of a module to a trainer or admin who may see
// it.
func (s *Service) Stats(ctx context.Context, u *account.User, module string) (*Stats, error) {
	if u == nil || (u.Role != account.RoleTrainer && u.Role != account.RoleAdmin) {
		return nil, ErrForbidden
	}
	m, err := s.visibleModule(u, module)
	if err != nil {
		return nil, err
	}
	st := &Stats{Module: m.ID, Title: m.Title("en"), PassMark: m.PassMark, HasQuiz: len(m.Questions) > 0,
		ValidityMonths: m.ValidityMonths}
	var (
		best    []int
		tallies []QuestionTally
	)
	err = s.st.View(ctx, func(tx Tx) error {
		var err error
		if st.Started, err = tx.Started(ctx, m.ID); err != nil {
			return err
		}
		if st.Attempts, err = tx.Attempts(ctx, m.ID); err != nil {
			return err
		}
		if best, err = tx.BestScores(ctx, m.ID); err != nil {
			return err
		}
		if tallies, err = tx.QuestionTallies(ctx, m.ID); err != nil {
			return err
		}
		if m.Quiz.Graded {
			if st.Groups, err = tx.AttemptGroups(ctx, m.ID); err != nil {
				return err
			}
			graded, err := tx.GradedTallies(ctx, m.ID)
			if err != nil {
				return err
			}
			for _, g := range graded {
				prompt := g.Question
				if q := m.question(g.Question); q != nil {
					prompt = q.Prompt
				}
				st.Questions = append(st.Questions, QuestionRate{Question: g.Question, Prompt: prompt, Asked: g.Answered,
					Correct: g.Answered - g.Missed, Rate: float64(g.Answered-g.Missed) / float64(max(g.Answered, 1))})
			}
			if st.Receipts, st.ReceiptsRevoked, err = tx.ReceiptCounts(ctx, m.ID); err != nil {
				return err
			}
		}
		cs, err := tx.Completions(ctx, m.ID)
		if err != nil {
			return err
		}
		st.Completed = len(cs)
		st.Completions = make([]CompletionRow, 0, len(cs))
		now := s.now()
		for _, c := range cs {
			row := CompletionRow{LearnerName: c.LearnerName, IssuedAt: c.IssuedAt, BestScore: c.BestScore, Lang: c.Lang}
			row.ExpiresAt, row.Validity = m.validityAt(c.ValidFrom(), now)
			switch row.Validity {
			case ValidityExpired:
				st.Expired++
			case ValidityExpiring:
				st.Expiring++
			default:
				st.Current++
			}
			st.Completions = append(st.Completions, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range 10 {
		b := Bucket{From: i * 10, To: i*10 + 9}
		if i == 9 {
			b.To = 100
		}
		st.Scores = append(st.Scores, b)
	}
	for _, score := range best {
		st.Scores[min(max(score, 0)/10, 9)].Learners++
	}
	st.MostMissed = []Missed{}
	for _, t := range tallies {
		q := m.question(t.Question)
		if q == nil || t.Missed == 0 || t.Answered == 0 {
			continue // a question since removed from the quiz
		}
		st.MostMissed = append(st.MostMissed, Missed{Question: q.ID, Prompt: q.Prompt, Answered: t.Answered,
			Missed: t.Missed, Rate: float64(t.Missed) / float64(t.Answered)})
	}
	slices.SortFunc(st.MostMissed, func(a, b Missed) int {
		return cmp.Or(cmp.Compare(b.Rate, a.Rate), cmp.Compare(b.Missed, a.Missed), cmp.Compare(a.Question, b.Question))
	})
	if len(st.MostMissed) > MostMissedLimit {
		st.MostMissed = st.MostMissed[:MostMissedLimit]
	}
	return st, nil
}

// Export returns the numbers of a module for a download, and audits it.
func (s *Service) Export(ctx context.Context, u *account.User, module string, cl Client) (*Stats, error) {
	st, err := s.Stats(ctx, u, module)
	if err != nil {
		return nil, err
	}
	err = s.audit.Record(ctx, audit.Entry{Actor: u.ID, ActorEmail: u.Email, Action: ActionStatsExport,
		Target: "training:" + st.Module, IP: cl.IP, Outcome: audit.OutcomeSuccess,
		Detail: fmt.Sprintf("%d started, %d completed", st.Started, st.Completed)})
	if err != nil {
		// An export that cannot be audited is not given out.
		return nil, fmt.Errorf("audit stats export: %w", err)
	}
	return st, nil
}
