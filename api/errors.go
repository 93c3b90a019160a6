package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"
)

// Error is the one error shape of the API. Code and Message are safe to show
// to a client; Err is the internal cause, which is logged and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
	// RetryAfter, in seconds, is sent as the Retry-After header when set.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode lets echo and its middleware read the status.
func (e *Error) StatusCode() int { return e.Status }

// errorBody is the wire form: {"error": {"code": ..., "message": ...}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func badRequest(code, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message}
}

// fromStatus gives a client-safe error for errors that carry only a status,
// such as echo's own ErrNotFound or ErrMethodNotAllowed.
func fromStatus(status int, cause error) *Error {
	e := &Error{Status: status, Err: cause}
	switch status {
	case http.StatusNotFound:
		e.Code, e.Message = "not_found", "No such resource."
	case http.StatusMethodNotAllowed:
		e.Code, e.Message = "method_not_allowed", "This method is not allowed here."
	case http.StatusRequestEntityTooLarge:
		e.Code, e.Message = "too_large", "The request body is too large."
	case http.StatusUnsupportedMediaType:
		e.Code, e.Message = "unsupported_media_type", "This content type is not accepted."
	case http.StatusTooManyRequests:
		e.Code, e.Message = "rate_limited", "Too many requests; try again shortly."
	case http.StatusServiceUnavailable:
		e.Code, e.Message = "unavailable", "The service is temporarily unavailable."
	default:
		if status >= 400 && status < 500 {
			e.Code, e.Message = "bad_request", "The request could not be processed."
		} else {
			e.Status, e.Code, e.Message = http.StatusInternalServerError, "internal", "Something went wrong on our side."
		}
	}
	return e
}

// errorHandler writes every error as the API's JSON error shape. Server-side
// failures are logged with their cause; client errors at debug level.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(c *echo.Context, err error) {
		if resp, _ := echo.UnwrapResponse(c.Response()); resp != nil && resp.Committed {
			return
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			status := echo.StatusCode(err)
			if status == 0 {
				status = http.StatusInternalServerError
			}
			apiErr = fromStatus(status, err)
		}
		req := c.Request()
		attrs := []any{"method", req.Method, "path", req.URL.Path, "status", apiErr.Status, "code", apiErr.Code, "ip", c.RealIP(), "error", err}
		switch {
		case apiErr.Status >= 500:
			log.Error("request failed", attrs...)
		case apiErr.Status == http.StatusNotFound:
			log.Debug("request failed", attrs...)
		default:
			log.Info("request refused", attrs...)
		}
		// An error is about this request only; no cache may keep it.
		c.Response().Header().Set("Cache-Control", "no-store")
		if apiErr.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(apiErr.RetryAfter))
		}
		var body errorBody
		body.Error.Code, body.Error.Message = apiErr.Code, apiErr.Message
		if req.Method == http.MethodHead {
			err = c.NoContent(apiErr.Status)
		} else {
			err = c.JSON(apiErr.Status, body)
		}
		if err != nil {
			log.Debug("write error response", "error", err)
		}
	}
}
