// Runs Lighthouse on a list of pages with one headless Chromium, one page
// after another, and prints each page's category scores and the audits that
// lost points, as JSON on stdout. Called by site/lighthouse_test.go, which
// judges the results.
//
//   node site/lighthouse/run.mjs < pages.json > results.json
//   pages.json: {"chrome": "/usr/bin/chromium", "preset": "mobile"|"desktop",
//                "pages": [{"url": "http://…", "ignoreStatusCode": false}, …]}
//   ignoreStatusCode audits a page that answers an error status (the 404
//   page), which Lighthouse otherwise refuses to load.
//
// One Chromium for the whole run keeps it within the suite's time budget;
// Lighthouse opens each page in a fresh tab, with storage cleared. The waits
// for the network and CPU to go quiet are shortened (the pages are static
// and request nothing late), and the unscored screenshots and
// back/forward-cache probe are skipped: none of them changes a score.
import fs from 'node:fs';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse, {desktopConfig} from 'lighthouse';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const categories = ['performance', 'accessibility', 'best-practices', 'seo'];

const chrome = await chromeLauncher.launch({
  chromePath: input.chrome,
  // The machine has no network: nothing may try to reach Google's services.
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-default-apps', '--disable-sync'],
  logLevel: 'silent',
});
const results = [];
try {
  for (const {url, ignoreStatusCode} of input.pages) {
    const flags = {
      port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: categories, ignoreStatusCode,
      pauseAfterFcpMs: 250, pauseAfterLoadMs: 250, networkQuietThresholdMs: 250, cpuQuietThresholdMs: 250,
      disableFullPageScreenshot: true, skipAudits: ['bf-cache', 'screenshot-thumbnails', 'final-screenshot'],
    };
    const runner = await lighthouse(url, flags, input.preset === 'desktop' ? desktopConfig : undefined);
    const lhr = runner.lhr;
    const scores = {};
    const failing = [];
    for (const id of categories) {
      const cat = lhr.categories[id];
      scores[id] = cat.score === null ? null : Math.round(cat.score * 100);
      for (const ref of cat.auditRefs) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
          failing.push({category: id, id: ref.id, title: audit.title, score: audit.score,
            displayValue: audit.displayValue || '', items: itemsOf(audit),
            urls: (audit.details?.items || []).map((it) => it.url || it.sourceLocation?.url || '')});
        }
      }
    }
    results.push({url, finalUrl: lhr.finalDisplayedUrl, runtimeError: lhr.runtimeError?.message || '', scores, failing});
  }
} finally {
  await chrome.kill();
}
process.stdout.write(JSON.stringify(results));

// itemsOf names up to three of the elements or resources an audit faults.
function itemsOf(audit) {
  const items = audit.details?.items || [];
  return items.slice(0, 3).map((it) => {
    const where = it.url || it.sourceLocation?.url || '';
    const what = it.node?.snippet || it.description || (where ? '' : JSON.stringify(it).slice(0, 200));
    return [what, where].filter(Boolean).join(' at ');
  });
}
