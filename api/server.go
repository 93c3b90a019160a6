// Package api is the portal's HTTP server: the echo routes of the JSON API,
// the public site's static files, and the middleware every response passes
// through (security headers, logging, recovery, limits, authentication, the
// route policies).
package api

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"portal/access"
	"portal/account"
	"portal/alerts"
	"portal/attest"
	"portal/audit"
	"portal/complaints"
	"portal/groups"
	"portal/mail"
	"portal/metrics"
	"portal/reach"
	"portal/research"
	"portal/search"
	"portal/training"
)

// Searcher is what the API needs of the search package.
type Searcher interface {
	Public(ctx context.Context, q search.PublicQuery) (*search.Results, error)
	Member(ctx context.Context, subj access.Subject, q search.MemberQuery) (*search.MemberResults, error)
	Health(ctx context.Context) (search.Status, error)
	SuggestPublic(ctx context.Context, q search.SuggestQuery) (*search.Suggestions, error)
	SuggestMember(ctx context.Context, subj access.Subject, q search.SuggestQuery) (*search.Suggestions, error)
}

// Database is what the readiness probe asks of the database.
type Database interface {
	// Ping reads the database and fails if it cannot.
	Ping(ctx context.Context) error
}

// Options configures the server.
type Options struct {
	Logger   *slog.Logger
	Search   Searcher
	Accounts *account.Service
	Audit    *audit.Log
	Research *research.Service
	// Training records training progress and issues completions.
	Training *training.Service
	// Outbox queues the mails the API sends. Optional: without one, or
	// while it has no SMTP relay, invitation links are also shown to the
	// admin who creates them.
	Outbox *mail.Outbox
	// SecretKey signs the anonymous CSRF tokens; at least 32 bytes.
	SecretKey []byte
	// PublicURL is the portal's public origin (https://portal.example),
	// used in invitation links; empty uses the request's.
	PublicURL string
	// SiteDir is the built public site (Hugo's output).
	SiteDir string
	// MembersDir is the members build (Hugo's members environment), served
	// under /members/ to members whose groups allow each page; empty serves
	// nothing there.
	MembersDir string
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed. Empty trusts no header: the
	// client address is the socket's peer.
	TrustedProxies []*net.IPNet
	// RequestTimeout bounds each API request's work.
	RequestTimeout time.Duration
	// SecretRate and SecretBurst limit, per client address, the requests
	// to routes that check passwords, codes or tokens (default 1/s, burst
	// 10).
	SecretRate  float64
	SecretBurst int
	// RateLimits, when set, counts that limit in the database every
	// instance shares; nil counts in this process's memory.
	RateLimits RateCounter
	// Database is checked by GET /api/health/ready.
	Database Database
	// Metrics records requests, searches and the audit queue; nil records
	// nothing.
	Metrics *metrics.Metrics
	// Complaints runs the complaints procedure (issue 17); nil serves
	// neither its routes (503) nor its pages (404).
	Complaints *complaints.Service
	// AnchorEvery is how often the audit log's head goes to the log
	// (default 5 minutes); it also goes there at start, after each admin
	// act and at Close. Negative leaves the periodic head to the caller:
	// serve writes it under a lease, from one instance.
	AnchorEvery time.Duration
	// Groups is the list of access groups, their names and leads.
	Groups *groups.Service
	// Attest is the yearly re-attestation of members.
	Attest *attest.Service
	// Reach answers who can see what.
	Reach *reach.Service
	// Alerts keeps saved searches, followed records and the notifications
	// inbox. Optional: without it their routes answer 503.
	Alerts *alerts.Service
}

