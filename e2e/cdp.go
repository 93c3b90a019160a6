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

// scrollSettled waits until the page has stopped scrolling. The site scrolls
// smoothly (unless the reader prefers reduced motion), so focusing a field
// starts a scroll that runs on after the action that caused it; a click
// aimed at coordinates taken meanwhile lands on whatever has moved there.
func scrollSettled() chromedp.Action {
	const settled = `new Promise(resolve => {
		let y = window.scrollY, still = 0;
		const t = setInterval(() => {
			if (window.scrollY === y) {
				if (++still >= 3) { clearInterval(t); resolve(true); }
			} else {
				y = window.scrollY; still = 0;
			}
		}, 50);
	})`
	var ok bool
	return chromedp.Evaluate(settled, &ok, awaitPromise)
}
