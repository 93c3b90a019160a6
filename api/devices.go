package api

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// POST /api/devices/unlock {token}: opens an unlock link mailed to a member
// whose account is locked for untrusted browsers (account/device.go). The
// browser that opens it gets a device cookie and may then sign in; the
// lock stays on for every other untrusted browser.
func (s *Server) unlockDevice(c *echo.Context) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	device, err := s.accounts.RedeemUnlockLink(c.Request().Context(), in.Token, client(c))
	if err != nil {
		return accountError(err)
	}
	setDeviceCookie(c, device)
	return c.JSON(http.StatusOK, map[string]string{"next": "login"})
}
