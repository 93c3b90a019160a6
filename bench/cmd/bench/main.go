// Command bench is the portal's benchmark harness (make bench, make
// bench-smoke): it starts its own Meilisearch and portal, generates a
// seeded synthetic research library, indexes it, runs the loads with
// vegeta (portal and raw Meilisearch alternating) and writes
// docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks-scaling.svg.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"portal/access"
	"portal/account"
	"portal/bench"
	"portal/proc"
	"portal/research"
	"portal/search"
)

type config struct {
	root, out       string
	smoke           bool
	docs            int
	scale           []int
	rounds          int
	round, warmup   time.Duration
	scaleRounds     int
	scaleRound      time.Duration
	pgRounds        int
	pgRound         time.Duration
	queries         int
	suggestions     int
	publicQueries   int
	reindexRecords  int
	logins          int
	lessons         int
	seed            uint64
	budget          time.Duration
	profileDir      string
	profileDuration time.Duration
	keep            bool
	corpusOut       string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.root, "root", "", "repository root (default: found from the working directory)")
	fs.StringVar(&c.out, "out", "", "where the report goes (default ROOT/docs; with -smoke a temporary directory)")
	fs.BoolVar(&c.smoke, "smoke", false, "tiny corpus and 1-second rounds (CI: checks that every figure is produced, never timing)")
	fs.IntVar(&c.docs, "docs", 20000, "documents in the research index during the main loads")
	scale := fs.String("scale", "1000,10000,50000", "library sizes of the scaling table")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds per side of each main load")
	fs.DurationVar(&c.round, "round", 4*time.Second, "length of a round")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "warm-up per side before a load (not counted)")
	fs.IntVar(&c.scaleRounds, "scale-rounds", 3, "rounds per side at each scaling point")
	fs.DurationVar(&c.scaleRound, "scale-round", 3*time.Second, "round length at each scaling point")
	fs.IntVar(&c.pgRounds, "pg-rounds", pgRoundsDefault, "rounds per side of the PostgreSQL ÷ SQLite and two-instances ÷ one loads")
	fs.DurationVar(&c.pgRound, "pg-round", pgRoundDefault, "round length of the PostgreSQL ÷ SQLite and two-instances ÷ one loads")
	fs.IntVar(&c.queries, "queries", 300, "distinct member queries in the mix")
	fs.IntVar(&c.publicQueries, "public-queries", 200, "distinct public queries in the mix")
	fs.IntVar(&c.suggestions, "suggestions", 200, "distinct typeahead requests in each of the members' and the anonymous mixes")
	fs.IntVar(&c.reindexRecords, "reindex-records", 150, "research records timed through portal reindex and a raw bulk upload")
	fs.IntVar(&c.logins, "logins", 100, "simultaneous logins of the login burst")
	fs.IntVar(&c.lessons, "lessons", 1000, "generated lessons added to the site for the Hugo figure")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the corpus and the query mixes")
	fs.DurationVar(&c.budget, "budget", 14*time.Minute, "skip scaling points past the main size whose projected indexing time would exceed this total (0: never skip)")
	fs.StringVar(&c.profileDir, "profiles", "", "keep the CPU and allocation profiles in this directory")
	fs.DurationVar(&c.profileDuration, "profile", 10*time.Second, "length of the profiled member load (0: no profile)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.StringVar(&c.corpusOut, "corpus", "", "only write the NDJSON index documents of the main corpus (-docs) to this file and exit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.smoke {
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("docs", func() { c.docs = 400 })
		def("scale", func() { *scale = "150,400" })
		def("rounds", func() { c.rounds = 1 })
		def("round", func() { c.round = time.Second })
		def("warmup", func() { c.warmup = 200 * time.Millisecond })
		def("scale-rounds", func() { c.scaleRounds = 1 })
		def("scale-round", func() { c.scaleRound = 500 * time.Millisecond })
		def("pg-rounds", func() { c.pgRounds = 1 })
		def("pg-round", func() { c.pgRound = time.Second })
		def("queries", func() { c.queries = 40 })
		def("public-queries", func() { c.publicQueries = 30 })
		def("suggestions", func() { c.suggestions = 30 })
		def("reindex-records", func() { c.reindexRecords = 5 })
		def("logins", func() { c.logins = 8 })
		def("lessons", func() { c.lessons = 50 })
		def("budget", func() { c.budget = 0 })
		def("profile", func() { c.profileDuration = 2 * time.Second })
	}
	for _, s := range strings.Split(*scale, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return c, fmt.Errorf("-scale: %q is not a size", s)
		}
		c.scale = append(c.scale, n)
	}
	if c.root == "" {
		r, err := findRoot()
		if err != nil {
			return c, err
		}
		c.root = r
	}
	return c, nil
}

