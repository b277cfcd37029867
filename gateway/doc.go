// Package gateway is bidsieve's serving core: the OpenRTB auction endpoint
// (POST /openrtb2/auction), the concurrent fan-out to the eligible DSPs, the second-price
// auction (package auction) and the answer to the publisher, plus /healthz, /readyz and
// /metrics.
//
// # One auction
//
//  1. Read the body (gzip allowed, size-limited), decode it once into openrtb2 types and
//     validate what an auction needs. Bad input gets HTTP 400 (413 when too large) with a
//     JSON body naming the field: {"error":"imp[1].id: duplicate","field":"imp[1].id"}.
//  2. Eligibility per DSP: enabled, static targeting (formats per imp, channel, country),
//     circuit breaker not open.
//  3. Score every eligible (imp, DSP) pair in one batch with the Scorer (PassThrough when no
//     model is loaded) and decide per DSP (decide in decision.go: the traffic-shaping seam).
//  4. Admit: the DSP's QPS token bucket, then its circuit breaker.
//  5. Fan out: one goroutine per DSP, each with its own deadline, min(its timeout, the
//     auction deadline = tmax capped at auction.max_tmax, minus auction.safety_margin).
//     Collection stops at the last answer or the deadline, whichever comes first.
//  6. Run the auction, answer 200 with the winners or 204, then fire notices and hand the
//     bid-log rows to the BidLogSink, off the publisher's path.
//
// # State and reloads
//
// The gateway serves from one immutable state (configuration plus per-DSP settings) behind
// an atomic pointer. Apply builds a new state from a new *config.Config and swaps it in;
// auctions already running finish on the state they started with. The circuit breakers
// and QPS buckets of DSPs that keep their name survive a reload.
//
// # Units and concurrency
//
// Prices are auction.Micros inside; floats only in JSON. Durations are time.Duration;
// metrics are in seconds. Every exported method of Gateway is safe for concurrent use.
package gateway