// Server is the portal's HTTP handler and what its handlers share. It owns
// the echo instance and the background audit writer it starts; Close
// stops the writer once no request is running any more.
type Server struct {
	echo     *echo.Echo
	site     *site
	members  *membersSite
	db       Database
	search   Searcher
	accounts *account.Service
	audit    *audit.Log
	research *research.Service
	training *training.Service
	// auditQueue records members' searches without a disk sync per request.
	auditQueue *audit.Async
	outbox     *mail.Outbox
	secretKey  []byte
	publicURL  string
	log        *slog.Logger

	// anchor writes the audit head to the log (see anchor.go).
	anchor *anchorLoop

	complaints *complaints.Service
	pages      *complaintPages
	groups     *groups.Service
	attest     *attest.Service
	reach      *reach.Service
	alerts     *alerts.Service
}

// maxBodyBytes caps JSON request bodies (SECURITY.md UP-2).
const maxBodyBytes = 64 << 10

// route is one API route and the policy that guards it. Throttled routes
// take passwords, codes or tokens and get a per-address rate limit; upload
// routes take files and get the upload size limit instead of the JSON one.
type route struct {
	method, path string
	policy       Policy
	handler      echo.HandlerFunc
	throttled    bool
	upload       bool
	// stepUp routes change who someone is: they need a second factor
	// passed within account.StepUpWindow on the session (requireStepUp).
	stepUp bool
}