// findRoot walks up to the portal module's go.mod (the harness's own
// go.mod, in bench/, names module portal/bench).
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module portal\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the portal's go.mod was not found above the working directory; pass -root")
		}
		dir = parent
	}
}

// state is what the run gathers for the report.
type state struct {
	cfg       config
	start     time.Time
	notes     []string
	figs      []bench.Figure
	loads     []*bench.LoadResult
	points    []bench.ScalePoint
	corpus    bench.Stats
	mainRecs  int
	hugo      *bench.HugoResult
	relevance *bench.RelevanceResult
	weights   []bench.PageWeight
	burst     bench.BurstResult
	hashConc  int
	reindex   struct {
		total, stage, raw1, raw2 time.Duration
		records, passages        int
	}
	equiv struct {
		checked    int
		mismatches []bench.Mismatch
	}
	profiles   []profileSummary
	rss16      int
	rssAfter   int
	rssIdle    int
	burstSmall bench.BurstResult
	memStats   string
	loadAvg    []string
	work       string
	sizes      bench.Sizes
	smaps16    string
	versions   map[string]string
	// instances is what the several-portals loads found beside their
	// timings (instances.go).
	instances struct {
		checked     int              // sampled answers of the PostgreSQL portal compared with raw
		mismatches  []bench.Mismatch // of those, the ones that differ
		served      []int64          // requests the proxy sent to each of the two instances
		proxyFailed int64            // requests the proxies could not forward
	}

	// The typeahead mixes: members' and anonymous readers'.
	suggestMember, suggestPublic []bench.Query
}

type profileSummary struct {
	title, text string
}

func (s *state) logf(format string, args ...any) {
	line := fmt.Sprintf("[%6.1fs] ", time.Since(s.start).Seconds()) + fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, line)
}

func (s *state) add(f bench.Figure) { s.figs = append(s.figs, f) }

