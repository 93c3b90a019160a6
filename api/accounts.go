package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
)

// accountError maps the account package's errors to the API's. Login
// failures of every kind come out identical (no account enumeration).
func accountError(err error) error {
	var throttle *account.ThrottleError
	var weak *account.PasswordError
	var input *account.InputError
	switch {
	case errors.As(err, &input):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_input", Message: input.Field + ": " + input.Reason + ".", Err: err}
	case errors.As(err, &throttle):
		secs := int(throttle.RetryAfter.Round(time.Second) / time.Second)
		return &Error{Status: http.StatusTooManyRequests, Code: "throttled",
			Message: "Too many failed attempts. Wait " + strconv.Itoa(max(secs, 1)) + " seconds and try again.",
			Err:     err, RetryAfter: max(secs, 1)}
	case errors.As(err, &weak):
		return &Error{Status: http.StatusBadRequest, Code: "weak_password", Message: weak.Reason, Err: err}
	case errors.Is(err, account.ErrInvalidCredentials):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_credentials",
			Message: "The email, password or code is not correct.", Err: err}
	case errors.Is(err, account.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "Log in to continue.", Err: err}
	case errors.Is(err, account.ErrStage):
		return &Error{Status: http.StatusForbidden, Code: "second_factor_required",
			Message: "Complete the second step of the login first.", Err: err}
	case errors.Is(err, account.ErrReauthRequired):
		return &Error{Status: http.StatusForbidden, Code: "reauthentication_required",
			Message: "Your current password is needed for this change.", Err: err}
	case errors.Is(err, account.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "You may not do this.", Err: err}
	case errors.Is(err, account.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such resource.", Err: err}
	case errors.Is(err, account.ErrLinkInvalid):
		return &Error{Status: http.StatusGone, Code: "link_invalid",
			Message: "This link has expired or was already used. Sign in from a browser you have used before, or ask an administrator.", Err: err}
	case errors.Is(err, account.ErrInvitationInvalid):
		return &Error{Status: http.StatusGone, Code: "invitation_invalid",
			Message: "This invitation link has expired or was already used. Ask an administrator for a new one.", Err: err}
	case errors.Is(err, account.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "This conflicts with the current state.", Err: err}
	case errors.Is(err, account.ErrResetMailNotQueued):
		return &Error{Status: http.StatusServiceUnavailable, Code: "reset_mail_not_queued",
			Message: "The reset is done, but the mail with the member's re-enrolment link could not be queued. " +
				"Send the link again (POST /api/admin/users/{id}/reset-mfa/resend) once mail works.", Err: err}
	case errors.Is(err, account.ErrSuspended):
		// Answered to a right password, before any second factor too:
		// it names nobody. Whom to contact is in the notice mailed to the
		// member's own address when the membership was suspended.
		return &Error{Status: http.StatusForbidden, Code: "membership_suspended",
			Message: "Your membership is suspended because its yearly attestation lapsed. Your uploads are kept. " +
				"The notice mailed to you when it was suspended says whom to contact to be restored.",
			Err: err}
	case errors.Is(err, account.ErrWeakPassword):
		return &Error{Status: http.StatusBadRequest, Code: "weak_password", Message: "Choose a longer, less common password.", Err: err}
	}
	return err
}

func client(c *echo.Context) account.Client {
	return account.Client{IP: c.RealIP(), UserAgent: c.Request().UserAgent(), Device: deviceValue(c)}
}

// userView is a user as the API shows it; it leaves out what only the
// server needs.
type userView struct {
	ID          string       `json:"id"`
	Email       string       `json:"email"`
	DisplayName string       `json:"displayName"`
	Role        account.Role `json:"role"`
	Groups      []string     `json:"groups"`
	Disabled    bool         `json:"disabled"`
	MFAEnrolled bool         `json:"mfaEnrolled"`
	Locked      bool         `json:"locked"`
	CreatedAt   time.Time    `json:"createdAt"`
}

func viewUser(u account.User) userView {
	return userView{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: u.Role, Groups: u.Groups,
		Disabled: u.Disabled, MFAEnrolled: u.MFAEnrolled, Locked: u.Locked, CreatedAt: u.CreatedAt}
}

// POST /api/session {email, password}: the password step.
func (s *Server) beginLogin(c *echo.Context) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	token, err := s.accounts.BeginLogin(c.Request().Context(), in.Email, in.Password, client(c))
	if err != nil {
		return accountError(err)
	}
	setSessionCookie(c, token)
	return c.JSON(http.StatusOK, map[string]string{"next": "mfa"})
}

// POST /api/session/mfa {code}: the second factor; a TOTP or recovery code.
func (s *Server) completeLogin(c *echo.Context) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	token, err := s.accounts.CompleteLogin(c.Request().Context(), sessionToken(c), in.Code, client(c))
	if err != nil {
		return accountError(err)
	}
	u, _, err := s.accounts.Authenticate(c.Request().Context(), token)
	if err != nil {
		return accountError(err)
	}
	setSessionCookie(c, token)
	s.trustDevice(c, token)
	return c.JSON(http.StatusOK, viewUser(*u))
}