// routes is the API's route table: the one place that says who may call
// what (SECURITY.md AC-1). Paths are relative to /api.
func (s *Server) routes() []route {
	routes := append([]route{
		{method: http.MethodGet, path: "/health", policy: Public, handler: s.health},
		{method: http.MethodGet, path: "/health/live", policy: Public, handler: s.live},
		{method: http.MethodGet, path: "/health/ready", policy: Public, handler: s.ready},
		{method: http.MethodGet, path: "/openapi.json", policy: Public, handler: s.openAPI},
		{method: http.MethodGet, path: "/search", policy: Public, handler: s.searchAny},
		{method: http.MethodGet, path: "/csrf", policy: Public, handler: s.getCSRF},

		{method: http.MethodPost, path: "/session", policy: Public, handler: s.beginLogin, throttled: true},
		{method: http.MethodPost, path: "/session/mfa", policy: PasswordStage, handler: s.completeLogin, throttled: true},
		{method: http.MethodDelete, path: "/session", policy: Public, handler: s.logout},
		{method: http.MethodPost, path: "/invitations/lookup", policy: Public, handler: s.invitationInfo, throttled: true},
		{method: http.MethodPost, path: "/invitations/accept", policy: Public, handler: s.acceptInvitation, throttled: true},
		{method: http.MethodPost, path: "/mfa/totp/confirm", policy: EnrolStage, handler: s.confirmEnrolment, throttled: true},
		{method: http.MethodPost, path: "/devices/unlock", policy: Public, handler: s.unlockDevice, throttled: true},

		{method: http.MethodGet, path: "/me", policy: Member, handler: s.me},
		{method: http.MethodGet, path: "/me/sessions", policy: Member, handler: s.mySessions},
		{method: http.MethodDelete, path: "/me/sessions/:id", policy: Member, handler: s.revokeMySession},
		{method: http.MethodPost, path: "/me/password", policy: Member, handler: s.changePassword, throttled: true},
		{method: http.MethodPost, path: "/me/recovery-codes", policy: Member, handler: s.regenerateRecoveryCodes, throttled: true},

		{method: http.MethodPost, path: "/session/step-up", policy: Member, handler: s.stepUp, throttled: true},

		// Inviting an admin needs step-up too; the invite handler asks for
		// it when the role is admin.
		{method: http.MethodPost, path: "/invitations", policy: Admin, handler: s.invite},
		{method: http.MethodGet, path: "/invitations", policy: Admin, handler: s.listInvitations},
		{method: http.MethodDelete, path: "/invitations/:id", policy: Admin, handler: s.revokeInvitation},
		{method: http.MethodGet, path: "/admin/users", policy: Admin, handler: s.listUsers},
		{method: http.MethodGet, path: "/admin/users/:id", policy: Admin, handler: s.getUser},
		{method: http.MethodPatch, path: "/admin/users/:id", policy: Admin, handler: s.updateUser, stepUp: true},
		{method: http.MethodPost, path: "/admin/users/:id/disable", policy: Admin, handler: s.setDisabled(true), stepUp: true},
		{method: http.MethodPost, path: "/admin/users/:id/enable", policy: Admin, handler: s.setDisabled(false), stepUp: true},
		{method: http.MethodPost, path: "/admin/users/:id/unlock", policy: Admin, handler: s.unlockUser},
		{method: http.MethodPost, path: "/admin/users/:id/reset-mfa", policy: Admin, handler: s.resetMFA, stepUp: true},
		{method: http.MethodPost, path: "/admin/users/:id/reset-mfa/resend", policy: Admin, handler: s.resendResetLink, stepUp: true},
		{method: http.MethodGet, path: "/admin/users/:id/sessions", policy: Admin, handler: s.listUserSessions, stepUp: true},
		{method: http.MethodDelete, path: "/admin/users/:id/sessions", policy: Admin, handler: s.revokeUserSessions, stepUp: true},
		{method: http.MethodGet, path: "/admin/reset-requests", policy: Admin, handler: s.listResetRequests},
		{method: http.MethodPost, path: "/admin/reset-requests/:id/approve", policy: Admin, handler: s.approveReset, stepUp: true},
		{method: http.MethodGet, path: "/admin/audit", policy: Admin, handler: s.listAudit},

		{method: http.MethodGet, path: "/research/vocabulary", policy: Member, handler: s.vocabulary},
		{method: http.MethodPost, path: "/research", policy: Member, handler: s.upload, upload: true},
		{method: http.MethodGet, path: "/research/:id", policy: Member, handler: s.getDocument},
		{method: http.MethodPatch, path: "/research/:id", policy: Member, handler: s.updateDocument},
		{method: http.MethodGet, path: "/research/:id/versions", policy: Member, handler: s.listVersions},
		{method: http.MethodPost, path: "/research/:id/versions", policy: Member, handler: s.replaceFile, upload: true},
		{method: http.MethodGet, path: "/research/:id/download", policy: Member, handler: s.download},
		{method: http.MethodPost, path: "/research/:id/withdraw", policy: Member, handler: s.withdraw(false)},
		{method: http.MethodPost, path: "/research/:id/restore", policy: Member, handler: s.withdraw(true)},

		{method: http.MethodGet, path: "/training/progress", policy: Public, handler: s.getProgress}, // 204 for anonymous readers
		{method: http.MethodPost, path: "/training/progress", policy: Member, handler: s.markLesson},
		{method: http.MethodPost, path: "/training/quiz", policy: Member, handler: s.submitQuiz},
		{method: http.MethodGet, path: "/training/verify", policy: Public, handler: s.verifyCompletion, throttled: true},
		{method: http.MethodGet, path: "/training/stats", policy: Trainer, handler: s.trainingStats},
		{method: http.MethodGet, path: "/training/stats.csv", policy: Trainer, handler: s.trainingStatsCSV},
	}, s.passkeyRoutes()...)
	routes = append(routes, s.complaintRoutes()...)
	routes = append(routes, s.groupRoutes()...)
	routes = append(routes, s.attestRoutes()...)
	routes = append(routes, s.reachRoutes()...)
	routes = append(routes, s.readingRoutes()...)
	routes = append(routes, s.suggestRoutes()...)
	routes = append(routes, s.alertRoutes()...)
	routes = append(routes, s.quizRoutes()...)
	routes = append(routes, s.receiptRoutes()...)
	return routes
}

// Policies lists every API route ("METHOD /api/path") with its policy, for
// tests and documentation.
func Policies() map[string]Policy {
	out := map[string]Policy{}
	for _, r := range (&Server{}).routes() {
		out[r.method+" /api"+r.path] = r.policy
	}
	return out
}

