package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"portal/attest"
)

// attestRoutes are the yearly re-attestation's routes. Who may confirm or
// extend whose attestation is the attest package's rule (the member's
// sponsor, a lead of one of their groups, an admin); both lift a
// suspension, so they need step-up like the admin acts that change who
// someone is.
func (s *Server) attestRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/me/attestation", policy: Member, handler: s.myAttestation},
		{method: http.MethodPost, path: "/me/attestation", policy: Member, handler: s.submitAttestation},
		{method: http.MethodGet, path: "/attestations", policy: Member, handler: s.listAttestations},
		{method: http.MethodPost, path: "/attestations/:id/confirm", policy: Member, handler: s.confirmAttestation, stepUp: true},
		{method: http.MethodPost, path: "/attestations/:id/extend", policy: Member, handler: s.extendAttestation, stepUp: true},
	}
}

type claimView struct {
	Serving      bool   `json:"serving"`
	Organisation string `json:"organisation"`
	Role         string `json:"role"`
	Country      string `json:"country"`
}

type attestationView struct {
	UserID        string     `json:"userId"`
	DisplayName   string     `json:"displayName"`
	Status        string     `json:"status"`
	DueAt         time.Time  `json:"dueAt"`
	SponsorID     string     `json:"sponsorId"` // "" when unknown
	Sponsor       string     `json:"sponsor"`
	Claim         *claimView `json:"claim"`
	ClaimedAt     *time.Time `json:"claimedAt"`
	Extended      bool       `json:"extended"`
	ExtensionNote string     `json:"extensionReason"`
	SuspendedAt   *time.Time `json:"suspendedAt"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewAttestation(v attest.View) attestationView {
	out := attestationView{UserID: v.UserID, DisplayName: v.DisplayName, Status: string(v.Status), DueAt: v.DueAt,
		SponsorID: v.SponsorID, Sponsor: v.Sponsor, ClaimedAt: optTime(v.ClaimedAt), Extended: v.Extended,
		ExtensionNote: v.ExtensionNote, SuspendedAt: optTime(v.SuspendedAt)}
	if v.Claim != nil {
		out.Claim = &claimView{Serving: v.Claim.Serving, Organisation: v.Claim.Organisation, Role: v.Claim.Role, Country: v.Claim.Country}
	}
	return out
}

// GET /api/me: the member, with their attestation's due date and status.
func (s *Server) meWithAttestation(c *echo.Context) error {
	u := currentUser(c)
	v, err := s.attest.Mine(c.Request().Context(), u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		userView
		Attestation struct {
			DueAt  time.Time `json:"dueAt"`
			Status string    `json:"status"`
		} `json:"attestation"`
	}{userView: viewUser(*u), Attestation: struct {
		DueAt  time.Time `json:"dueAt"`
		Status string    `json:"status"`
	}{v.DueAt, string(v.Status)}})
}

// GET /api/me/attestation
func (s *Server) myAttestation(c *echo.Context) error {
	v, err := s.attest.Mine(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewAttestation(v))
}

// POST /api/me/attestation {serving, organisation, role, country}
func (s *Server) submitAttestation(c *echo.Context) error {
	var in claimView
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.attest.Attest(c.Request().Context(), currentUser(c),
		attest.Claim{Serving: in.Serving, Organisation: in.Organisation, Role: in.Role, Country: in.Country}, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewAttestation(v))
}

// GET /api/attestations: the attestations the caller oversees (all for an
// admin; the members of the groups a lead leads and those a sponsor
// sponsors; none for others), by due date.
func (s *Server) listAttestations(c *echo.Context) error {
	vs, err := s.attest.List(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	out := make([]attestationView, 0, len(vs))
	for _, v := range vs {
		out = append(out, viewAttestation(v))
	}
	return c.JSON(http.StatusOK, map[string]any{"attestations": out})
}

// POST /api/attestations/:id/confirm
func (s *Server) confirmAttestation(c *echo.Context) error {
	v, err := s.attest.Confirm(c.Request().Context(), currentUser(c), c.Param("id"), client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewAttestation(v))
}

// POST /api/attestations/:id/extend {reason}
func (s *Server) extendAttestation(c *echo.Context) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.attest.Extend(c.Request().Context(), currentUser(c), c.Param("id"), in.Reason, client(c))
	if err != nil {
		return accountError(err)
	}
	return c.JSON(http.StatusOK, viewAttestation(v))
}
