package api

import (
	"net/http"
)

// errAuditUnavailable is the answer to a request whose audit entry cannot
// be written: what is not on record is not served (a document view or
// download, a member's search), so the portal fails closed with 503.
func errAuditUnavailable(cause error) *Error {
	return &Error{
		Status:     http.StatusServiceUnavailable,
		Code:       "audit_unavailable",
		Message:    "The audit log cannot be written just now, so this cannot be served. Please try again in a moment.",
		Err:        cause,
		RetryAfter: 5,
	}
}
