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
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"portal/access"
	"portal/account"
	"portal/audit"
	"portal/progress"
	"portal/research"
	"portal/search"
)

// Searcher is what the API needs of the search package.
type Searcher interface {
	Public(ctx context.Context, q search.PublicQuery) (*search.Results, error)
	Member(ctx context.Context, subj access.Subject, q search.MemberQuery) (*search.MemberResults, error)
	Health(ctx context.Context) (search.Status, error)
}

// Mailer sends invitation emails.
type Mailer interface {
	SendInvitation(ctx context.Context, to, link string, expires time.Time) error
}

// Options configures the server.
type Options struct {
	Logger   *slog.Logger
	Search   Searcher
	Accounts *account.Service
	Audit    *audit.Log
	Research *research.Service
	// Training records training progress and issues completions.
	Training *progress.Service
	// Mailer is optional: without one, invitation links are shown to the
	// admin who creates them.
	Mailer Mailer
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
}

// Server holds what the handlers share.
type Server struct {
	search   Searcher
	accounts *account.Service
	audit    *audit.Log
	research *research.Service
	training *progress.Service
	// auditQueue records members' searches without a disk sync per request.
	auditQueue *audit.Async
	mailer     Mailer
	secretKey  []byte
	publicURL  string
	log        *slog.Logger
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
}

// routes is the API's route table: the one place that says who may call
// what (SECURITY.md AC-1). Paths are relative to /api.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/health", Public, s.health, false, false},
		{http.MethodGet, "/openapi.json", Public, s.openAPI, false, false},
		{http.MethodGet, "/search", Public, s.searchAny, false, false},
		{http.MethodGet, "/csrf", Public, s.getCSRF, false, false},

		{http.MethodPost, "/session", Public, s.beginLogin, true, false},
		{http.MethodPost, "/session/mfa", PasswordStage, s.completeLogin, true, false},
		{http.MethodDelete, "/session", Public, s.logout, false, false},
		{http.MethodPost, "/invitations/lookup", Public, s.invitationInfo, true, false},
		{http.MethodPost, "/invitations/accept", Public, s.acceptInvitation, true, false},
		{http.MethodPost, "/mfa/totp/confirm", EnrolStage, s.confirmEnrolment, true, false},

		{http.MethodGet, "/me", Member, s.me, false, false},
		{http.MethodGet, "/me/sessions", Member, s.mySessions, false, false},
		{http.MethodDelete, "/me/sessions/:id", Member, s.revokeMySession, false, false},
		{http.MethodPost, "/me/password", Member, s.changePassword, true, false},
		{http.MethodPost, "/me/recovery-codes", Member, s.regenerateRecoveryCodes, true, false},

		{http.MethodPost, "/invitations", Admin, s.invite, false, false},
		{http.MethodGet, "/admin/users", Admin, s.listUsers, false, false},
		{http.MethodGet, "/admin/users/:id", Admin, s.getUser, false, false},
		{http.MethodPatch, "/admin/users/:id", Admin, s.updateUser, false, false},
		{http.MethodPost, "/admin/users/:id/disable", Admin, s.setDisabled(true), false, false},
		{http.MethodPost, "/admin/users/:id/enable", Admin, s.setDisabled(false), false, false},
		{http.MethodPost, "/admin/users/:id/unlock", Admin, s.unlockUser, false, false},
		{http.MethodPost, "/admin/users/:id/reset-mfa", Admin, s.resetMFA, false, false},
		{http.MethodDelete, "/admin/users/:id/sessions", Admin, s.revokeUserSessions, false, false},
		{http.MethodGet, "/admin/audit", Admin, s.listAudit, false, false},

		{http.MethodGet, "/research/vocabulary", Member, s.vocabulary, false, false},
		{http.MethodPost, "/research", Member, s.upload, false, true},
		{http.MethodGet, "/research/:id", Member, s.getDocument, false, false},
		{http.MethodPatch, "/research/:id", Member, s.updateDocument, false, false},
		{http.MethodGet, "/research/:id/versions", Member, s.listVersions, false, false},
		{http.MethodPost, "/research/:id/versions", Member, s.replaceFile, false, true},
		{http.MethodGet, "/research/:id/download", Member, s.download, false, false},
		{http.MethodPost, "/research/:id/withdraw", Member, s.withdraw(false), false, false},
		{http.MethodPost, "/research/:id/restore", Member, s.withdraw(true), false, false},

		{http.MethodGet, "/training/progress", Public, s.getProgress, false, false}, // 204 for anonymous readers
		{http.MethodPost, "/training/progress", Member, s.markLesson, false, false},
		{http.MethodPost, "/training/quiz", Member, s.submitQuiz, false, false},
		{http.MethodGet, "/training/verify", Public, s.verifyCompletion, true, false},
		{http.MethodGet, "/training/stats", Trainer, s.trainingStats, false, false},
		{http.MethodGet, "/training/stats.csv", Trainer, s.trainingStatsCSV, false, false},
	}
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

