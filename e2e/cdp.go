package e2e

import (
	"context"
	"encoding/base64"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// cdpContext returns a context that runs CDP commands on c's target, for use
// from event listeners (which must not block the event loop).
func cdpContext(ctx context.Context, c *chromedp.Context) context.Context {
	return cdp.WithExecutor(ctx, c.Target)
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// awaitPromise makes Evaluate wait for a promise's value.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
