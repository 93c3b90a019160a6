package portaltest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"portal/account"
)

// Client talks to the portal as a browser would: it keeps the cookies the
// portal sets (Go's cookie jar would drop the Secure ones over the test's
// plain HTTP), sends same-origin requests, and carries the CSRF token.
type Client struct {
	t       testing.TB
	base    string
	cookies map[string]string
	csrf    string
	// Header is added to every request (tests set Sec-Fetch-Site, Origin…).
	Header http.Header
}

// NewClient returns a client without a session.
func (p *Portal) NewClient(t testing.TB) *Client {
	return &Client{t: t, base: p.URL, cookies: map[string]string{}, Header: http.Header{}}
}

// NewClientAt returns a client without a session for the portal at base
// (http://host:port), for a portal this package did not start.
func NewClientAt(t testing.TB, base string) *Client {
	return &Client{t: t, base: base, cookies: map[string]string{}, Header: http.Header{}}
}

// Cookie returns the value of a cookie the portal set, or "".
func (c *Client) Cookie(name string) string { return c.cookies[name] }

// CSRF returns the CSRF token RefreshCSRF fetched, for a request the test
// builds itself.
func (c *Client) CSRF() string { return c.csrf }

// SetCookie replaces a cookie, to replay an old one.
func (c *Client) SetCookie(name, value string) { c.cookies[name] = value }

// Do sends a request with body encoded as JSON (nil for none) and returns
// the response with its body read.
func (c *Client) Do(method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	var r io.Reader
	if raw, ok := body.(rawBody); ok {
		r = bytes.NewReader(raw)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, raw := body.(rawBody); body != nil && !raw {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if c.csrf != "" {
			req.Header.Set("X-CSRF-Token", c.csrf)
		}
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if strings.HasPrefix(path, "/api/") {
		contract, err := openAPI()
		if err != nil {
			c.t.Fatalf("openapi.json: %v", err)
		}
		u, _ := url.Parse(path)
		if msg := contract.check(method, u.Path, resp, out); msg != "" {
			c.t.Errorf("contract: %s", msg)
		}
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return resp, out
}

// Upload sends a multipart upload: a "metadata" JSON part (skipped when
// meta is nil) and a "file" part.
func (c *Client) Upload(method, path string, meta any, filename string, content []byte) (*http.Response, []byte) {
	c.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if meta != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="metadata"`)
		h.Set("Content-Type", "application/json")
		pw, err := w.CreatePart(h)
		if err != nil {
			c.t.Fatal(err)
		}
		if err := json.NewEncoder(pw).Encode(meta); err != nil {
			c.t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(content)
	w.Close()
	c.Header.Set("Content-Type", w.FormDataContentType())
	defer c.Header.Del("Content-Type")
	return c.Do(method, path, rawBody(buf.Bytes()))
}

// rawBody is a request body sent as it is, not as JSON.
type rawBody []byte

// JSON sends a request, checks the status and decodes the answer into out
// (nil to skip).
func (c *Client) JSON(method, path string, body any, wantStatus int, out any) {
	c.t.Helper()
	resp, b := c.Do(method, path, body)
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// RefreshCSRF fetches the CSRF token for the current session (or the
// anonymous one).
func (c *Client) RefreshCSRF() {
	c.t.Helper()
	var out struct{ Token string }
	c.JSON(http.MethodGet, "/api/csrf", nil, http.StatusOK, &out)
	c.csrf = out.Token
}

// Login logs in with a password and a TOTP code computed from secret at
// now, as an authenticator app would.
func (c *Client) Login(email, password, totpSecret string, now time.Time) {
	c.t.Helper()
	c.RefreshCSRF()
	c.JSON(http.MethodPost, "/api/session", map[string]string{"email": email, "password": password}, http.StatusOK, nil)
	c.RefreshCSRF()
	c.JSON(http.MethodPost, "/api/session/mfa", map[string]string{"code": account.TOTPCode(totpSecret, now)}, http.StatusOK, nil)
	c.RefreshCSRF()
}

// ErrorCode decodes the API's error shape and returns its code.
func ErrorCode(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not the API's error shape: %s", body)
	}
	return e.Error.Code
}

// User is a seeded account with what it takes to log in.
type User struct {
	account.User
	Password   string
	TOTPSecret string
}

// SeedUser creates an enrolled account directly in the store.
func (p *Portal) SeedUser(t testing.TB, role account.Role, groups ...string) User {
	t.Helper()
	return p.SeedNamedUser(t, "Test "+string(role), role, groups...)
}

// SeedNamedUser is SeedUser with a display name.
func (p *Portal) SeedNamedUser(t testing.TB, name string, role account.Role, groups ...string) User {
	t.Helper()
	email := fmt.Sprintf("%s-%d@test.invalid", role, time.Now().UnixNano())
	pw := "velvet quarry lantern " + rand.Text()[:10]
	u, secret, err := p.Accounts.SeedUser(t.Context(), email, name, role, append([]string{"members"}, groups...), pw)
	if err != nil {
		t.Fatalf("seed %s: %v", role, err)
	}
	return User{User: u, Password: pw, TOTPSecret: secret}
}
