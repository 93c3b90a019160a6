package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
)

type invitationView struct {
	ID             string       `json:"id"`
	Email          string       `json:"email"`
	Role           account.Role `json:"role"`
	Groups         []string     `json:"groups"`
	Reset          bool         `json:"reset"`
	CreatedBy      string       `json:"createdBy"`
	CreatedByEmail string       `json:"createdByEmail"`
	CreatedAt      time.Time    `json:"createdAt"`
	ExpiresAt      time.Time    `json:"expiresAt"`
	CreatorActive  bool         `json:"creatorActive"`
}

// GET /api/invitations: the invitations and re-enrolment links that can
// still be accepted.
func (s *Server) listInvitations(c *echo.Context) error {
	list, err := s.accounts.ListInvitations(c.Request().Context(), currentUser(c))
	if err != nil {
		return accountError(err)
	}
	out := make([]invitationView, 0, len(list))
	for _, x := range list {
		out = append(out, invitationView{ID: x.ID, Email: x.Email, Role: x.Role, Groups: x.Groups, Reset: x.Reset,
			CreatedBy: x.CreatedBy, CreatedByEmail: x.CreatedByEmail, CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt,
			CreatorActive: x.CreatorActive})
	}
	return c.JSON(http.StatusOK, map[string]any{"invitations": out})
}

// DELETE /api/invitations/:id: the link stops working at once.
func (s *Server) revokeInvitation(c *echo.Context) error {
	if err := s.accounts.RevokeInvitation(c.Request().Context(), currentUser(c), c.Param("id"), client(c)); err != nil {
		return accountError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
