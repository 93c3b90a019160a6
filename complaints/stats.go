package complaints

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Month is one month of the published statistics: numbers only, no
// domain, no name.
type Month struct {
	Month     string `json:"month"` // 2026-11
	Opened    int    `json:"opened"`
	Decided   int    `json:"decided"`
	Upheld    int    `json:"upheld"`
	Rejected  int    `json:"rejected"`
	OpenAtEnd int    `json:"openAtMonthEnd"`
	// Medians in days, one decimal, over the cases acknowledged (decided)
	// in the month; nil when there were none.
	MedianDaysToAcknowledge *float64 `json:"medianDaysToAcknowledgement"`
	MedianDaysToDecision    *float64 `json:"medianDaysToDecision"`
}

// Statistics returns the months from the first case's to the current one,
// oldest first, computed from the stored cases (which keep their dates and
// decisions after erasure).
func (s *Service) Statistics(ctx context.Context) ([]Month, error) {
	cases, err := s.store.ListCases(ctx, Filter{Oldest: true})
	if err != nil {
		return nil, fmt.Errorf("complaints: statistics: %w", err)
	}
	return monthly(cases, s.opts.Now()), nil
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func monthly(cases []Case, now time.Time) []Month {
	if len(cases) == 0 {
		return []Month{}
	}
	first := now
	for _, c := range cases {
		if c.OpenedAt.Before(first) {
			first = c.OpenedAt
		}
	}
	var out []Month
	for m := monthStart(first); !m.After(now); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0)
		in := func(t time.Time) bool { return !t.IsZero() && !t.Before(m) && t.Before(end) }
		row := Month{Month: m.Format("2006-01")}
		var ack, dec []float64
		for _, c := range cases {
			if in(c.OpenedAt) {
				row.Opened++
			}
			if in(c.DecidedAt) {
				row.Decided++
				switch c.Outcome {
				case Upheld:
					row.Upheld++
				case Rejected:
					row.Rejected++
				}
				dec = append(dec, c.DecidedAt.Sub(c.OpenedAt).Hours()/24)
			}
			if in(c.AcknowledgedAt) {
				ack = append(ack, c.AcknowledgedAt.Sub(c.OpenedAt).Hours()/24)
			}
			if c.OpenedAt.Before(end) && (c.ClosedAt.IsZero() || !c.ClosedAt.Before(end)) {
				row.OpenAtEnd++
			}
		}
		row.MedianDaysToAcknowledge, row.MedianDaysToDecision = median(ack), median(dec)
		out = append(out, row)
	}
	return out
}

func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	m = math.Round(m*10) / 10
	return &m
}
