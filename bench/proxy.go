package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// Proxy is a round-robin reverse proxy, the load balancer in front of
// several `portal serve` instances (issue 13): each request goes to the
// next backend in turn, whatever the session, since sessions live in the
// shared database.
type Proxy struct {
	URL    string
	srv    *http.Server
	served []atomic.Int64
	failed atomic.Int64
	done   chan struct{}
}

// StartProxy listens on a free local port and forwards to backends (base
// URLs such as http://127.0.0.1:8080), alternating per request.
func StartProxy(backends []string) (*Proxy, error) {
	if len(backends) == 0 {
		return nil, errors.New("proxy: no backend")
	}
	targets := make([]*url.URL, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("proxy: backend %q: %w", b, err)
		}
		targets[i] = u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), served: make([]atomic.Int64, len(targets)), done: make(chan struct{})}
	var next atomic.Uint64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := int((next.Add(1) - 1) % uint64(len(targets)))
			p.served[i].Add(1)
			r.SetURL(targets[i])
			// As a load balancer does: the portal trusts 127.0.0.1
			// (PORTAL_TRUSTED_PROXIES) and reads the client from it.
			r.SetXForwarded()
		},
		// Warm connections to each backend, as many as the clients
		// open, and no compression, as on the harness's own clients.
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			DisableCompression:  true,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.failed.Add(1)
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// Served is how many requests each backend was sent, in the order given.
func (p *Proxy) Served() []int64 {
	out := make([]int64, len(p.served))
	for i := range p.served {
		out[i] = p.served[i].Load()
	}
	return out
}

// Failed is how many requests the proxy could not forward or whose answer
// it could not relay (answered 502).
func (p *Proxy) Failed() int64 { return p.failed.Load() }

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	<-p.done
	return err
}
