package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Targets turns queries into vegeta targets for the portal (GET with the
// member's session cookie, or none) and for Meilisearch (POST with the
// member's tenant token, or the search key).
func Targets(qs []Query, portalURL, meiliURL string, members []Member, searchKey string) (portal, raw []vegeta.Target) {
	for _, q := range qs {
		ph := http.Header{}
		rh := http.Header{"Content-Type": {"application/json"}}
		if q.Anonymous() {
			rh.Set("Authorization", "Bearer "+searchKey)
		} else {
			m := members[q.User]
			ph.Set("Cookie", m.Cookie)
			rh.Set("Authorization", "Bearer "+m.Token)
		}
		portal = append(portal, vegeta.Target{Method: http.MethodGet, URL: portalURL + q.PortalURL, Header: ph})
		raw = append(raw, vegeta.Target{Method: http.MethodPost, URL: meiliURL + q.RawPath, Body: q.RawBody, Header: rh})
	}
	return portal, raw
}

// SideResult aggregates the rounds of one side of a load.
type SideResult struct {
	Requests, Successes int
	Duration            time.Duration // sum of the rounds' attack durations (first request to last answer)
	Latencies           []time.Duration
	Errors              map[string]int
	RoundThroughput     []float64
}

// Throughput is successful requests per second over all rounds.
func (r *SideResult) Throughput() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Successes) / r.Duration.Seconds()
}

// Quantile returns the q-quantile of the successful requests' latencies.
func (r *SideResult) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	if !slices.IsSorted(r.Latencies) {
		slices.Sort(r.Latencies)
	}
	i := int(q * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// ErrorSummary lists the errors seen, most frequent first.
func (r *SideResult) ErrorSummary() string {
	if len(r.Errors) == 0 {
		return ""
	}
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range r.Errors {
		l = append(l, kv{k, n})
	}
	slices.SortFunc(l, func(a, b kv) int { return b.n - a.n })
	var parts []string
	for _, e := range l[:min(3, len(l))] {
		parts = append(parts, fmt.Sprintf("%d× %s", e.n, e.k))
	}
	return strings.Join(parts, "; ")
}

// Load is one scenario: the same query sequence against the portal and
// against Meilisearch, in alternating rounds (ABBA, so that drift of the
// machine falls on both sides alike), each round a vegeta attack at the
// highest rate a fixed number of connections can sustain, both sides of a
// round sending exactly the same queries (as many as the slower side
// answers in Round, as measured in the warm-up).
type Load struct {
	Name   string
	Conns  int
	Rounds int
	Round  time.Duration
	Warmup time.Duration
	Seq    Sequence
	Portal []vegeta.Target
	Raw    []vegeta.Target
	// DuringPortal, if set, is called around each portal round (RSS
	// sampling, profiling).
	DuringPortal func(start bool)
	// Sides names the two sides in the report when they are not the
	// portal and raw Meilisearch (two portals compared: PostgreSQL store
	// and SQLite store, two instances and one), Portal's first.
	Sides [2]string
}

// LoadResult is both sides of a load.
type LoadResult struct {
	Name        string
	Conns       int
	PerRound    int // requests per side and round
	Portal, Raw SideResult
	Sides       [2]string // "portal" and "raw" unless the load named them
}

// Side is one side of a load with its name.
type Side struct {
	Name   string
	Result *SideResult
}

// Both returns the load's two sides, Portal's first.
func (r *LoadResult) Both() []Side {
	return []Side{{r.Sides[0], &r.Portal}, {r.Sides[1], &r.Raw}}
}

// Run runs the load.
func (l Load) Run(ctx context.Context) (*LoadResult, error) {
	res := &LoadResult{Name: l.Name, Conns: l.Conns, Sides: l.Sides}
	if res.Sides == [2]string{} {
		res.Sides = [2]string{"portal", "raw"}
	}
	res.Portal.Errors, res.Raw.Errors = map[string]int{}, map[string]int{}
	// One client per side for the whole load: connections stay warm
	// between rounds, as a long-lived service's would.
	pc, rc := NewHTTPClient(l.Conns), NewHTTPClient(l.Conns)
	// The warm-up also measures each side's rate: a round sends as many
	// requests as the slower side completes in a round's length, so that
	// both sides send exactly the same queries and neither side's round
	// drags on.
	warm := l.Warmup
	if warm <= 0 {
		warm = 500 * time.Millisecond
	}
	np, err := attack(ctx, pc, l.Conns, warm, 0, l.Seq, 0, l.Portal, nil)
	if err != nil {
		return nil, err
	}
	nr, err := attack(ctx, rc, l.Conns, warm, 0, l.Seq, 0, l.Raw, nil)
	if err != nil {
		return nil, err
	}
	perRound := max(l.Conns, int(float64(min(np, nr))*l.Round.Seconds()/warm.Seconds()))
	res.PerRound = perRound
	for i := range l.Rounds {
		// ABBA: the side that goes first alternates.
		start := (i * 7919) % len(l.Seq)
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, portal := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if portal {
				if l.DuringPortal != nil {
					l.DuringPortal(true)
				}
				_, err = attack(ctx, pc, l.Conns, 0, perRound, l.Seq, start, l.Portal, &res.Portal)
				if l.DuringPortal != nil {
					l.DuringPortal(false)
				}
			} else {
				_, err = attack(ctx, rc, l.Conns, 0, perRound, l.Seq, start, l.Raw, &res.Raw)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// attack runs one vegeta attack with conns workers at the maximum rate,
// sending seq's queries from start on: for d, or, when limit > 0, exactly
// limit requests. It adds the results to into (nil discards them) and
// returns the number of requests sent.
func attack(ctx context.Context, c *http.Client, conns int, d time.Duration, limit int, seq Sequence, start int, targets []vegeta.Target, into *SideResult) (int, error) {
	var next atomic.Int64
	tr := func(t *vegeta.Target) error {
		i := int(next.Add(1) - 1)
		if limit > 0 && i >= limit {
			return vegeta.ErrNoTargets
		}
		*t = targets[seq[(start+i)%len(seq)]]
		return nil
	}
	a := vegeta.NewAttacker(
		vegeta.Client(c),
		vegeta.Workers(uint64(conns)),
		vegeta.MaxWorkers(uint64(conns)),
		vegeta.MaxBody(0), // answers are drained, not kept
	)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			a.Stop()
		case <-done:
		}
	}()
	if limit > 0 {
		d = 0 // until the targets run out
	}
	sent := 0
	var first, end time.Time
	var m vegeta.Metrics
	for r := range a.Attack(tr, vegeta.ConstantPacer{}, d, "") {
		if r.Error == vegeta.ErrNoTargets.Error() {
			continue // a worker found the sequence's end: no request
		}
		sent++
		m.Add(r)
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if e := r.Timestamp.Add(r.Latency); e.After(end) {
			end = e
		}
		if into != nil {
			into.Requests++
			if r.Error == "" && r.Code == http.StatusOK {
				into.Successes++
				into.Latencies = append(into.Latencies, r.Latency)
			} else {
				e := r.Error
				if e == "" {
					e = strconv.Itoa(int(r.Code))
				}
				into.Errors[e]++
			}
		}
	}
	close(done)
	m.Close()
	if into != nil && sent > 0 {
		elapsed := end.Sub(first)
		into.Duration += elapsed
		into.RoundThroughput = append(into.RoundThroughput, float64(m.Success)*float64(sent)/elapsed.Seconds())
	}
	return sent, ctx.Err()
}

// RSSSampler samples a process's resident set size.
type RSSSampler struct {
	pid      int
	mu       sync.Mutex
	peakKiB  int
	stop     chan struct{}
	stopped  chan struct{}
	interval time.Duration
}

// ReadRSS returns a process's VmRSS and VmHWM in KiB.
func ReadRSS(pid int) (rss, hwm int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.Atoi(f[1])
		case "VmHWM:":
			hwm, _ = strconv.Atoi(f[1])
		}
	}
	return rss, hwm, nil
}

