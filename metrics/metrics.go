// Package metrics holds the portal's Prometheus metrics: the registry one
// application owns, the series the parts of the portal record into, and the
// handler of the separate metrics listener (PORTAL_METRICS_ADDR), which also
// carries net/http/pprof. Nothing here is served on the public address.
//
// Labels are bounded by construction: routes are echo's templates
// (/api/research/:id), never request paths, and no label carries a user, an
// address or a query. A nil *Metrics records nothing, so that tests and
// one-off commands need none.
package metrics

import (
	"database/sql"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Search kinds, the values of the kind label of search latencies.
const (
	SearchPublic   = "public"
	SearchMember   = "member"
	SearchResearch = "research"
)

// Metrics is one application's registry and the series recorded into it.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.HistogramVec
	searches     *prometheus.HistogramVec
	meiliErrors  *prometheus.CounterVec
	meiliUp      prometheus.Gauge
	meiliVersion *prometheus.GaugeVec
	auditFailed  prometheus.Counter
	loginFailed  prometheus.Counter
	accountLocks prometheus.Counter
	purged       *prometheus.CounterVec
	pushFailed   prometheus.Counter
	mail         *prometheus.CounterVec
}

// Mail delivery outcomes, the values of the outcome label of mail attempts.
const (
	MailSent    = "sent"
	MailRetry   = "retry"
	MailGivenUp = "given_up"
)