// New builds the portal's HTTP handler and starts its audit writer; Close
// stops the writer.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.SecretRate == 0 {
		opts.SecretRate, opts.SecretBurst = 1, 10
	}
	if opts.Accounts == nil || opts.Audit == nil || opts.Research == nil || opts.Training == nil || opts.Database == nil {
		return nil, errors.New("api: Accounts, Audit, Research, Training and Database are required")
	}
	if opts.Groups == nil || opts.Attest == nil || opts.Reach == nil {
		return nil, errors.New("api: Groups, Attest and Reach are required")
	}
	if len(opts.SecretKey) < 32 {
		return nil, errors.New("api: SecretKey must be at least 32 bytes")
	}
	site, err := newSite(opts.SiteDir, opts.Search, opts.Logger)
	if err != nil {
		return nil, err
	}
	members, err := newMembersSite(opts.MembersDir, site, opts.Logger)
	if err != nil {
		site.close()
		return nil, err
	}
	s := &Server{site: site, members: members, db: opts.Database, search: observedSearcher{opts.Search, opts.Metrics},
		accounts: opts.Accounts, audit: opts.Audit, research: opts.Research,
		training: opts.Training, outbox: opts.Outbox, secretKey: opts.SecretKey, publicURL: opts.PublicURL, log: opts.Logger}
	s.complaints = opts.Complaints
	s.groups, s.attest, s.reach = opts.Groups, opts.Attest, opts.Reach
	s.alerts = opts.Alerts

	e := echo.NewWithConfig(echo.Config{
		Logger:           opts.Logger,
		HTTPErrorHandler: errorHandler(opts.Logger),
		IPExtractor:      ipExtractor(opts.TrustedProxies),
		SchemeExtractor:  schemeExtractor(opts.TrustedProxies),
		// A catch-all 404 route under /api would answer 404 where the path
		// exists and only the method is wrong; the router's 405 is right.
		NoGroupAutoRegister404Routes: true,
	})
	e.Pre(securityHeaders())
	e.Use(requestLog(opts.Logger, opts.Metrics))
	e.Use(middleware.Recover())

	// A coarse per-address limit on the routes that check secrets; the
	// per-account counters in the account package are what stop password
	// guessing from many addresses (SECURITY.md RL-2, AU-8).
	limiter := rateLimiter(opts.RateLimits, opts.SecretRate, opts.SecretBurst, opts.Logger)
	jsonLimit := middleware.BodyLimit(maxBodyBytes)
	// The multipart envelope around the file needs a little room.
	uploadLimit := middleware.BodyLimit(opts.Research.MaxUploadBytes() + 1<<20)
	g := e.Group("/api", noStore, s.authenticate, s.sameOrigin)
	for _, r := range s.routes() {
		mw := []echo.MiddlewareFunc{}
		if r.throttled {
			mw = append(mw, limiter)
		}
		// The head is written after every admin act and every act that
		// needs step-up (who belongs to a group, a lifted suspension),
		// refusals included, so it wraps the checks that audit them.
		if (r.policy == Admin || r.stepUp) && r.method != http.MethodGet {
			mw = append(mw, s.anchorAfter)
		}
		mw = append(mw, s.require(r.policy))
		if r.stepUp {
			mw = append(mw, s.requireStepUp)
		}
		if r.upload {
			// An upload may take longer than other requests; the server's
			// own read timeout still bounds a slow sender.
			mw = append(mw, uploadLimit)
		} else {
			mw = append(mw, jsonLimit, middleware.ContextTimeout(opts.RequestTimeout))
		}
		g.Add(r.method, r.path, r.handler, mw...)
	}

	s.registerComplaintPages(e)
	// Certificates of completions and receipts (certificate.go).
	e.GET("/:lang/training/certificate/", s.certificate, middleware.ContextTimeout(opts.RequestTimeout))
	// Graded quizzes without JavaScript: the quiz page's form (quiz.go).
	e.POST("/:lang/training/:module/quiz/", s.quizForm, s.authenticate, jsonLimit, middleware.ContextTimeout(opts.RequestTimeout))
	e.POST("/members/:lang/training/:module/quiz/", s.quizForm, s.authenticate, jsonLimit, middleware.ContextTimeout(opts.RequestTimeout))

	// Members-only pages: the session decides, page by page.
	e.GET("/members/*", members.serve, s.authenticate)
	e.HEAD("/members/*", members.serve, s.authenticate)
	e.GET("/*", site.serve)
	e.HEAD("/*", site.serve)
	s.echo = e
	// Started last: nothing above can fail after it, so no error path
	// leaves a writer running.
	s.auditQueue = audit.NewAsync(opts.Audit, opts.Logger, opts.Metrics)
	s.anchor = startAnchor(opts.Audit, opts.Logger, opts.AnchorEvery)
	return s, nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Router returns the echo router, for tests that walk the routes.
