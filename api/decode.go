package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v5"
)

// decodeJSON reads a request body into v: JSON only (so an HTML form on
// another site cannot post here), unknown fields refused (so no field can be
// mass-assigned), one document, within the body limit.
func decodeJSON(c *echo.Context, v any) error {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Send the request body as application/json."}
	}
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || echo.StatusCode(err) == http.StatusRequestEntityTooLarge {
			return fromStatus(http.StatusRequestEntityTooLarge, err)
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: "The request body is not valid JSON for this request.", Err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: "The request body must hold exactly one JSON object."}
	}
	return nil
}
