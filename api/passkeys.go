package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
)

// passkeyRoutes are the routes of passkeys: a member adds, lists and
// removes them; at login one stands in for the code; a signed-in member
// steps up with one. Each ceremony is two calls: the options for the
// browser's WebAuthn call, then the browser's answer. The options for an
// assertion check no secret (the session already has its stage), so only
// the answers, and the options that take the password, are throttled.
func (s *Server) passkeyRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/me/passkeys", policy: Member, handler: s.listPasskeys},
		{method: http.MethodPost, path: "/me/passkeys/options", policy: Member, handler: s.passkeyCreationOptions, throttled: true},
		{method: http.MethodPost, path: "/me/passkeys", policy: Member, handler: s.addPasskey, throttled: true},
		{method: http.MethodPatch, path: "/me/passkeys/:id", policy: Member, handler: s.renamePasskey},
		{method: http.MethodDelete, path: "/me/passkeys/:id", policy: Member, handler: s.removePasskey},
		{method: http.MethodPost, path: "/session/passkey/options", policy: PasswordStage, handler: s.passkeyLoginOptions},
		{method: http.MethodPost, path: "/session/passkey", policy: PasswordStage, handler: s.passkeyLogin, throttled: true},
		{method: http.MethodPost, path: "/session/step-up/passkey/options", policy: Member, handler: s.passkeyStepUpOptions},
		{method: http.MethodPost, path: "/session/step-up/passkey", policy: Member, handler: s.passkeyStepUp, throttled: true},
	}
}

// relyingParty is the site the member's browser binds passkeys to: the
// configured public origin, or in development the origin of the request.
func (s *Server) relyingParty(c *echo.Context) (account.RelyingParty, error) {
	origin := s.publicURL
	if origin == "" {
		origin = c.Scheme() + "://" + c.Request().Host
	}
	rp, err := account.RelyingPartyFor(origin)
	if err != nil {
		return rp, &Error{Status: http.StatusBadRequest, Code: "invalid_origin", Message: "This address cannot use passkeys.", Err: err}
	}
	return rp, nil
}

// passkeyError adds the passkey errors to accountError's.
func passkeyError(err error) error {
	switch {
	case errors.Is(err, account.ErrPasskey):
		return &Error{Status: http.StatusBadRequest, Code: "passkey_rejected",
			Message: "The passkey could not be verified. Try again.", Err: err}
	case errors.Is(err, account.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "no_passkey",
			Message: "No passkey is registered for this account.", Err: err}
	}
	return accountError(err)
}

type passkeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

func viewPasskey(p account.Passkey) passkeyView {
	v := passkeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		v.LastUsedAt = &p.LastUsedAt
	}
	return v
}

// GET /api/me/passkeys: my passkeys, oldest first.
func (s *Server) listPasskeys(c *echo.Context) error {
	ps, err := s.accounts.ListPasskeys(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]passkeyView, len(ps))
	for i, p := range ps {
		out[i] = viewPasskey(p)
	}
	return c.JSON(http.StatusOK, map[string]any{"passkeys": out})
}

// POST /api/me/passkeys/options {password}: the options for
// navigator.credentials.create; adding a factor needs the password.
func (s *Server) passkeyCreationOptions(c *echo.Context) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rp, err := s.relyingParty(c)
	if err != nil {
		return err
	}
	opts, err := s.accounts.BeginPasskeyRegistration(c.Request().Context(), sessionToken(c), rp, in.Password, client(c))
	if err != nil {
		return passkeyError(err)
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// POST /api/me/passkeys {name, credential}: the browser's new credential.
func (s *Server) addPasskey(c *echo.Context) error {
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rp, err := s.relyingParty(c)
	if err != nil {
		return err
	}
	p, err := s.accounts.FinishPasskeyRegistration(c.Request().Context(), sessionToken(c), rp, in.Name, in.Credential, client(c))
	if err != nil {
		return passkeyError(err)
	}
	return c.JSON(http.StatusCreated, viewPasskey(p))
}

// PATCH /api/me/passkeys/:id {name}
func (s *Server) renamePasskey(c *echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := s.accounts.RenamePasskey(c.Request().Context(), currentUser(c), c.Param("id"), in.Name, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewPasskey(p))
}

// DELETE /api/me/passkeys/:id
func (s *Server) removePasskey(c *echo.Context) error {
	if _, err := s.accounts.RemovePasskey(c.Request().Context(), currentUser(c), c.Param("id"), client(c)); err != nil {
		return accountError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /api/session/passkey/options: the options for
// navigator.credentials.get, after the password step.
func (s *Server) passkeyLoginOptions(c *echo.Context) error {
	rp, err := s.relyingParty(c)
	if err != nil {
		return err
	}
	opts, err := s.accounts.BeginPasskeyLogin(c.Request().Context(), sessionToken(c), rp)
	if err != nil {
		return passkeyError(err)
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// POST /api/session/passkey {credential}: the second factor as a passkey
// assertion; on success a full session replaces the half one.
func (s *Server) passkeyLogin(c *echo.Context) error {
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rp, err := s.relyingParty(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	token, err := s.accounts.CompletePasskeyLogin(ctx, sessionToken(c), rp, in.Credential, client(c))
	if err != nil {
		return accountError(err)
	}
	u, _, err := s.accounts.Authenticate(ctx, token)
	if err != nil {
		return accountError(err)
	}
	setSessionCookie(c, token)
	s.trustDevice(c, token)
	return c.JSON(http.StatusOK, viewUser(*u))
}

// POST /api/session/step-up/passkey/options
func (s *Server) passkeyStepUpOptions(c *echo.Context) error {
	rp, err := s.relyingParty(c)
	if err != nil {
		return err
	}
	opts, err := s.accounts.BeginPasskeyStepUp(c.Request().Context(), sessionToken(c), rp)
	if err != nil {
		return passkeyError(err)
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// POST /api/session/step-up/passkey {credential}: a fresh passkey
// assertion steps the session up, as a fresh code does on
// POST /api/session/step-up; answers until when.
func (s *Server) passkeyStepUp(c *echo.Context) error {
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rp, err := s.relyingParty(c)
	if err != nil {
		return err
	}
	until, err := s.accounts.PasskeyStepUp(c.Request().Context(), sessionToken(c), rp, in.Credential, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, map[string]time.Time{"steppedUpUntil": until})
}
