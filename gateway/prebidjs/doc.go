// Package prebidjs holds the browser test of bidsieve as a Prebid Server for Prebid.js:
// the real Prebid.js from npm (testdata/package.json pins it), bundled with esbuild with
// its Prebid Server adapter, in headless Chromium driven by puppeteer-core, on a page of
// another origin than the gateway, against the gateway in-process and scripted DSPs. The
// test asserts what Prebid.js itself reports. It has no non-test code.
//
// Setup: npm ci --prefix gateway/prebidjs/testdata, and Debian's chromium.
package prebidjs