// trustDevice gives the browser of a complete login its device cookie. The
// login stands without it: the browser then stays an untrusted one.
func (s *Server) trustDevice(c *echo.Context, sessionToken string) {
	device, err := s.accounts.TrustDevice(c.Request().Context(), sessionToken, client(c))
	if err != nil {
		s.log.Error("trust device", "error", err)
		return
	}
	setDeviceCookie(c, device)
}

// DELETE /api/session: logout, here and in the browser's storage.
func (s *Server) logout(c *echo.Context) error {
	if err := s.accounts.Logout(c.Request().Context(), sessionToken(c), client(c)); err != nil && !errors.Is(err, account.ErrUnauthenticated) {
		return accountError(err)
	}
	clearSessionCookie(c)
	// Not "cookies": that would also drop the device cookie, and with it
	// the member's shelter from an outsider's failed logins. The session
	// cookie is cleared above; the CSRF cookie is worth nothing alone.
	c.Response().Header().Set("Clear-Site-Data", `"storage"`)
	return c.NoContent(http.StatusNoContent)
}

// GET /api/me
func (s *Server) me(c *echo.Context) error {
	return s.meWithAttestation(c)
}

// POST /api/invitations/lookup {token}: what an invitation is for, so the
// acceptance page can show it. The token travels in bodies, never in URLs,
// so it stays out of logs and Referer headers.
func (s *Server) invitationInfo(c *echo.Context) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	inv, err := s.accounts.InvitationInfo(c.Request().Context(), in.Token)
	if err != nil {
		return accountError(err)
	}
	// reset tells the page that this link re-enrols an existing member, who
	// may keep their display name.
	return c.JSON(http.StatusOK, map[string]any{"email": inv.Email, "role": inv.Role, "groups": inv.Groups,
		"expiresAt": inv.ExpiresAt, "reset": inv.Reset})
}

// POST /api/invitations/accept {token, displayName, password}: sets the
// password and starts TOTP enrolment.
func (s *Server) acceptInvitation(c *echo.Context) error {
	var in struct {
		Token       string `json:"token"`
		DisplayName string `json:"displayName"`
		Password    string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	token, enrol, err := s.accounts.AcceptInvitation(c.Request().Context(), in.Token, in.DisplayName, in.Password, client(c))
	if err != nil {
		return accountError(err)
	}
	setSessionCookie(c, token)
	return c.JSON(http.StatusOK, map[string]string{"secret": enrol.Secret, "otpauthUrl": enrol.URL, "qrSvg": enrol.QRSVG})
}

// POST /api/mfa/totp/confirm {code}: finishes enrolment; answers the
// recovery codes, shown once.
func (s *Server) confirmEnrolment(c *echo.Context) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	token, codes, err := s.accounts.ConfirmEnrolment(c.Request().Context(), sessionToken(c), in.Code, client(c))
	if err != nil {
		return accountError(err)
	}
	setSessionCookie(c, token)
	s.trustDevice(c, token)
	return c.JSON(http.StatusOK, map[string][]string{"recoveryCodes": codes})
}

type sessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	Current    bool      `json:"current"`
}

func viewSession(x account.Session) sessionView {
	return sessionView{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, ExpiresAt: x.ExpiresAt,
		IP: x.IP, UserAgent: x.UserAgent, Current: x.Current}
}

// GET /api/me/sessions
func (s *Server) mySessions(c *echo.Context) error {
	list, err := s.accounts.ListSessions(c.Request().Context(), currentUser(c), currentSession(c))
	if err != nil {
		return accountError(err)
	}
	out := make([]sessionView, 0, len(list))
	for _, x := range list {
		out = append(out, viewSession(x))
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": out})
}

// DELETE /api/me/sessions/:id
func (s *Server) revokeMySession(c *echo.Context) error {
	if err := s.accounts.RevokeSession(c.Request().Context(), currentUser(c), c.Param("id"), client(c)); err != nil {
		return accountError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /api/me/password {currentPassword, newPassword}
func (s *Server) changePassword(c *echo.Context) error {
	var in struct {
		Current string `json:"currentPassword"`
		New     string `json:"newPassword"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.accounts.ChangePassword(c.Request().Context(), currentUser(c), in.Current, in.New, currentSession(c), client(c)); err != nil {
		return accountError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /api/me/recovery-codes {password}
func (s *Server) regenerateRecoveryCodes(c *echo.Context) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	codes, err := s.accounts.RegenerateRecoveryCodes(c.Request().Context(), currentUser(c), in.Password, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, map[string][]string{"recoveryCodes": codes})
}
