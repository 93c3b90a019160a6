package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"portal/account"
)

// SessionCookie is the portal's session cookie.
const SessionCookie = "__Host-portal_session"

// browser logs in as a browser does (portaltest.Client does the same for
// tests): it keeps the cookies itself (a cookie jar would drop the Secure
// ones over plain HTTP), sends same-origin requests with the CSRF token,
// and names itself in X-Forwarded-For, as the proxy in front of many
// clients would.
type browser struct {
	base    string
	client  *http.Client
	cookies map[string]string
	csrf    string
	ip      string
}

func (b *browser) do(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	req.Header.Set("X-Forwarded-For", b.ip)
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (b *browser) refreshCSRF(ctx context.Context) error {
	var out struct{ Token string }
	if err := b.do(ctx, http.MethodGet, "/api/csrf", nil, &out); err != nil {
		return err
	}
	b.csrf = out.Token
	return nil
}

// Login logs m in with password and TOTP and returns the session cookie
// ("name=value").
func Login(ctx context.Context, c *http.Client, base string, m Member, ip string) (string, error) {
	b := &browser{base: base, client: c, cookies: map[string]string{}, ip: ip}
	if err := b.refreshCSRF(ctx); err != nil {
		return "", err
	}
	if err := b.do(ctx, http.MethodPost, "/api/session", map[string]string{"email": m.Email, "password": m.Password}, nil); err != nil {
		return "", err
	}
	if err := b.refreshCSRF(ctx); err != nil {
		return "", err
	}
	code := account.TOTPCode(m.TOTP, time.Now())
	if err := b.do(ctx, http.MethodPost, "/api/session/mfa", map[string]string{"code": code}, nil); err != nil {
		return "", err
	}
	v := b.cookies[SessionCookie]
	if v == "" {
		return "", fmt.Errorf("login %s: no session cookie", m.Email)
	}
	return SessionCookie + "=" + v, nil
}

// BurstResult is what a burst of simultaneous logins did to the portal.
type BurstResult struct {
	Logins, Failures int
	FirstError       string
	BaselineKiB      int
	PeakKiB          int
	Duration         time.Duration
}

// LoginBurst logs all members in at once, each from its own address, and
// samples the portal's RSS every 5 ms meanwhile. It measures memory, not
// speed: the logins are released together by one barrier.
func LoginBurst(ctx context.Context, base string, pid int, members []Member) BurstResult {
	var res BurstResult
	res.BaselineKiB, _, _ = ReadRSS(pid)
	c := NewHTTPClient(len(members))
	start := make(chan struct{})
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := Login(ctx, c, base, m, fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256))
			mu.Lock()
			defer mu.Unlock()
			res.Logins++
			if err != nil {
				res.Failures++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
			}
		}()
	}
	s := StartRSS(pid, 5*time.Millisecond)
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Duration = time.Since(t0)
	res.PeakKiB = s.Stop()
	return res
}
