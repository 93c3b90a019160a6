package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/audit"
)

// Cookies. The __Host- prefix makes browsers refuse them unless they are
// Secure, host-only and for the whole path, so no subdomain can plant one.
const (
	sessionCookie = "__Host-portal_session"
	csrfCookie    = "__Host-portal_csrf" // anonymous CSRF secret, before login
	csrfHeader    = "X-CSRF-Token"
)

// deviceCookie marks a browser that completed a login (account/device.go):
// its failed attempts are throttled apart from an outsider's.
const deviceCookie = "__Host-portal_device"

// Policy says who may call a route. Every API route declares one; the route
// table in server.go is the one place that does.
type Policy int

const (
	// Public routes need no session.
	Public Policy = iota
	// PasswordStage routes need a half-authenticated session: only the
	// second-factor step.
	PasswordStage
	// EnrolStage routes need the session of an invited user who is setting
	// up their second factor.
	EnrolStage
	// Member routes need a complete login (password and second factor).
	Member
	// Trainer routes need a complete login with the trainer or admin role.
	Trainer
	// Admin routes need a complete login with the admin role.
	Admin
)

func (p Policy) String() string {
	return [...]string{"public", "password-stage", "enrol-stage", "member", "trainer", "admin"}[p]
}

// Context keys for what authenticate found.
const (
	ctxUser    = "portal.user"
	ctxSession = "portal.session"
)

func currentUser(c *echo.Context) *account.User {
	u, _ := c.Get(ctxUser).(*account.User)
	return u
}

func currentSession(c *echo.Context) *account.Session {
	s, _ := c.Get(ctxSession).(*account.Session)
	return s
}

// authenticate loads the session named by the cookie, if any. A missing,
// expired or revoked session is not an error here: require decides.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u, sess, err := s.accounts.Authenticate(c.Request().Context(), ck.Value)
			if err == nil {
				c.Set(ctxUser, u)
				c.Set(ctxSession, sess)
			}
		}
		return next(c)
	}
}

// require enforces a route's policy. Refusals of a logged-in user are
// audited (SECURITY.md AC-6); anonymous 401s are not, they are too common.
func (s *Server) require(p Policy) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if p == Public {
				return next(c)
			}
			u, sess := currentUser(c), currentSession(c)
			if u == nil || sess == nil {
				return errUnauthenticated()
			}
			allowed := false
			switch p {
			case PasswordStage:
				allowed = sess.Stage == account.StagePassword
			case EnrolStage:
				allowed = sess.Stage == account.StageEnrol
			case Member:
				allowed = sess.Stage == account.StageFull
			case Trainer:
				allowed = sess.Stage == account.StageFull && (u.Role == account.RoleTrainer || u.Role == account.RoleAdmin)
			case Admin:
				allowed = sess.Stage == account.StageFull && u.Role == account.RoleAdmin
			}
			if !allowed {
				s.recordDenied(c, u, p)
				if sess.Stage != account.StageFull {
					// A half-authenticated session reaches nothing but its
					// own next step.
					return &Error{Status: http.StatusForbidden, Code: "second_factor_required",
						Message: "Complete the second step of the login first."}
				}
				return errForbidden()
			}
			return next(c)
		}
	}
}

func (s *Server) recordDenied(c *echo.Context, u *account.User, p Policy) {
	s.recordDeniedDetail(c, u, "needs "+p.String())
}

func (s *Server) recordDeniedDetail(c *echo.Context, u *account.User, detail string) {
	err := s.audit.Record(c.Request().Context(), audit.Entry{
		Actor: u.ID, ActorEmail: u.Email, Action: audit.ActionAccessDenied,
		Target: c.Request().Method + " " + c.Request().URL.Path, IP: c.RealIP(),
		Outcome: audit.OutcomeDenied, Detail: detail,
	})
	if err != nil {
		s.log.Error("audit access denied", "error", err)
	}
}

// sameOrigin refuses state-changing requests that a browser says come from
// another site, and requires the CSRF token on all of them. Browsers send
// Sec-Fetch-Site; older ones at least Origin. The token covers clients that
// send neither.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		req := c.Request()
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if browserSite(req) == siteCross {
			return errCrossOrigin()
		}
		want := s.csrfToken(c)
		got := req.Header.Get(csrfHeader)
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return &Error{Status: http.StatusForbidden, Code: "csrf_invalid",
				Message: "The request's CSRF token is missing or stale; fetch /api/csrf and try again."}
		}
		return next(c)
	}
}

// What a browser says of where a request comes from (browserSite).
const (
	siteUnsaid = ""      // neither Sec-Fetch-Site nor Origin: not a browser, or an old one
	siteSame   = "same"  // this site, or the reader's own action (Sec-Fetch-Site: none)
	siteCross  = "cross" // another site
)

// browserSite reads Sec-Fetch-Site, or else Origin: the one reading of
// both for the API's guard and the page forms.
func browserSite(req *http.Request) string {
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" {
		if site == "same-origin" || site == "none" {
			return siteSame
		}
		return siteCross
	}
	origin := req.Header.Get("Origin")
	if origin == "" {
		return siteUnsaid
	}
	if u, err := url.Parse(origin); err == nil && u.Host == req.Host {
		return siteSame
	}
	return siteCross
}

// csrfToken is the token this request must carry: tied to the session when
// there is one, otherwise to the anonymous CSRF cookie (login and invitation
// pages, before any session exists). "" when neither exists.
func (s *Server) csrfToken(c *echo.Context) string {
	if sess := currentSession(c); sess != nil {
		return s.accounts.CSRFToken(sess)
	}
	ck, err := c.Cookie(csrfCookie)
	if err != nil || len(ck.Value) < 32 {
		return ""
	}
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte("anonymous-csrf|" + ck.Value))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// getCSRF answers GET /api/csrf. Without a session it first sets the
// anonymous CSRF cookie.
func (s *Server) getCSRF(c *echo.Context) error {
	if currentSession(c) == nil {
		if err := setAnonymousCSRFCookie(c); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"token": s.csrfToken(c)})
}

// setAnonymousCSRFCookie sets the anonymous CSRF cookie unless the request
// has one.
func setAnonymousCSRFCookie(c *echo.Context) error {
	if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	ck := &http.Cookie{Name: csrfCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600}
	c.SetCookie(ck)
	// The token computed next must see the cookie this response sets.
	c.Request().AddCookie(ck)
	return nil
}

func setSessionCookie(c *echo.Context, token string) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(c *echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1, Expires: time.Unix(0, 0)})
}

// setDeviceCookie keeps the device cookie as long as the device stays
// trusted; each complete login renews it.
func setDeviceCookie(c *echo.Context, value string) {
	c.SetCookie(&http.Cookie{Name: deviceCookie, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(account.DeviceTTL / time.Second)})
}

func deviceValue(c *echo.Context) string {
	ck, err := c.Cookie(deviceCookie)
	if err != nil || len(ck.Value) > 256 {
		return ""
	}
	return ck.Value
}

func sessionToken(c *echo.Context) string {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(ck.Value)
}

// The guards' refusals, a fresh value each time so that no caller can
// change what another one sends.
func errUnauthenticated() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "Log in to continue."}
}

func errForbidden() *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "You may not do this."}
}

func errCrossOrigin() *Error {
	return &Error{Status: http.StatusForbidden, Code: "cross_origin", Message: "Requests from other sites are refused."}
}
