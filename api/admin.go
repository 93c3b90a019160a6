package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/audit"
	"portal/mail"
)

// POST /api/invitations {email, role, groups}
func (s *Server) invite(c *echo.Context) error {
	var in struct {
		Email  string       `json:"email"`
		Role   account.Role `json:"role"`
		Groups []string     `json:"groups"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Role == account.RoleAdmin {
		if err := s.checkStepUp(c); err != nil {
			return err
		}
	}
	if err := s.groups.Grantable(c.Request().Context(), in.Groups, nil); err != nil {
		return accountError(err)
	}
	token, inv, err := s.accounts.Invite(c.Request().Context(), currentUser(c), in.Email, in.Role, in.Groups, client(c))
	if err != nil {
		return accountError(err)
	}
	link := s.invitationLink(c, token)
	sent := false
	if s.outbox != nil {
		if err := s.outbox.Enqueue(c.Request().Context(), mail.Invitation(inv.Email, link, inv.ExpiresAt)); err != nil {
			s.log.Error("queue invitation mail", "error", err)
		} else {
			sent = s.outbox.Relayed()
		}
	}
	body := map[string]any{"email": inv.Email, "role": inv.Role, "groups": inv.Groups, "expiresAt": inv.ExpiresAt, "emailed": sent}
	if !sent {
		// Without mail the admin passes the link on; with mail it stays
		// out of the admin's screen and browser history.
		body["link"] = link
	}
	return c.JSON(http.StatusCreated, body)
}

// invitationLink carries the token in the fragment, which browsers never
// send to a server, so it appears in no access log.
func (s *Server) invitationLink(c *echo.Context, token string) string {
	base := s.publicURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/en/account/accept/#token=" + token
}

// GET /api/admin/users
func (s *Server) listUsers(c *echo.Context) error {
	users, err := s.accounts.ListUsers(c.Request().Context(), currentUser(c))
	if err != nil {
		return accountError(err)
	}
	out := make([]userView, 0, len(users))
	for _, u := range users {
		out = append(out, viewUser(u))
	}
	return c.JSON(http.StatusOK, map[string]any{"users": out})
}

// GET /api/admin/users/:id
func (s *Server) getUser(c *echo.Context) error {
	u, err := s.accounts.GetUser(c.Request().Context(), currentUser(c), c.Param("id"))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewUser(u))
}

// PATCH /api/admin/users/:id {role?, groups?}
func (s *Server) updateUser(c *echo.Context) error {
	var in struct {
		Role   *account.Role `json:"role"`
		Groups *[]string     `json:"groups"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Groups != nil {
		// Groups the member holds stay grantable after they are archived.
		cur, err := s.accounts.GetUser(c.Request().Context(), currentUser(c), c.Param("id"))
		if err != nil {
			return accountError(err)
		}
		if err := s.groups.Grantable(c.Request().Context(), *in.Groups, cur.Groups); err != nil {
			return accountError(err)
		}
	}
	u, err := s.accounts.UpdateUser(c.Request().Context(), currentUser(c), c.Param("id"), in.Role, in.Groups, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewUser(u))
}

// POST /api/admin/users/:id/disable and /enable
func (s *Server) setDisabled(disabled bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		u, err := s.accounts.SetDisabled(c.Request().Context(), currentUser(c), c.Param("id"), disabled, client(c))
		if err != nil {
			return accountError(err)
		}
		return c.JSON(http.StatusOK, viewUser(u))
	}
}

// POST /api/admin/users/:id/unlock
func (s *Server) unlockUser(c *echo.Context) error {
	u, err := s.accounts.UnlockUser(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewUser(u))
}

// DELETE /api/admin/users/:id/sessions
func (s *Server) revokeUserSessions(c *echo.Context) error {
	if err := s.accounts.RevokeAllSessions(c.Request().Context(), currentUser(c), c.Param("id"), client(c)); err != nil {
		return accountError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

const auditPageSize = 50

// GET /api/admin/audit?actor=&action=&since=&until=&page=
func (s *Server) listAudit(c *echo.Context) error {
	q := c.QueryParams()
	f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), Limit: auditPageSize}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return badRequest("invalid_parameter", "Parameter \""+name+"\" must be an RFC 3339 time.")
			}
			*dst = t
		}
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return badRequest("invalid_parameter", "Parameter \"page\" must be a positive whole number.")
		}
		page = n
	}
	f.Offset = (page - 1) * auditPageSize
	entries, total, err := s.audit.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]auditView, 0, len(entries))
	for _, e := range entries {
		out = append(out, auditView{ID: e.ID, Time: e.Time, Actor: e.Actor, ActorEmail: e.ActorEmail, Action: e.Action,
			Target: e.Target, IP: e.IP, Outcome: e.Outcome, Detail: e.Detail, Hash: e.Hash})
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": out, "total": total, "page": page,
		"totalPages": (total + auditPageSize - 1) / auditPageSize})
}

type auditView struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	ActorEmail string    `json:"actorEmail"`
	Action     string    `json:"action"`
	Target     string    `json:"target"`
	IP         string    `json:"ip"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail"`
	Hash       string    `json:"hash"`
}