func run(ctx context.Context, args []string) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if cfg.corpusOut != "" {
		return writeCorpus(cfg)
	}
	st := &state{cfg: cfg, start: time.Now(), versions: map[string]string{}}
	work, err := os.MkdirTemp("", "portal-bench-")
	if err != nil {
		return err
	}
	st.work = work
	if cfg.keep {
		st.logf("work directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	if cfg.out == "" {
		if cfg.smoke {
			cfg.out = filepath.Join(work, "report")
		} else {
			cfg.out = filepath.Join(cfg.root, "docs")
		}
		st.cfg.out = cfg.out
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	if os.Getenv("HUGO") == "" {
		if h := filepath.Join(cfg.root, "bin", "hugo"); fileExists(h) {
			os.Setenv("HUGO", h)
		}
	}
	if os.Getenv("MEILI_BIN") == "" {
		if m := filepath.Join(cfg.root, ".tools", "meilisearch"); fileExists(m) {
			os.Setenv("MEILI_BIN", m)
		}
	}

	// 1. The portal binary, as `go build ./cmd/portal` makes it, built
	// while Hugo builds the public site (page weight, and the feed the
	// public search indexes are loaded from); neither is timed.
	st.logf("building the portal and the public site")
	var plainBin, pprofBin string
	buildErr := make(chan error, 1)
	go func() {
		var err error
		plainBin, pprofBin, err = bench.BuildPortal(ctx, cfg.root, filepath.Join(work, "bin"))
		buildErr <- err
	}()
	siteDir := filepath.Join(work, "site-public")
	if _, out, err := bench.Hugo(ctx, cfg.root, filepath.Join(cfg.root, "site"), siteDir); err != nil {
		<-buildErr
		return fmt.Errorf("%w\n%s", err, out)
	}
	if st.weights, err = bench.PageWeights(siteDir); err != nil {
		<-buildErr
		return err
	}
	st.versions["hugo"] = bench.HugoVersion(ctx, cfg.root)

	// 2. Hugo with generated lessons, timed: alone on the machine, except
	// in the smoke run, where it overlaps the rest to save time.
	hugoErr := make(chan error, 1)
	hugoBench := func() {
		builds := 2
		if cfg.smoke {
			builds = 1
		}
		var err error
		st.hugo, err = bench.HugoBench(ctx, cfg.root, filepath.Join(work, "hugo"), cfg.lessons, builds, !cfg.smoke, cfg.seed)
		hugoErr <- err
	}
	if cfg.smoke {
		go hugoBench()
	}
	if err := <-buildErr; err != nil {
		return err
	}
	if !cfg.smoke {
		st.logf("building the site with %d generated lessons", cfg.lessons)
		hugoBench()
		if err := <-hugoErr; err != nil {
			return err
		}
	}

	// 4. Meilisearch with the portal's keys and indexes.
	st.logf("starting meilisearch")
	m, err := bench.StartMeili(ctx, filepath.Join(work, "meili"))
	if err != nil {
		return err
	}
	defer m.Stop()
	st.versions["meilisearch"] = m.Version
	pages, err := search.ReadFeeds(siteDir)
	if err != nil {
		return err
	}
	ix := search.NewIndexer(m.Admin(), nil)
	if err := ix.IndexSite(ctx, pages); err != nil {
		return err
	}
	if err := ix.EnsureIndexes(ctx); err != nil {
		return err
	}

	// 5. Accounts and the research records of the reindex figure, written
	// into the portal's own database.
	st.logf("seeding accounts (production Argon2 cost)")
	env, err := bench.NewPortalEnv(filepath.Join(work, "data"), siteDir, m)
	if err != nil {
		return err
	}
	accts, err := bench.OpenAccounts(ctx, env)
	if err != nil {
		return err
	}
	members, _, err := accts.Seed(ctx, "member", len(bench.MemberGroups), account.RoleMember, bench.MemberGroups)
	if err != nil {
		accts.Close()
		return err
	}
	burstUsers, _, err := accts.Seed(ctx, "burst", cfg.logins+max(1, cfg.logins/10), account.RoleMember, [][]string{{"members"}})
	if err != nil {
		accts.Close()
		return err
	}
	_, uploader, err := accts.Seed(ctx, "uploader", 1, account.RoleAdmin, [][]string{{"members"}})
	if err != nil {
		accts.Close()
		return err
	}
	vocab := bench.LoadVocab(cfg.root)
	gen := bench.NewGenerator(cfg.seed, vocab)
	subset := gen.Records(0, cfg.reindexRecords)
	if err := accts.InsertResearch(ctx, uploader[0].ID, subset, research.IndexPending); err != nil {
		accts.Close()
		return err
	}
	accts.Close()
	uploaderID := uploader[0].ID
	inStore := map[string]bool{}
	for _, r := range subset {
		inStore[r.Doc.ID] = true
	}

	// The portal compiles PDFium (WebAssembly) into PORTAL_DATA_DIR at its
	// first start; a copy kept between runs of the harness saves that
	// start-up (it is not part of any figure).
	pdfCache := ""
	if d, err := os.UserCacheDir(); err == nil {
		pdfCache = filepath.Join(d, "portal-bench", "pdfium-cache")
		if fileExists(pdfCache) {
			_ = bench.CopyDir(pdfCache, filepath.Join(env.DataDir, "pdfium-cache"))
		}
	}

	// 6. portal reindex against a raw bulk upload of the same records,
	// each into an empty index with the same settings (raw before and
	// after, averaged).
	if err := reindexFigure(ctx, st, m, plainBin, env, subset, work); err != nil {
		return err
	}

	if pdfCache != "" && !fileExists(pdfCache) {
		_ = bench.CopyDir(filepath.Join(env.DataDir, "pdfium-cache"), pdfCache)
	}

	// 7. The portal, as `portal serve`, in its own process.
	if err := m.RecreateIndex(ctx, search.IndexResearch); err != nil {
		return err
	}
	st.logf("starting portal serve")
	p, err := bench.StartPortal(ctx, plainBin, env.Environ(siteDir))
	if err != nil {
		return err
	}
	defer func() {
		p.Stop()
		if cfg.keep {
			_ = os.WriteFile(filepath.Join(work, "portal.log"), []byte(p.Log()), 0o644)
		}
	}()
	time.Sleep(time.Second)
	st.rssIdle, _, _ = bench.ReadRSS(p.PID())
	st.hashConc = runtime.NumCPU() // PORTAL_HASH_CONCURRENCY is left at its default
	lc := bench.NewHTTPClient(4)
	for i := range members {
		if members[i].Cookie, err = bench.Login(ctx, lc, p.URL, members[i], fmt.Sprintf("10.200.0.%d", i+1)); err != nil {
			return err
		}
		acc, err := search.Access(accessRule(members[i].Groups))
		if err != nil {
			return err
		}
		members[i].Filter = acc.String()
		if members[i].Token, err = m.TenantToken(members[i].Filter, 3*time.Hour); err != nil {
			return err
		}
	}
	mq, err := bench.MemberQueries(bench.MemberMix(cfg.seed, cfg.queries, vocab), members)
	if err != nil {
		return err
	}
	pq, err := bench.PublicQueries(bench.PublicMix(cfg.seed, cfg.publicQueries, pages))
	if err != nil {
		return err
	}
	if st.suggestMember, err = bench.SuggestQueries(bench.SuggestMix(cfg.seed, cfg.suggestions, true, pages), members); err != nil {
		return err
	}
	if st.suggestPublic, err = bench.SuggestQueries(bench.SuggestMix(cfg.seed, cfg.suggestions, false, pages), members); err != nil {
		return err
	}
	memberSeq := bench.UniformSequence(cfg.seed, len(mq), 200000)
	publicSeq := bench.SkewedSequence(cfg.seed, len(pq), 200000, 1.1)

	st.loadAvg = append(st.loadAvg, loadAvg())
	// 8. Grow the library through the scaling sizes and the main size.
	sizes := append(slices.Clone(cfg.scale), cfg.docs)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	var (
		records  []bench.Record
		passages int
		cumIndex time.Duration
		lastRate float64 // passages per second of the last step
	)
	for _, size := range sizes {
		isMain, isScale := size == cfg.docs, slices.Contains(cfg.scale, size)
		// Records until the index holds size documents (passages).
		need := records
		n := passages
		for n < size {
			r := gen.Record(len(need))
			need = append(need, r)
			n += len(r.Passages)
		}
		step := need[len(records):]
		stepPassages := n - passages
		if cfg.budget > 0 && size > cfg.docs && lastRate > 0 {
			projected := time.Duration(float64(stepPassages)/lastRate*1.3) * time.Second
			reserve := 30*time.Second + 2*time.Duration(cfg.scaleRounds)*cfg.scaleRound
			left := cfg.budget - time.Since(st.start) - reserve
			if projected > left {
				msg := fmt.Sprintf("not run: indexing %d more documents would take about %s at the measured %.0f documents/s, past the %s budget (run with -budget 0 for it)",
					stepPassages, projected.Round(time.Second), lastRate, cfg.budget)
				st.logf("size %d: %s", size, msg)
				st.points = append(st.points, bench.ScalePoint{Documents: size, Skipped: msg})
				continue
			}
		}
		// The portal shows a research hit only if its store holds the
		// record and lets the member see it: the store gets every record
		// the index gets (those of the reindex subset are there already).
		if err := storeRecords(ctx, env, uploaderID, step, inStore); err != nil {
			return err
		}
		var buf bytes.Buffer
		stats, err := bench.WriteNDJSON(&buf, step)
		if err != nil {
			return err
		}
		st.logf("indexing %d documents (%d records, %.0f MB) to reach %d", stats.Passages, stats.Documents, float64(stats.Bytes)/1e6, n)
		d, err := m.BulkNDJSON(ctx, search.IndexResearch, buf.Bytes())
		if err != nil {
			return err
		}
		records, passages = need, n
		cumIndex += d
		lastRate = float64(stepPassages) / d.Seconds()
		st.logf("indexed in %s (%.0f documents/s)", d.Round(time.Millisecond), lastRate)
		if isMain {
			var all bytes.Buffer
			if st.corpus, err = bench.WriteNDJSON(&all, records); err != nil {
				return err
			}
			st.mainRecs = len(records)
			if err := mainLoads(ctx, st, m, &p, plainBin, pprofBin, env, siteDir, members, mq, pq, memberSeq, publicSeq); err != nil {
				return err
			}
			if err := instanceFigures(ctx, st, m, p, plainBin, env, siteDir, members, mq, memberSeq, records); err != nil {
				return fmt.Errorf("several portals: %w", err)
			}
		}
		if isScale || isMain {
			l := bench.Load{Name: fmt.Sprintf("scale-%d", size), Conns: 1, Rounds: cfg.scaleRounds, Round: cfg.scaleRound,
				Warmup: cfg.warmup / 2, Seq: memberSeq}
			l.Portal, l.Raw = bench.Targets(mq, p.URL, m.URL, members, m.SearchKey)
			st.logf("scaling point %d: member search, 1 connection", size)
			res, err := l.Run(ctx)
			if err != nil {
				return err
			}
			if err := loadErrors(res); err != nil {
				return err
			}
			st.points = append(st.points, bench.ScalePoint{Documents: size, Records: len(records),
				IndexStepS: d.Seconds(), IndexTotalS: cumIndex.Seconds(),
				PortalP50: ms(res.Portal.Quantile(0.5)), PortalP99: ms(res.Portal.Quantile(0.99)),
				RawP50: ms(res.Raw.Quantile(0.5)), RawP99: ms(res.Raw.Quantile(0.99))})
		}
	}

	// 8b. Originals into the local directory and into an S3 bucket.
	if err := blobFigure(ctx, st); err != nil {
		return fmt.Errorf("blob figure: %w", err)
	}

	st.loadAvg = append(st.loadAvg, loadAvg())
	// 9. The login bursts: a tenth first, then all at once. Memory bounded
	// by the Argon2 concurrency does not grow with the size of the burst.
	small := len(burstUsers) - cfg.logins
	st.logf("login burst: %d then %d simultaneous logins", small, len(burstUsers)-small)
	st.burstSmall = bench.LoginBurst(ctx, p.URL, p.PID(), burstUsers[:small])
	st.burst = bench.LoginBurst(ctx, p.URL, p.PID(), burstUsers[small:])
	if st.burst.Failures > 0 {
		st.notes = append(st.notes, fmt.Sprintf("login burst: %d of %d logins failed; first: %s", st.burst.Failures, st.burst.Logins, st.burst.FirstError))
	}
	st.logf("login burst: peak %d MiB (before %d MiB), %s", st.burst.PeakKiB/1024, st.burst.BaselineKiB/1024, st.burst.Duration.Round(time.Millisecond))

	// 10. The judged relevance set, on a portal of its own (its test's):
	// after the timed loads, so that it measures none of them.
	st.logf("judged relevance set")
	rel, log, err := bench.Relevance(ctx, cfg.root, work)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, log)
	}
	st.relevance = rel

	if cfg.smoke {
		if err := <-hugoErr; err != nil {
			return err
		}
	}
	figures(st)
	if err := writeReport(st); err != nil {
		return err
	}
	st.logf("report written to %s", cfg.out)
	if cfg.smoke {
		return smokeCheck(st)
	}
	return nil
}

