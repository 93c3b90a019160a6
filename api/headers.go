package api

import "github.com/labstack/echo/v5"

// Header is one HTTP response header.
type Header struct{ Name, Value string }

// ContentSecurityPolicy allows only the site's own scripts, styles, images
// and fonts, forbids inline code, framing and plugins, and lets forms submit
// only to the portal itself.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

// HSTS is sent only on HTTPS (directly or through a trusted proxy): on plain
// HTTP browsers ignore it, and it must not pin a development host.
const HSTS = "max-age=63072000; includeSubDomains; preload"

// SecurityHeaders is the header set of every response, site and API alike.
// netlify.toml carries the same set for the static site; a test keeps them
// equal.
func SecurityHeaders() []Header {
	return []Header{
		{"Content-Security-Policy", ContentSecurityPolicy},
		{"Strict-Transport-Security", HSTS},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "strict-origin-when-cross-origin"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Cross-Origin-Resource-Policy", "same-origin"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"},
	}
}

// securityHeaders sets SecurityHeaders on every response, including errors
// and 404s, which is why it runs before routing.
func securityHeaders() echo.MiddlewareFunc {
	headers := SecurityHeaders()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			h := c.Response().Header()
			https := c.Scheme() == "https"
			for _, hd := range headers {
				if hd.Name == "Strict-Transport-Security" && !https {
					continue
				}
				h.Set(hd.Name, hd.Value)
			}
			return next(c)
		}
	}
}

// noStore marks API responses as never cacheable: they can depend on who
// asks, and the anonymous ones are cheap to recompute.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		c.Response().Header().Set("Vary", "Cookie")
		return next(c)
	}
}
