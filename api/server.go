// Package api is the portal's HTTP server: the echo routes of the JSON API,
// the public site's static files, and the middleware every response passes
// through (security headers, logging, recovery, limits).
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"portal/search"
)

// Searcher is what the API needs of the search package.
type Searcher interface {
	Public(ctx context.Context, q search.PublicQuery) (*search.Results, error)
	Health(ctx context.Context) (search.Status, error)
}

// Options configures the server.
type Options struct {
	Logger *slog.Logger
	Search Searcher
	// SiteDir is the built public site (Hugo's output).
	SiteDir string
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed. Empty trusts no header: the
	// client address is the socket's peer.
	TrustedProxies []*net.IPNet
	// RequestTimeout bounds each API request's work.
	RequestTimeout time.Duration
}

// maxBodyBytes caps request bodies on the API routes of this slice; none of
// them takes more than a small JSON document.
const maxBodyBytes = 64 << 10

// New builds the portal's HTTP handler.
func New(opts Options) (*echo.Echo, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	site, err := newSite(opts.SiteDir, opts.Search, opts.Logger)
	if err != nil {
		return nil, err
	}
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

	h := &handlers{search: opts.Search, log: opts.Logger}
	g := e.Group("/api", noStore, middleware.BodyLimit(maxBodyBytes), middleware.ContextTimeout(opts.RequestTimeout))
	g.GET("/health", h.health)
	g.GET("/search", h.searchPublic)

	e.GET("/*", site.serve)
	e.HEAD("/*", site.serve)
	return e, nil
}

type handlers struct {
	search Searcher
	log    *slog.Logger
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