func accessRule(groups []string) access.Rule { return access.Filter(access.Subject{Groups: groups}) }

func freeAddr() (string, error) { return proc.FreeAddr() }

// rebase points targets at another portal address.
func rebase(ts []vegeta.Target, from, to string) []vegeta.Target {
	out := make([]vegeta.Target, len(ts))
	for i, t := range ts {
		t.URL = to + strings.TrimPrefix(t.URL, from)
		out[i] = t
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func loadErrors(res *bench.LoadResult) error {
	for _, side := range res.Both() {
		if side.Result.Successes == 0 {
			return fmt.Errorf("load %s: no successful %s request: %s", res.Name, side.Name, side.Result.ErrorSummary())
		}
		if bad := side.Result.Requests - side.Result.Successes; bad*100 > side.Result.Requests {
			return fmt.Errorf("load %s: %d of %d %s requests failed: %s", res.Name, bad, side.Result.Requests, side.Name, side.Result.ErrorSummary())
		}
	}
	return nil
}

func reindexFigure(ctx context.Context, st *state, m *bench.Meili, bin string, env *bench.PortalEnv, subset []bench.Record, work string) error {
	var nd bytes.Buffer
	stats, err := bench.WriteNDJSON(&nd, subset)
	if err != nil {
		return err
	}
	st.reindex.records, st.reindex.passages = stats.Documents, stats.Passages
	raw := func() (time.Duration, error) {
		if err := m.RecreateIndex(ctx, "research_bulk"); err != nil {
			return 0, err
		}
		d, err := m.BulkNDJSON(ctx, "research_bulk", nd.Bytes())
		if err != nil {
			return 0, err
		}
		return d, m.DeleteIndex(ctx, "research_bulk")
	}
	st.logf("reindex figure: raw bulk upload of %d records (%d documents)", stats.Documents, stats.Passages)
	if st.reindex.raw1, err = raw(); err != nil {
		return err
	}
	st.logf("reindex figure: portal reindex")
	if err := m.RecreateIndex(ctx, search.IndexResearch); err != nil {
		return err
	}
	// No built site in this environment: reindex leaves pages and training
	// alone and times the research library only.
	total, stage, out, err := bench.Reindex(ctx, bin, env.OperatorEnviron(filepath.Join(work, "no-site")))
	if err != nil {
		return err
	}
	st.reindex.total, st.reindex.stage = total, stage
	if n, err := m.DocumentCount(ctx, search.IndexResearch); err != nil || n != stats.Passages {
		return fmt.Errorf("portal reindex left %d documents in the index, want %d (%v)\n%s", n, stats.Passages, err, out)
	}
	if st.reindex.raw2, err = raw(); err != nil {
		return err
	}
	st.logf("reindex figure: portal stage %s (command %s), raw %s and %s", stage.Round(time.Millisecond),
		total.Round(time.Millisecond), st.reindex.raw1.Round(time.Millisecond), st.reindex.raw2.Round(time.Millisecond))
	return nil
}

func mainLoads(ctx context.Context, st *state, m *bench.Meili, pp **bench.Portal, plainBin, pprofBin string, env *bench.PortalEnv,
	siteDir string, members []bench.Member, mq, pq []bench.Query, memberSeq, publicSeq bench.Sequence) error {
	cfg := st.cfg
	p := *pp
	// The raw side must be the portal's request: check a sample first.
	c := bench.NewHTTPClient(2)
	sample := spread(len(mq), 40)
	st.sizes = bench.Sizes{}
	mm, err := bench.CheckEquivalence(ctx, c, mq, sample, p.URL, m.URL, members, m.SearchKey, st.sizes)
	if err != nil {
		return err
	}
	psample := spread(len(pq), 20)
	pm, err := bench.CheckEquivalence(ctx, c, pq, psample, p.URL, m.URL, members, m.SearchKey, st.sizes)
	if err != nil {
		return err
	}
	st.equiv.checked = len(sample) + len(psample)
	if cfg.keep {
		for kind, sz := range st.sizes {
			_ = os.WriteFile(filepath.Join(filepath.Dir(siteDir), "answer-"+kind+"-raw.json"), sz.RawSample, 0o644)
			_ = os.WriteFile(filepath.Join(filepath.Dir(siteDir), "answer-"+kind+"-portal.json"), sz.PortalSample, 0o644)
		}
	}
	st.equiv.mismatches = append(mm, pm...)
	st.logf("equivalence: %d of %d sampled answers differ", len(st.equiv.mismatches), st.equiv.checked)

	memberPortal, memberRaw := bench.Targets(mq, p.URL, m.URL, members, m.SearchKey)
	publicPortal, publicRaw := bench.Targets(pq, p.URL, m.URL, members, m.SearchKey)

	var rss *bench.RSSSampler
	peak := 0
	l16 := bench.Load{Name: "member-16", Conns: 16, Rounds: cfg.rounds, Round: cfg.round, Warmup: cfg.warmup,
		Seq: memberSeq, Portal: memberPortal, Raw: memberRaw,
		DuringPortal: func(start bool) {
			if start {
				rss = bench.StartRSS(p.PID(), 50*time.Millisecond)
			} else {
				peak = max(peak, rss.Stop())
			}
		}}
	for _, l := range []bench.Load{
		l16,
		{Name: "member-1", Conns: 1, Rounds: cfg.rounds, Round: cfg.round, Warmup: cfg.warmup, Seq: memberSeq, Portal: memberPortal, Raw: memberRaw},
		{Name: "public-16", Conns: 16, Rounds: cfg.rounds, Round: cfg.round, Warmup: cfg.warmup, Seq: publicSeq, Portal: publicPortal, Raw: publicRaw},
	} {
		if err := runLoad(ctx, st, p, l); err != nil {
			return err
		}
	}
	st.rss16 = peak
	st.rssAfter, _, _ = bench.ReadRSS(p.PID())
	if err := suggestLoads(ctx, st, p, m, members); err != nil {
		return err
	}
	st.smaps16 = bench.Smaps(p.PID())

	// The profile: the same member load at 16 connections against the same
	// portal built with a pprof listener (go build -overlay), portal side
	// only.
	if cfg.profileDuration > 0 {
		if err := profile(ctx, st, pp, plainBin, pprofBin, env, siteDir, memberPortal, memberSeq); err != nil {
			return err
		}
	}
	return nil
}

func profile(ctx context.Context, st *state, pp **bench.Portal, plainBin, pprofBin string, env *bench.PortalEnv, siteDir string,
	targets []vegeta.Target, seq bench.Sequence) error {
	cfg := st.cfg
	(*pp).Stop()
	pprofAddr, err := freeAddr()
	if err != nil {
		return err
	}
	envp := append(env.Environ(siteDir), "BENCH_PPROF_ADDR="+pprofAddr)
	pr, err := bench.StartPortal(ctx, pprofBin, envp)
	if err != nil {
		return err
	}
	st.logf("portal with pprof listener started")
	// Sessions live in the database: the members' cookies still work.
	retarget := rebase(targets, (*pp).URL, pr.URL)
	dir := cfg.profileDir
	if dir == "" {
		dir = filepath.Join(st.work, "profiles") // removed with the work directory
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		pr.Stop()
		return err
	}
	secs := int(cfg.profileDuration.Seconds())
	st.logf("profiling the portal under the 16-connection member load (%ds)", secs)
	type got struct {
		name string
		err  error
	}
	// A collection first, so that the allocation profile's baseline holds
	// what start-up allocated (heap profiles are published at collections).
	_, _ = fetchText(ctx, fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", pprofAddr))
	results := make(chan got, 2)
	for _, kind := range []string{"profile", "allocs"} {
		go func() {
			// Start once the load runs.
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
			}
			path := filepath.Join(dir, kind+".pprof")
			url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", pprofAddr, kind, secs)
			results <- got{path, download(ctx, url, path)}
		}()
	}
	l := bench.Load{Name: "profile", Conns: 16, Rounds: 1, Round: cfg.profileDuration + 1500*time.Millisecond, Seq: seq,
		Portal: retarget, Raw: retarget}
	_, lerr := l.RunPortalOnly(ctx)
	var files []string
	for range 2 {
		r := <-results
		if r.err != nil && lerr == nil {
			lerr = r.err
		}
		files = append(files, r.name)
	}
	// What the heap holds after the load, beside the process's RSS.
	heapPath := filepath.Join(dir, "heap.pprof")
	if err := download(ctx, fmt.Sprintf("http://%s/debug/pprof/heap", pprofAddr), heapPath); err == nil {
		files = append(files, heapPath)
	}
	if b, err := fetchText(ctx, fmt.Sprintf("http://%s/debug/pprof/heap?debug=1", pprofAddr)); err == nil {
		rss, _, _ := bench.ReadRSS(pr.PID())
		st.memStats = memStatsSummary(b, rss)
	}
	pr.Stop()
	if lerr != nil {
		return lerr
	}
	st.logf("profiles taken; summarising")
	sort.Strings(files)
	for _, f := range files {
		var args []string
		title := ""
		switch {
		case strings.HasSuffix(f, "allocs.pprof"):
			args = []string{"-sample_index=alloc_space"}
			title = "allocations during the load (alloc_space)"
		case strings.HasSuffix(f, "heap.pprof"):
			args = []string{"-sample_index=inuse_space"}
			title = "heap in use after the load (inuse_space)"
		default:
			title = "CPU"
		}
		modes := []string{"-top", "-top -cum"}
		if strings.HasSuffix(f, "heap.pprof") {
			modes = []string{"-top"}
		}
		for _, mode := range modes {
			a := append([]string{"tool", "pprof"}, args...)
			a = append(a, strings.Fields(mode)...)
			n := "-nodecount=18"
			if strings.Contains(mode, "cum") {
				n = "-nodecount=90" // filtered below
			}
			a = append(a, n, pprofBin, f)
			out, err := exec.CommandContext(ctx, "go", a...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("go %s: %w\n%s", strings.Join(a, " "), err, out)
			}
			t := title + ", flat"
			text := trimPprof(string(out))
			if strings.Contains(mode, "cum") {
				t = title + ", cumulative (the portal's own frames, the client library, SQLite and JSON; middleware frames left out)"
				text = keepFrames(text)
			}
			st.profiles = append(st.profiles, profileSummary{t, text})
		}
	}
	if cfg.profileDir != "" {
		st.logf("profiles kept in %s (binary %s, removed with the work directory unless -keep)", dir, pprofBin)
	}
	st.logf("profiles summarised")
	// Back to the plain binary for the rest.
	np, err := bench.StartPortal(ctx, plainBin, env.Environ(siteDir))
	if err != nil {
		return err
	}
	*pp = np
	return nil
}

func trimPprof(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") ||
			strings.HasPrefix(line, "Time:") || strings.HasPrefix(line, "Main binary") {
			continue
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return runtime.Version()
}

// writeCorpus writes the first records of the corpus whose passages reach
// cfg.docs index documents, as NDJSON.
func writeCorpus(cfg config) error {
	gen := bench.NewGenerator(cfg.seed, bench.LoadVocab(cfg.root))
	var recs []bench.Record
	for n := 0; n < cfg.docs; {
		r := gen.Record(len(recs))
		recs = append(recs, r)
		n += len(r.Passages)
	}
	f, err := os.Create(cfg.corpusOut)
	if err != nil {
		return err
	}
	st, err := bench.WriteNDJSON(f, recs)
	if err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "%d documents of %d records, %.0f MB\n", st.Passages, st.Documents, float64(st.Bytes)/1e6)
	return f.Close()
}

func fetchText(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// memStatsSummary picks the runtime.MemStats lines of a debug=1 heap
// profile that explain the RSS.
func memStatsSummary(text string, rssKiB int) string {
	keep := map[string]bool{"HeapAlloc": true, "HeapInuse": true, "HeapIdle": true, "HeapReleased": true,
		"HeapSys": true, "Stack": true, "Sys": true, "NumGC": true}
	var parts []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "# "))
		if len(f) >= 3 && f[1] == "=" && keep[f[0]] {
			if n, err := strconv.ParseFloat(f[2], 64); err == nil && f[0] != "NumGC" {
				parts = append(parts, fmt.Sprintf("%s %.1f MiB", f[0], n/1024/1024))
			} else if f[0] == "Stack" && len(f) >= 5 {
				if n, err := strconv.ParseFloat(f[4], 64); err == nil {
					parts = append(parts, fmt.Sprintf("Stack %.1f MiB", n/1024/1024))
				}
			} else {
				parts = append(parts, f[0]+" "+f[2])
			}
		}
	}
	return fmt.Sprintf("VmRSS %.1f MiB; Go runtime: %s", float64(rssKiB)/1024, strings.Join(parts, ", "))
}

