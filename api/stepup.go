package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
)

// The acts that change who someone is need two keys: an admin session and
// a second factor passed on it within account.StepUpWindow (SECURITY.md
// AC-11). The routes carry stepUp in the route table; a refusal is
// 401 step_up_required, which the members' pages answer with a prompt for
// a code (site/assets/js/members/stepup.js) before they retry.

// requireStepUp refuses a stepUp route to a session without a fresh second
// factor.
func (s *Server) requireStepUp(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if err := s.checkStepUp(c); err != nil {
			return err
		}
		return next(c)
	}
}

// checkStepUp is requireStepUp for a handler whose need depends on its
// input (inviting an admin). The refusal is audited like the other
// refusals of a signed-in user.
func (s *Server) checkStepUp(c *echo.Context) error {
	if s.accounts.SteppedUp(currentSession(c)) {
		return nil
	}
	if u := currentUser(c); u != nil {
		s.recordDeniedDetail(c, u, "needs a second factor within the last "+account.StepUpWindow.String())
	}
	return errStepUpRequired()
}

func errStepUpRequired() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "step_up_required",
		Message: "This action needs a fresh second factor: confirm with a code from your authenticator app (POST /api/session/step-up), then try again."}
}

// POST /api/session/step-up {code}: a fresh TOTP code; answers until when
// the session counts as stepped up.
func (s *Server) stepUp(c *echo.Context) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Code) == "" {
		return badRequest("invalid_input", "code: enter the 6-digit code from your authenticator app.")
	}
	until, err := s.accounts.StepUp(c.Request().Context(), currentUser(c), currentSession(c), in.Code, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, map[string]time.Time{"steppedUpUntil": until})
}

// POST /api/admin/users/:id/reset-mfa: resets a member's second factor and
// mails the re-enrolment link to the member, or, for an admin, asks a
// second admin to approve. The link is never in the answer.
func (s *Server) resetMFA(c *echo.Context) error {
	res, err := s.accounts.ResetMFA(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	return resetAnswer(c, res)
}

// POST /api/admin/users/:id/reset-mfa/resend: a new re-enrolment link for a
// done reset whose mail could not be queued, mailed to the member.
func (s *Server) resendResetLink(c *echo.Context) error {
	res, err := s.accounts.ResendResetLink(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	return resetAnswer(c, res)
}

// POST /api/admin/reset-requests/:id/approve: the second admin's approval.
func (s *Server) approveReset(c *echo.Context) error {
	res, err := s.accounts.ApproveReset(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	return resetAnswer(c, res)
}

func resetAnswer(c *echo.Context, res account.ResetResult) error {
	if res.Pending != nil {
		return c.JSON(http.StatusAccepted, map[string]any{"status": "pending", "request": viewResetRequest(account.PendingReset{ResetRequest: *res.Pending})})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "done", "expiresAt": res.ExpiresAt})
}

type resetRequestView struct {
	ID               string    `json:"id"`
	UserID           string    `json:"userId"`
	Email            string    `json:"email,omitempty"`
	RequestedBy      string    `json:"requestedBy"`
	RequestedByEmail string    `json:"requestedByEmail,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	ExpiresAt        time.Time `json:"expiresAt"`
}

func viewResetRequest(r account.PendingReset) resetRequestView {
	return resetRequestView{ID: r.ID, UserID: r.UserID, Email: r.Email, RequestedBy: r.RequestedBy,
		RequestedByEmail: r.RequestedByWho, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// GET /api/admin/reset-requests: the resets of admins that wait for a
// second admin.
func (s *Server) listResetRequests(c *echo.Context) error {
	list, err := s.accounts.ListResetRequests(c.Request().Context(), currentUser(c))
	if err != nil {
		return accountError(err)
	}
	out := make([]resetRequestView, 0, len(list))
	for _, r := range list {
		out = append(out, viewResetRequest(r))
	}
	return c.JSON(http.StatusOK, map[string]any{"requests": out})
}

// GET /api/admin/users/:id/sessions: another member's sessions.
func (s *Server) listUserSessions(c *echo.Context) error {
	list, err := s.accounts.ListUserSessions(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	out := make([]sessionView, 0, len(list))
	for _, x := range list {
		out = append(out, viewSession(x))
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": out})
}