// StartRSS samples pid every interval until Stop.
func StartRSS(pid int, interval time.Duration) *RSSSampler {
	s := &RSSSampler{pid: pid, interval: interval, stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if rss, _, err := ReadRSS(pid); err == nil {
				s.mu.Lock()
				s.peakKiB = max(s.peakKiB, rss)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak in KiB.
func (s *RSSSampler) Stop() int {
	close(s.stop)
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakKiB
}

// Peak returns the peak so far in KiB.
func (s *RSSSampler) Peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakKiB
}

// RunPortalOnly runs the portal side alone (for profiling).
func (l Load) RunPortalOnly(ctx context.Context) (*SideResult, error) {
	r := &SideResult{Errors: map[string]int{}}
	c := NewHTTPClient(l.Conns)
	for range l.Rounds {
		if _, err := attack(ctx, c, l.Conns, l.Round, 0, l.Seq, 0, l.Portal, r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Smaps summarises /proc/pid/smaps_rollup: resident memory split into
// anonymous memory (heaps, stacks, mmapped arenas) and file-backed pages
// (the binary and other mapped files).
func Smaps(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return ""
	}
	v := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			n, _ := strconv.Atoi(f[1])
			v[strings.TrimSuffix(f[0], ":")] = n
		}
	}
	return fmt.Sprintf("Rss %.1f MiB = anonymous %.1f MiB + file-backed %.1f MiB",
		float64(v["Rss"])/1024, float64(v["Anonymous"])/1024, float64(v["Rss"]-v["Anonymous"])/1024)
}