// New returns a registry with the Go runtime and process collectors, a
// build-info gauge, and the portal's own series.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{
		reg: reg,
		requests: f.histogramVec(prometheus.HistogramOpts{
			Name:    "portal_http_request_duration_seconds",
			Help:    "HTTP requests by method, route template and status, with their latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, "method", "route", "status"),
		searches: f.histogramVec(prometheus.HistogramOpts{
			Name:    "portal_search_duration_seconds",
			Help:    "Searches by kind (public, member, research), with their latency; failures included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, "kind"),
		meiliErrors: f.counterVec(prometheus.CounterOpts{
			Name: "portal_meilisearch_errors_total",
			Help: `Failed calls to Meilisearch: reason "unavailable" when it could not be reached or answered 5xx/429 (an outage), "other" otherwise.`,
		}, "reason"),
		meiliUp: f.gauge(prometheus.GaugeOpts{
			Name: "portal_meilisearch_up",
			Help: "1 if the last call to Meilisearch reached it, 0 if it was unavailable.",
		}),
		meiliVersion: f.gaugeVec(prometheus.GaugeOpts{
			Name: "portal_meilisearch_info",
			Help: `Meilisearch's version as last reported, and whether it is older than the newest release with security fixes known to the portal (outdated "true"); always 1. Public health shows neither.`,
		}, "version", "outdated"),
		auditFailed: f.counter(prometheus.CounterOpts{
			Name: "portal_audit_write_failures_total",
			Help: "Audit entries the background writer failed to commit (each is also logged).",
		}),
		loginFailed: f.counter(prometheus.CounterOpts{
			Name: "portal_login_failures_total",
			Help: "Failed sign-in attempts, every factor.",
		}),
		accountLocks: f.counter(prometheus.CounterOpts{
			Name: "portal_account_locks_total",
			Help: "Accounts whose sign-in locked after consecutive failures.",
		}),
		pushFailed: f.counter(prometheus.CounterOpts{
			Name: "portal_index_push_failures_total",
			Help: "Pushes of a research record to Meilisearch that failed; the record stays pending and is pushed again.",
		}),
		mail: f.counterVec(prometheus.CounterOpts{
			Name: "portal_mail_attempts_total",
			Help: `Delivery attempts of queued mail by outcome: "sent", "retry" (failed, tried again later) or "given_up" (failed for the last time, or unreadable).`,
		}, "outcome"),
		purged: f.counterVec(prometheus.CounterOpts{
			Name: "portal_purged_rows_total",
			Help: "Rows the periodic purge removed, by table.",
		}, "table"),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	version, revision := buildVersion()
	f.gauge(prometheus.GaugeOpts{
		Name:        "portal_build_info",
		Help:        "The running portal's module version and VCS revision; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision},
	}).Set(1)
	m.meiliUp.Set(1)
	// Every series of a bounded label set exists from the start, at zero,
	// so that a rate over it is defined before the first event.
	for _, kind := range []string{SearchPublic, SearchMember, SearchResearch} {
		m.searches.WithLabelValues(kind)
	}
	for _, reason := range []string{"unavailable", "other"} {
		m.meiliErrors.WithLabelValues(reason)
	}
	for _, table := range []string{"sessions", "invitations", "unlock_links", "login_ghosts", "mfa_reset_requests"} {
		m.purged.WithLabelValues(table)
	}
	return m
}

// buildVersion reads the module version and VCS revision the binary was
// built with.
func buildVersion() (version, revision string) {
	version, revision = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return version, revision
}

// Handler serves the exposition at /metrics and pprof under /debug/pprof/.
// It belongs on the metrics listener only.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Registry returns the application's registry, for tests that gather it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest records one HTTP request. route is the matched route's
// template, or "" for none.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// ObserveSearch records a search of kind that took d, whatever its outcome.
func (m *Metrics) ObserveSearch(kind string, d time.Duration) {
	if m == nil {
		return
	}
	m.searches.WithLabelValues(kind).Observe(d.Seconds())
}

// ObserveMeili records the outcome of a call to Meilisearch: err is nil
// for success, and unavailable tells whether err means that Meilisearch
// could not answer (an outage) rather than that it refused the request.
func (m *Metrics) ObserveMeili(err error, unavailable bool) {
	if m == nil {
		return
	}
	switch {
	case err == nil:
		m.meiliUp.Set(1)
	case unavailable:
		m.meiliUp.Set(0)
		m.meiliErrors.WithLabelValues("unavailable").Inc()
	default:
		// Meilisearch answered, so it is up: the request was at fault.
		m.meiliUp.Set(1)
		m.meiliErrors.WithLabelValues("other").Inc()
	}
}

// MeiliVersion records the version Meilisearch last reported and whether
// it is outdated. One series at a time: an upgrade replaces the old one.
func (m *Metrics) MeiliVersion(version string, outdated bool) {
	if m == nil {
		return
	}
	m.meiliVersion.Reset()
	m.meiliVersion.WithLabelValues(version, strconv.FormatBool(outdated)).Set(1)
}

// AuditWriteFailed counts n audit entries the background writer lost.
func (m *Metrics) AuditWriteFailed(n int) {
	if m == nil {
		return
	}
	m.auditFailed.Add(float64(n))
}

// LoginFailed counts a failed sign-in attempt.
func (m *Metrics) LoginFailed() {
	if m == nil {
		return
	}
	m.loginFailed.Inc()
}

// AccountLocked counts an account locked by consecutive failures.
func (m *Metrics) AccountLocked() {
	if m == nil {
		return
	}
	m.accountLocks.Inc()
}

// IndexPushFailed counts a push to the index that failed.
func (m *Metrics) IndexPushFailed() {
	if m == nil {
		return
	}
	m.pushFailed.Inc()
}

// MailAttempt counts a delivery attempt with its outcome (MailSent,
// MailRetry or MailGivenUp).
func (m *Metrics) MailAttempt(outcome string) {
	if m == nil {
		return
	}
	m.mail.WithLabelValues(outcome).Inc()
}

// Purged counts rows of table removed by the purge.
func (m *Metrics) Purged(table string, n int) {
	if m == nil {
		return
	}
	m.purged.WithLabelValues(table).Add(float64(n))
}

// GaugeFunc registers a gauge whose value f reads at each scrape, for
// levels that the part holding them knows (queue depths, backlogs). f
// runs on the scrape's goroutine and must be cheap.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// WatchPools exposes the statistics of database/sql pools, by name:
// connections open and in use, and the waits for a connection. The names
// say nothing of the engine: the store keeps a writer and a reader pool
// on SQLite and on PostgreSQL alike. The SQLite writer is one connection,
// so its waits are the writes that queued behind another write (SQLite's
// busy waits, taken in the pool rather than in busy_timeout).
func (m *Metrics) WatchPools(pools map[string]func() sql.DBStats) {
	if m == nil {
		return
	}
	m.reg.MustRegister(poolCollector(pools))
}

var (
	poolOpen = prometheus.NewDesc("portal_db_connections_open",
		"Connections open in the pool.", []string{"pool"}, nil)
	poolInUse = prometheus.NewDesc("portal_db_connections_in_use",
		"Connections of the pool in use.", []string{"pool"}, nil)
	poolMax = prometheus.NewDesc("portal_db_connections_max",
		"Most connections the pool opens.", []string{"pool"}, nil)
	poolWaits = prometheus.NewDesc("portal_db_waits_total",
		"Times a query waited for a free connection of the pool.", []string{"pool"}, nil)
	poolWaited = prometheus.NewDesc("portal_db_wait_seconds_total",
		"Time spent waiting for a free connection of the pool.", []string{"pool"}, nil)
)

// poolCollector reads each pool's statistics at scrape time.
type poolCollector map[string]func() sql.DBStats

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolOpen, poolInUse, poolMax, poolWaits, poolWaited} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for pool, stats := range c {
		s := stats()
		ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(s.OpenConnections), pool)
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(s.InUse), pool)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxOpenConnections), pool)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount), pool)
		ch <- prometheus.MustNewConstMetric(poolWaited, prometheus.CounterValue, s.WaitDuration.Seconds(), pool)
	}
}

// factory builds collectors and registers them on one registry.
type factory struct{ reg prometheus.Registerer }

func (f factory) histogramVec(o prometheus.HistogramOpts, labels ...string) *prometheus.HistogramVec {
	c := prometheus.NewHistogramVec(o, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(o prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(o, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) counter(o prometheus.CounterOpts) prometheus.Counter {
	c := prometheus.NewCounter(o)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(o prometheus.GaugeOpts) prometheus.Gauge {
	c := prometheus.NewGauge(o)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(o prometheus.GaugeOpts, labels ...string) *prometheus.GaugeVec {
	c := prometheus.NewGaugeVec(o, labels)
	f.reg.MustRegister(c)
	return c
}
