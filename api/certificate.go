package api

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v5"
	"rsc.io/qr"

	"portal/language"
	"portal/training"
)

// The printable certificate of a completion or a receipt: the portal checks
// the code and renders the result into the certificate page Hugo built
// (site/layouts/training-certificate.html), with a QR code of the
// verification link drawn here as SVG.

const (
	certMarkerOpen  = "<!--portal:certificate-->"
	certMarkerClose = "<!--/portal:certificate-->"
	certTemplateTag = `<template id="portal-certificate-template">`
)

type certificateView struct {
	Error                string
	Name, Title, Version string
	Date, Expires        string
	Status               string // "valid", "expired", "revoked"
	Current              bool
	VerifyURL            string
	QR                   template.HTML
}

// certificatePageLang reports whether name is a language's certificate page.
func certificatePageLang(name string) (string, bool) {
	parts := strings.Split(strings.Trim(name, "/"), "/")
	if len(parts) == 3 && parts[1] == "training" && parts[2] == "certificate" && language.Valid(parts[0]) {
		return parts[0], true
	}
	return "", false
}

// GET /<lang>/training/certificate/?code=: the certificate; without a
// code, the page as Hugo built it.
func (s *Server) certificate(c *echo.Context) error {
	req := c.Request()
	name := path.Clean("/" + req.URL.Path)
	code := strings.TrimSpace(c.QueryParam("code"))
	lang, ok := certificatePageLang(name)
	if !ok || code == "" {
		return s.site.serve(c)
	}
	page, err := s.site.root.ReadFile(path.Join(lang, "training", "certificate", "index.html"))
	if err != nil {
		return s.site.notFound(c, name)
	}
	before, tmpl, after, err := splitShell(page, certMarkerOpen, certMarkerClose, certTemplateTag)
	if err != nil {
		return fmt.Errorf("certificate page: %w", err)
	}
	view, err := s.certificateView(c, lang, code)
	status := http.StatusOK
	switch {
	case errors.Is(err, training.ErrNotFound):
		view, status = certificateView{Error: "not_found"}, http.StatusNotFound
	case err != nil:
		return err
	}
	var buf bytes.Buffer
	buf.Write(before)
	if err := tmpl.Execute(&buf, view); err != nil {
		return fmt.Errorf("render certificate: %w", err)
	}
	buf.Write(after)
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// The certificate names a person: not for search engines.
	h.Set("X-Robots-Tag", "noindex")
	return c.HTMLBlob(status, buf.Bytes())
}

func (s *Server) certificateView(c *echo.Context, lang, code string) (certificateView, error) {
	ctx := c.Request().Context()
	var v certificateView
	if training.IsReceiptCode(code) {
		r, err := s.training.VerifyReceipt(ctx, code)
		if err != nil {
			return v, err
		}
		v = certificateView{Name: r.Name, Title: r.Title, Version: r.Version, Date: r.IssuedAt.Format(dateFormat),
			Current: r.Current, Status: "valid"}
		if !r.ExpiresAt.IsZero() {
			v.Expires = r.ExpiresAt.Format(dateFormat)
		}
		switch {
		case r.Revoked:
			v.Status = "revoked"
		case r.Expired:
			v.Status = "expired"
		}
	} else {
		r, err := s.training.Verify(ctx, code)
		if err != nil {
			return v, err
		}
		v = certificateView{Name: r.LearnerName, Title: r.ModuleTitle, Date: r.IssuedAt.UTC().Format(dateFormat),
			Current: true, Status: "valid"}
		if !r.ExpiresAt.IsZero() {
			v.Expires = r.ExpiresAt.UTC().Format(dateFormat)
		}
		if r.Expired {
			v.Status = "expired"
		}
		if canon, ok := training.NormalizeCode(code); ok {
			code = canon
		}
	}
	v.VerifyURL = s.origin(c) + verifyPath(lang, code)
	svg, err := qrSVG(v.VerifyURL)
	if err != nil {
		return v, err
	}
	v.QR = svg
	return v, nil
}

// origin is the portal's public origin, for links printed on paper.
func (s *Server) origin(c *echo.Context) string {
	if s.publicURL != "" {
		return strings.TrimSuffix(s.publicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// qrSVG draws text as a QR code (error correction M) in SVG: one path of
// unit squares on a white field with the four-module quiet zone.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	n := code.Size + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-hidden="true" focusable="false">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	// Safe: only numbers and fixed markup above.
	return template.HTML(b.String()), nil
}

// splitShell splits a page the portal fills in around its markers and
// parses its template (delimiters [[ ]]).
func splitShell(page []byte, open, close, tag string) (before []byte, tmpl *template.Template, after []byte, err error) {
	o := bytes.Index(page, []byte(open))
	e := bytes.Index(page, []byte(close))
	t := bytes.Index(page, []byte(tag))
	if o < 0 || e < o || t < 0 {
		return nil, nil, nil, errors.New("markers or template missing")
	}
	body := page[t+len(tag):]
	stop := bytes.Index(body, []byte(templateEndTag))
	if stop < 0 {
		return nil, nil, nil, errors.New("template not closed")
	}
	tmpl, err = template.New("shell").Delims("[[", "]]").Parse(string(body[:stop]))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse template: %w", err)
	}
	return page[:o], tmpl, page[e+len(close):], nil
}
