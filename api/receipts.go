package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v5"

	"portal/training"
)

// Receipts for public learners (training/receipt.go): issued for a passed
// graded attempt, checked by GET /api/training/verify like completions.

func (s *Server) receiptRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/training/receipts", policy: Public, handler: s.issueReceipt},
		{method: http.MethodGet, path: "/training/receipts/key", policy: Public, handler: s.receiptKey},
		{method: http.MethodPost, path: "/training/receipts/revoke", policy: Trainer, handler: s.revokeReceipt},
	}
}

type receiptView struct {
	Code      string `json:"code"`
	Module    string `json:"module"`
	Title     string `json:"moduleTitle"`
	Version   string `json:"moduleVersion"`
	Lang      string `json:"lang"`
	IssuedAt  string `json:"issuedAt"`            // date
	ScoreBand string `json:"scoreBand"`           // "80-89"
	Name      string `json:"learnerName"`         // as typed
	ExpiresAt string `json:"expiresAt,omitempty"` // date; absent: no end
	// VerifyURL is the verification page with the code filled in.
	VerifyURL string `json:"verifyUrl"`
}

func viewReceipt(r *training.Receipt) receiptView {
	v := receiptView{Code: r.Code, Module: r.Module, Title: r.Title, Version: r.Version, Lang: r.Lang,
		IssuedAt: r.IssuedAt.Format(dateFormat), ScoreBand: r.ScoreBand, Name: r.Name,
		VerifyURL: verifyPath(r.Lang, r.Code)}
	if !r.ExpiresAt.IsZero() {
		v.ExpiresAt = r.ExpiresAt.Format(dateFormat)
	}
	return v
}

// verifyPath is the verification page in lang with code filled in.
func verifyPath(lang, code string) string {
	return "/" + lang + "/training/verify/?" + url.Values{"code": {code}}.Encode()
}

// certificatePath is the printable certificate in lang for code.
func certificatePath(lang, code string) string {
	return "/" + lang + "/training/certificate/?" + url.Values{"code": {code}}.Encode()
}

// POST /api/training/receipts {"attempt", "name"}: the receipt of a public
// learner's passed attempt, with the name they typed.
func (s *Server) issueReceipt(c *echo.Context) error {
	var in struct {
		Attempt string `json:"attempt"`
		Name    string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := s.training.IssueReceipt(c.Request().Context(), in.Attempt, in.Name)
	if err != nil {
		if errors.Is(err, training.ErrAttemptClosed) {
			return &Error{Status: http.StatusConflict, Code: "receipt_closed",
				Message: "This attempt already has its receipt, or the time to ask for one has passed.", Err: err}
		}
		return attemptError(err)
	}
	return c.JSON(http.StatusCreated, viewReceipt(r))
}

// GET /api/training/receipts/key: the public key receipts are signed with.
func (s *Server) receiptKey(c *echo.Context) error {
	pub := s.training.ReceiptPublicKey()
	if pub == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "receipts_unavailable", Message: "This portal issues no receipts."}
	}
	return c.JSON(http.StatusOK, map[string]string{"algorithm": "Ed25519",
		"publicKey": base64.StdEncoding.EncodeToString(pub)})
}

// POST /api/training/receipts/revoke {"code"}: trainers and admins.
func (s *Server) revokeReceipt(c *echo.Context) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.training.RevokeReceipt(c.Request().Context(), currentUser(c), in.Code, client(c)); err != nil {
		if errors.Is(err, training.ErrNotFound) {
			return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "This is not a receipt code the portal issued.", Err: err}
		}
		return progressError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// verifyReceipt answers GET /api/training/verify for a receipt code.
func (s *Server) verifyReceipt(c *echo.Context, code string) error {
	v, err := s.training.VerifyReceipt(c.Request().Context(), code)
	if err != nil {
		if errors.Is(err, training.ErrNotFound) {
			return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No receipt or completion has this code.", Err: err}
		}
		return err
	}
	out := map[string]any{
		"kind": "receipt", "moduleTitle": v.Title, "module": v.Module, "moduleVersion": v.Version,
		"currentVersion": v.Current, "lang": v.Lang, "issuedAt": v.IssuedAt.Format(dateFormat),
		"learnerName": v.Name, "scoreBand": v.ScoreBand, "expired": v.Expired, "revoked": v.Revoked,
	}
	if !v.ExpiresAt.IsZero() {
		out["expiresAt"] = v.ExpiresAt.Format(dateFormat)
	}
	return c.JSON(http.StatusOK, out)
}