// loadAvg is the machine's 1-minute load average: other work on the
// machine shows here.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// portalFrames are the frames of the search path worth reading in a
// cumulative listing; echo's middleware wraps everything and says little.
var portalFrames = regexp.MustCompile(`portal/(search|account|store)\.|portal/api\.\(\*Server\)\.search|meilisearch-go\.|modernc\.org/sqlite\.\(\*conn\)\.query|encoding/json\.(Unmarshal|Marshal)$|\(\*Encoder\)\.Encode|runtime\.(gcBgMarkWorker|mallocgc)$|net/http\.\(\*conn\)\.serve`)

func keepFrames(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") {
			out = append(out, line) // header
			continue
		}
		if portalFrames.MatchString(strings.Join(f[5:], " ")) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// storeRecords writes into the portal's store, as indexed, the records of
// recs it does not hold yet.
func storeRecords(ctx context.Context, env *bench.PortalEnv, uploader string, recs []bench.Record, inStore map[string]bool) error {
	var todo []bench.Record
	for _, r := range recs {
		if !inStore[r.Doc.ID] {
			todo = append(todo, r)
			inStore[r.Doc.ID] = true
		}
	}
	if len(todo) == 0 {
		return nil
	}
	accts, err := bench.OpenAccounts(ctx, env)
	if err != nil {
		return err
	}
	defer accts.Close()
	return accts.InsertResearch(ctx, uploader, todo, research.IndexIndexed)
}

