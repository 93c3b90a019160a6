package alerts_test

import (
	"os"
	"testing"

	"portal/portaltest"
)

// TestMain removes the test builds of the site and stops the servers the
// portals of these tests share (PostgreSQL when PORTAL_TEST_STORE=postgres).
func TestMain(m *testing.M) {
	code := m.Run()
	portaltest.RemoveSite()
	os.Exit(code)
}
