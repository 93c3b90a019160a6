package api

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"portal/account"
	"portal/groups"
	"portal/language"
)

// groupRoutes are the access groups' routes: everyone signed in reads the
// list (forms and filters show names, not IDs), admins create and change
// groups, and a group's leads add and remove its members. Membership
// changes who someone is, so those routes need step-up like the admin's.
func (s *Server) groupRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/groups", policy: Member, handler: s.listGroups},
		{method: http.MethodPost, path: "/admin/groups", policy: Admin, handler: s.createGroup, stepUp: true},
		{method: http.MethodPatch, path: "/admin/groups/:id", policy: Admin, handler: s.updateGroup, stepUp: true},
		{method: http.MethodPost, path: "/groups/:id/members", policy: Member, handler: s.addGroupMember, stepUp: true},
		{method: http.MethodDelete, path: "/groups/:id/members/:member", policy: Member, handler: s.removeGroupMember, stepUp: true},
	}
}

// groupView is a group as the API shows it: its name and description in
// the reader's language, and all of them for the forms that edit them.
type groupView struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Names        map[string]string `json:"names"`
	Descriptions map[string]string `json:"descriptions"`
	Archived     bool              `json:"archived"`
	// Lead says whether the reader leads the group.
	Lead bool `json:"lead"`
	// Leads are shown to admins, who set them.
	Leads []string `json:"leads,omitempty"`
}

func viewGroup(u *account.User, g groups.Group, lang string) groupView {
	v := groupView{ID: g.ID, Name: g.Name(lang), Description: g.Description(lang), Names: g.Names,
		Descriptions: g.Descriptions, Archived: g.Archived, Lead: g.IsLead(u.ID)}
	if u.Role == account.RoleAdmin {
		v.Leads = g.Leads
		if v.Leads == nil {
			v.Leads = []string{}
		}
	}
	return v
}

// readerLang is the lang query parameter: one of the portal's languages,
// English when absent.
func readerLang(c *echo.Context) (string, error) {
	lang := c.QueryParam("lang")
	if lang == "" {
		return language.All()[0], nil
	}
	if !language.Valid(lang) {
		return "", badRequest("invalid_parameter", `Parameter "lang" must be one of en, fr, es, ar.`)
	}
	return lang, nil
}

// GET /api/groups?lang=: every group, archived ones marked.
func (s *Server) listGroups(c *echo.Context) error {
	lang, err := readerLang(c)
	if err != nil {
		return err
	}
	gs, err := s.groups.List(c.Request().Context())
	if err != nil {
		return err
	}
	u := currentUser(c)
	out := make([]groupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, viewGroup(u, g, lang))
	}
	return c.JSON(http.StatusOK, map[string]any{"groups": out})
}

type groupInput struct {
	ID           string            `json:"id"`
	Names        map[string]string `json:"names"`
	Descriptions map[string]string `json:"descriptions"`
	Leads        *[]string         `json:"leads"`
	Archived     *bool             `json:"archived"`
}

func (in groupInput) domain() groups.Input {
	return groups.Input{ID: in.ID, Names: in.Names, Descriptions: in.Descriptions, Leads: in.Leads, Archived: in.Archived}
}

// POST /api/admin/groups {id, names, descriptions, leads}
func (s *Server) createGroup(c *echo.Context) error {
	var in groupInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	g, err := s.groups.Create(c.Request().Context(), currentUser(c), in.domain(), client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusCreated, viewGroup(currentUser(c), g, language.All()[0]))
}

// PATCH /api/admin/groups/:id {names?, descriptions?, leads?, archived?}
func (s *Server) updateGroup(c *echo.Context) error {
	var in groupInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.ID != "" && in.ID != c.Param("id") {
		return badRequest("invalid_input", "id: a group's id does not change.")
	}
	g, err := s.groups.Update(c.Request().Context(), currentUser(c), c.Param("id"), in.domain(), client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewGroup(currentUser(c), g, language.All()[0]))
}

// POST /api/groups/:id/members {member}: member is an e-mail address or an
// ID. Answers the member's ID, display name and whether they are in the
// group, nothing else: a lead administers one group, not the account.
func (s *Server) addGroupMember(c *echo.Context) error {
	var in struct {
		Member string `json:"member"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	return s.setGroupMember(c, in.Member, true)
}

// DELETE /api/groups/:id/members/:member
func (s *Server) removeGroupMember(c *echo.Context) error {
	return s.setGroupMember(c, c.Param("member"), false)
}

func (s *Server) setGroupMember(c *echo.Context, who string, in bool) error {
	if who == "" {
		return badRequest("invalid_input", "member: give a member's e-mail address or ID.")
	}
	u, err := s.accounts.SetGroupMember(c.Request().Context(), currentUser(c), who, c.Param("id"), in, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"id": u.ID, "displayName": u.DisplayName, "inGroup": in})
}
