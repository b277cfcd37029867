// Drives the real Prebid.js in headless Chromium for the Go test (prebidjs_test.go):
// bundles entry.js with esbuild, then for each case opens the test page in a fresh browser
// context, runs one auction through Prebid.js's Prebid Server adapter and records what
// Prebid.js reports. Usage: node run.mjs SPEC.json RESULT.json
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(await readFile(process.argv[2], 'utf8'));

await esbuild.build({
  entryPoints: [join(here, 'entry.js')],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  outfile: spec.bundle,
  logLevel: 'error',
});

const browser = await puppeteer.launch({
  executablePath: spec.chromium,
  args: spec.flags,
  ignoreDefaultArgs: true,
  pipe: true,
  headless: true,
});

// runCase runs in the page: one auction, and what Prebid.js says about it.
function runCase(c) {
  return new Promise((resolve) => {
    const pbjs = window.pbjs;
    const out = { version: pbjs.version, bids: {}, debugErrors: [], events: {}, timedOut: null, elapsedMs: null };
    pbjs.onEvent('auctionDebug', (e) => {
      if (e.type === 'ERROR') out.debugErrors.push(e.arguments.map(String).join(' '));
    });
    // With s2sConfig.extPrebid.returnallbidstatus, Prebid.js hands the answer's
    // ext.seatnonbid to its analytics as a pbsAnalytics event.
    pbjs.onEvent('pbsAnalytics', (e) => { out.seatNonBid = (out.seatNonBid || []).concat(e.seatnonbid || []); });
    for (const ev of ['bidderDone', 'bidderError', 'bidRejected', 'bidTimeout', 'bidResponse']) {
      pbjs.onEvent(ev, () => { out.events[ev] = (out.events[ev] || 0) + 1; });
    }
    // debug stays off, as on a live site (in debug mode Prebid.js also fetches a DevTools
    // module from its CDN); its errors and warnings still arrive as auctionDebug events.
    pbjs.setConfig({ s2sConfig: c.s2sConfig });
    for (const u of c.adUnits) {
      for (const [media, conf] of Object.entries(u.mediaTypes)) {
        if (conf.renderer) { // outstream: a test renderer that only records it was called
          conf.renderer = { url: conf.renderer, render(bid) { window.rendered = (window.rendered || []).concat(bid.adId); } };
        }
      }
    }
    pbjs.addAdUnits(c.adUnits);
    const start = performance.now();
    pbjs.requestBids({
      timeout: c.timeout,
      bidsBackHandler(bids, timedOut) {
        out.elapsedMs = performance.now() - start;
        out.timedOut = !!timedOut;
        for (const [code, { bids: list }] of Object.entries(bids || {})) {
          out.bids[code] = list.map((b) => ({
            bidder: b.bidderCode, cpm: b.cpm, currency: b.currency, mediaType: b.mediaType,
            width: b.width, height: b.height, creativeId: b.creativeId, adId: b.adId,
            ad: b.ad || null, vastXml: b.vastXml || null, native: b.native ? JSON.stringify(b.native) : null,
          }));
        }
        setTimeout(() => resolve(out), c.settleMs); // let late events and logs arrive
      },
    });
  });
}

const results = [];
for (const c of spec.cases) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  const consoleErrors = [];
  const failedRequests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push('page error: ' + e.message));
  page.on('requestfailed', (r) => failedRequests.push(r.url() + ': ' + (r.failure()?.errorText || '')));
  let res;
  try {
    await page.goto(spec.page, { waitUntil: 'load', timeout: 30000 });
    res = await page.evaluate(runCase, c);
  } catch (e) {
    res = { error: String(e && e.stack || e) };
  }
  res.name = c.name;
  res.consoleErrors = consoleErrors;
  res.failedRequests = failedRequests;
  results.push(res);
  await ctx.close();
}
await browser.close();
await writeFile(process.argv[3], JSON.stringify({ results }, null, 1));
