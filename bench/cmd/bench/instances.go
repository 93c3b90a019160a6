package main

import (
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"portal/account"
	"portal/bench"
	"portal/portaltest/pgtest"
	"portal/research"
)

// instanceFigures measures issue 13's several-portals figures at the main
// library size, beside the SQLite portal p of the main loads:
//
//   - the member search load against a `portal serve` whose store is
//     PostgreSQL and against p, in alternating rounds (member-16-pg);
//   - the same load through a round-robin proxy in front of two `portal
//     serve` on that PostgreSQL, the same Meilisearch and the same blob
//     directory, and through the same proxy in front of one of them
//     (proxy-16).
//
// PostgreSQL is started as the tests start it (pgtest: initdb into a
// temporary directory, a postmaster on a socket there, never the system
// service) but with its durability settings left on, since SQLite's
// commits are synchronous=FULL (every member search appends to the audit
// log), and stopped when this returns, whether it succeeds or not.
func instanceFigures(ctx context.Context, st *state, m *bench.Meili, p *bench.Portal, bin string, env *bench.PortalEnv,
	siteDir string, members []bench.Member, mq []bench.Query, seq bench.Sequence, records []bench.Record) (err error) {
	cfg := st.cfg
	st.logf("starting postgresql")
	srv, err := pgtest.StartDurable()
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop postgresql: %w", serr)
		}
	}()
	if v, err := exec.CommandContext(ctx, filepath.Join(pgtest.BinDir, "postgres"), "--version").Output(); err == nil {
		st.versions["postgresql"] = strings.TrimSpace(string(v))
	}
	name, err := srv.NewDatabase(ctx, "")
	if err != nil {
		return err
	}

	// The same members (same addresses and groups; their passwords and
	// TOTP secrets are new) and the same research records as the SQLite
	// store holds, written through the store as on SQLite; opening the
	// store applies the migrations, as `portal db migrate` does.
	pgEnv := *env
	pgEnv.DatabaseURL = srv.URL(name)
	pgEnv.DataDir = filepath.Join(st.work, "data-pg")
	if pgEnv.Addr, err = freeAddr(); err != nil {
		return err
	}
	st.logf("seeding postgresql: %d members, %d research records", len(members), len(records))
	accts, err := bench.OpenAccounts(ctx, &pgEnv)
	if err != nil {
		return err
	}
	pgMembers, _, err := accts.Seed(ctx, "member", len(bench.MemberGroups), account.RoleMember, bench.MemberGroups)
	if err == nil {
		var uploader []account.User
		if _, uploader, err = accts.Seed(ctx, "uploader", 1, account.RoleAdmin, [][]string{{"members"}}); err == nil {
			err = accts.InsertResearch(ctx, uploader[0].ID, records, research.IndexIndexed)
		}
	}
	if cerr := accts.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("seed postgresql: %w", err)
	}
	// The compiled PDF sandbox, as for the first portal (not measured).
	_ = bench.CopyDir(filepath.Join(env.DataDir, "pdfium-cache"), filepath.Join(pgEnv.DataDir, "pdfium-cache"))

	st.logf("starting portal serve on postgresql")
	a, err := bench.StartPortal(ctx, bin, pgEnv.Environ(siteDir))
	if err != nil {
		return err
	}
	defer a.Stop()
	// Sessions live in the database: each member logs in to this store.
	lc := bench.NewHTTPClient(4)
	for i := range pgMembers {
		if !slices.Equal(pgMembers[i].Groups, members[i].Groups) {
			return fmt.Errorf("member %d has groups %v on postgresql, %v on sqlite", i, pgMembers[i].Groups, members[i].Groups)
		}
		pgMembers[i].Filter, pgMembers[i].Token = members[i].Filter, members[i].Token
		if pgMembers[i].Cookie, err = bench.Login(ctx, lc, a.URL, pgMembers[i], fmt.Sprintf("10.201.0.%d", i+1)); err != nil {
			return fmt.Errorf("login on the postgresql portal: %w\nportal log:\n%s", err, a.Log())
		}
	}
	// The ratio means something only if this portal answers as the SQLite
	// one does: a record missing from its store would drop hits.
	sample := spread(len(mq), 20)
	if st.instances.mismatches, err = bench.CheckEquivalence(ctx, lc, mq, sample, a.URL, m.URL, pgMembers, m.SearchKey, nil); err != nil {
		return err
	}
	st.instances.checked = len(sample)
	st.logf("postgresql portal: %d of %d sampled answers differ from raw", len(st.instances.mismatches), len(sample))

	pgTargets, _ := bench.Targets(mq, a.URL, m.URL, pgMembers, m.SearchKey)
	liteTargets, _ := bench.Targets(mq, p.URL, m.URL, members, m.SearchKey)
	l := bench.Load{Name: "member-16-pg", Conns: 16, Rounds: cfg.pgRounds, Round: cfg.pgRound, Warmup: cfg.warmup,
		Seq: seq, Portal: pgTargets, Raw: liteTargets, Sides: [2]string{"postgres", "sqlite"}}
	if err := runLoad(ctx, st, a, l); err != nil {
		return err
	}

	// A second instance: same database, same Meilisearch, same blob
	// directory (the data directory is shared), its own address.
	envB := pgEnv
	if envB.Addr, err = freeAddr(); err != nil {
		return err
	}
	st.logf("starting a second portal serve on postgresql")
	b, err := bench.StartPortal(ctx, bin, envB.Environ(siteDir))
	if err != nil {
		return err
	}
	defer b.Stop()
	two, err := bench.StartProxy([]string{a.URL, b.URL})
	if err != nil {
		return err
	}
	defer two.Close()
	one, err := bench.StartProxy([]string{a.URL})
	if err != nil {
		return err
	}
	defer one.Close()
	l = bench.Load{Name: "proxy-16", Conns: 16, Rounds: cfg.pgRounds, Round: cfg.pgRound, Warmup: cfg.warmup,
		Seq: seq, Portal: rebase(pgTargets, a.URL, two.URL), Raw: rebase(pgTargets, a.URL, one.URL), Sides: [2]string{"two", "one"}}
	st.logf("load %s: %d × %s per side", l.Name, l.Rounds, l.Round)
	res, err := l.Run(ctx)
	if err != nil {
		return err
	}
	// Failed requests are this load's figure, not a reason to stop.
	st.loads = append(st.loads, res)
	st.instances.served = two.Served()
	st.instances.proxyFailed = two.Failed() + one.Failed()
	logSides(st, res)
	st.logf("  two instances served %v requests; %d failed at the proxy", st.instances.served, st.instances.proxyFailed)
	if res.Portal.Requests != res.Portal.Successes || res.Raw.Requests != res.Raw.Successes {
		st.notes = append(st.notes, fmt.Sprintf("proxy-16: requests failed; two instances: %s; one: %s",
			cmp.Or(res.Portal.ErrorSummary(), "none"), cmp.Or(res.Raw.ErrorSummary(), "none")))
		st.logf("  requests failed; first instance's log:\n%s\nsecond's:\n%s", tail(a.Log(), 2000), tail(b.Log(), 2000))
	}
	return nil
}

func logSides(st *state, res *bench.LoadResult) {
	s := res.Both()
	st.logf("  %s %.0f req/s p50 %.2f ms p99 %.2f ms | %s %.0f req/s p50 %.2f ms p99 %.2f ms",
		s[0].Name, s[0].Result.Throughput(), ms(s[0].Result.Quantile(0.5)), ms(s[0].Result.Quantile(0.99)),
		s[1].Name, s[1].Result.Throughput(), ms(s[1].Result.Quantile(0.5)), ms(s[1].Result.Quantile(0.99)))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// pgRoundsDefault and pgRoundDefault are the lengths of the two loads
// above: short, since each compares two portals started for them, not the
// portal against raw.
const (
	pgRoundsDefault = 3
	pgRoundDefault  = 3 * time.Second
)