func (s *Server) Router() echo.Router { return s.echo.Router() }

// Close stops writing the audit head, writes the queued audit entries,
// stops the writer, writes the final head and closes the site directories. Call it after the HTTP server has stopped handing
// requests to s: an audit entry recorded later is still written, but one at
// a time.
func (s *Server) Close() error {
	s.anchor.stop()
	s.auditQueue.Close()
	// The last head, once every queued entry is written.
	s.anchor.final()
	return errors.Join(s.members.close(), s.site.close())
}

// auditAsync queues an audit entry for a frequent, read-only event. An
// error means the log cannot take it: the caller must not answer with
// what the entry records (errAuditUnavailable).
func (s *Server) auditAsync(c *echo.Context, u *account.User, action, target, outcome, detail string) error {
	err := s.auditQueue.Record(c.Request().Context(), audit.Entry{Actor: u.ID, ActorEmail: u.Email, Action: action, Target: target,
		IP: c.RealIP(), Outcome: outcome, Detail: detail})
	if err != nil {
		return errAuditUnavailable(err)
	}
	return nil
}

func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	return echo.ExtractIPFromXFFHeader(trustOnly(trusted)...)
}

func schemeExtractor(trusted []*net.IPNet) echo.SchemeExtractor {
	if len(trusted) == 0 {
		return echo.ExtractSchemeDirect()
	}
	return echo.ExtractSchemeFromHeaders(trustOnly(trusted)...)
}

// trustOnly trusts the configured networks and nothing else: echo trusts
// loopback, link-local and private networks by default.
func trustOnly(trusted []*net.IPNet) []echo.TrustOption {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return opts
}

// requestLog writes one structured line per request and records it in the
// metrics by route template. The query string is left out: it holds search
// terms. The health probes, polled every second, log at debug level only.
func requestLog(log *slog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			start := time.Now()
			err := next(c)
			_, status := echo.ResolveResponseStatus(c.Response(), err)
			req := c.Request()
			took := time.Since(start)
			m.ObserveRequest(req.Method, c.Path(), status, took)
			level := slog.LevelInfo
			if strings.HasPrefix(c.Path(), "/api/health") {
				level = slog.LevelDebug
			}
			log.LogAttrs(req.Context(), level, "request",
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", took),
				slog.String("ip", c.RealIP()),
			)
			return err
		}
	}
}

// ServerTimeouts are the http.Server limits the portal runs with; echo's
// StartConfig only sets a read timeout of its own.
func ServerTimeouts(s *http.Server) error {
	s.ReadHeaderTimeout = 10 * time.Second
	s.ReadTimeout = 60 * time.Second
	s.WriteTimeout = 120 * time.Second
	s.IdleTimeout = 120 * time.Second
	s.MaxHeaderBytes = 32 << 10
	return nil
}

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument returns the API's OpenAPI 3.1 description.
func OpenAPIDocument() []byte { return slices.Clone(openAPIDoc) }

// openAPI serves the API's description (kept in api/openapi.json; a test
// checks it against the routes and the responses).
func (s *Server) openAPI(c *echo.Context) error {
	return c.JSONBlob(http.StatusOK, openAPIDoc)
}