// New builds the portal's HTTP handler.
func New(opts Options) (*echo.Echo, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.SecretRate == 0 {
		opts.SecretRate, opts.SecretBurst = 1, 10
	}
	if opts.Accounts == nil || opts.Audit == nil || opts.Research == nil || opts.Training == nil {
		return nil, errors.New("api: Accounts, Audit, Research and Training are required")
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
		return nil, err
	}
	s := &Server{search: opts.Search, accounts: opts.Accounts, audit: opts.Audit, research: opts.Research,
		training: opts.Training, mailer: opts.Mailer, secretKey: opts.SecretKey, publicURL: opts.PublicURL, log: opts.Logger,
		auditQueue: audit.NewAsync(opts.Audit, opts.Logger)}

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
	e.Use(requestLog(opts.Logger))
	e.Use(middleware.Recover())

	// A coarse per-address limit on the routes that check secrets; the
	// per-account counters in the account package are what stop password
	// guessing from many addresses (SECURITY.md RL-2, AU-8).
	limiter := middleware.RateLimiter(middleware.NewRateLimiterMemoryStoreWithConfig(
		middleware.RateLimiterMemoryStoreConfig{Rate: opts.SecretRate, Burst: opts.SecretBurst, ExpiresIn: 3 * time.Minute}))
	jsonLimit := middleware.BodyLimit(maxBodyBytes)
	// The multipart envelope around the file needs a little room.
	uploadLimit := middleware.BodyLimit(opts.Research.MaxUploadBytes() + 1<<20)
	g := e.Group("/api", noStore, s.authenticate, s.sameOrigin)
	for _, r := range s.routes() {
		mw := []echo.MiddlewareFunc{}
		if r.throttled {
			mw = append(mw, limiter)
		}
		mw = append(mw, s.require(r.policy))
		if r.upload {
			// An upload may take longer than other requests; the server's
			// own read timeout still bounds a slow sender.
			mw = append(mw, uploadLimit)
		} else {
			mw = append(mw, jsonLimit, middleware.ContextTimeout(opts.RequestTimeout))
		}
		g.Add(r.method, r.path, r.handler, mw...)
	}

	// Members-only pages: the session decides, page by page.
	e.GET("/members/*", members.serve, s.authenticate)
	e.HEAD("/members/*", members.serve, s.authenticate)
	e.GET("/*", site.serve)
	e.HEAD("/*", site.serve)
	return e, nil
}

// auditAsync queues an audit entry for a frequent, read-only event.
func (s *Server) auditAsync(c *echo.Context, u *account.User, action, target, outcome, detail string) {
	s.auditQueue.Record(audit.Entry{Actor: u.ID, ActorEmail: u.Email, Action: action, Target: target,
		IP: c.RealIP(), Outcome: outcome, Detail: detail})
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

// requestLog writes one structured line per request. The query string is
// left out: it holds search terms.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			start := time.Now()
			err := next(c)
			_, status := echo.ResolveResponseStatus(c.Response(), err)
			req := c.Request()
			log.LogAttrs(req.Context(), slog.LevelInfo, "request",
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
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