// suggestLoads times the typeahead (GET /api/suggest) against the one
// multi-search it sends Meilisearch: members' requests at one connection
// (access-filtered, re-checked and audited, never cached) and anonymous
// readers' at 16 with a skewed mix (cached like public searches). A sample
// of each is first checked to get the same titles from both sides.
func suggestLoads(ctx context.Context, st *state, p *bench.Portal, m *bench.Meili, members []bench.Member) error {
	cfg := st.cfg
	c := bench.NewHTTPClient(2)
	for _, qs := range [][]bench.Query{st.suggestMember, st.suggestPublic} {
		sample := spread(len(qs), 20)
		mm, err := bench.CheckEquivalence(ctx, c, qs, sample, p.URL, m.URL, members, m.SearchKey, st.sizes)
		if err != nil {
			return err
		}
		st.equiv.checked += len(sample)
		st.equiv.mismatches = append(st.equiv.mismatches, mm...)
	}
	memberPortal, memberRaw := bench.Targets(st.suggestMember, p.URL, m.URL, members, m.SearchKey)
	publicPortal, publicRaw := bench.Targets(st.suggestPublic, p.URL, m.URL, members, m.SearchKey)
	for _, l := range []bench.Load{
		{Name: "suggest-member-1", Conns: 1, Rounds: cfg.rounds, Round: cfg.round / 2, Warmup: cfg.warmup,
			Seq: bench.UniformSequence(cfg.seed, len(st.suggestMember), 200000), Portal: memberPortal, Raw: memberRaw},
		{Name: "suggest-public-16", Conns: 16, Rounds: cfg.rounds, Round: cfg.round / 2, Warmup: cfg.warmup,
			Seq: bench.SkewedSequence(cfg.seed, len(st.suggestPublic), 200000, 1.1), Portal: publicPortal, Raw: publicRaw},
	} {
		if err := runLoad(ctx, st, p, l); err != nil {
			return err
		}
	}
	return nil
}

// runLoad runs l, fails on any failed request (with the portal's log) and
// keeps its result for the report.
func runLoad(ctx context.Context, st *state, p *bench.Portal, l bench.Load) error {
	st.logf("load %s: %d × %s per side", l.Name, l.Rounds, l.Round)
	res, err := l.Run(ctx)
	if err != nil {
		return err
	}
	if err := loadErrors(res); err != nil {
		return fmt.Errorf("%w\nportal log:\n%s", err, p.Log())
	}
	st.loads = append(st.loads, res)
	logSides(st, res)
	return nil
}

// spread picks up to k of the indexes 0…n-1, evenly spread: the sample of
// a mix whose answers are compared before a load.
func spread(n, k int) []int {
	var out []int
	for i := 0; i < n && len(out) < k; i += max(1, n/k) {
		out = append(out, i)
	}
	return out
}
