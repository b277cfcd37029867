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
//  3. Score every eligible (imp, DSP) pair of the DSPs in filter or shadow mode in one batch
//     with the Scorer, and decide per DSP (decide in decision.go): the threshold in force
//     is modelfile.DSP.OperatingThreshold of the model's calibration and the DSP's
//     settings; a request whose score 1 - prod(1 - p_imp) reaches it is sent, one below it
//     is explored with the exploration probability (a draw that is a pure function of
//     shaping.seed, the request id and the DSP) or filtered. Shadow mode decides, logs and
//     sends anyway. Without a model, when the model fails or is older than model.max_age,
//     the auction fails open (every eligible DSP gets it), counted and logged.
//  4. Admit: while a DSP's QPS cap binds, the requests sent on their score need its
//     admission threshold (admission.go: the highest scores go first); then the DSP's
//     token bucket (the hard limit) and its circuit breaker.
//  5. Fan out: one goroutine per DSP, each with its own deadline, min(its timeout, the
//     auction deadline = tmax capped at auction.max_tmax, minus auction.safety_margin).
//     Collection stops at the last answer or the deadline, whichever comes first.
//  6. Run the auction, answer 200 with the winners or 204, then fire notices and hand the
//     bid-log rows to the BidLogSink, off the publisher's path.
//
// # State and reloads
//
// The gateway serves from one immutable state (configuration, model and the per-DSP
// settings and thresholds they give) behind an atomic pointer. Apply builds a new state
// from a new *config.Config, SetScorer and ReloadModel from a new model, and swaps it in;
// auctions already running finish on the state (and the model) they started with. The
// circuit breakers, QPS buckets, admission thresholds and live figures of DSPs that keep
// their name survive a reload.
//
// # Live figures
//
// Figures gives, per DSP over the last 15 minutes, the requests offered, sent, filtered,
// explored and throttled, the bids, the live recall estimate B_sent / (B_sent +
// B_explored / exploration_rate) with its 95% interval (each explored bid weighted by
// 1/propensity; in shadow mode the share of bids the filter would have kept, measured) and
// the share withheld: the admin page shows them, /metrics exports them as gauges.
//
// # Units and concurrency
//
// Prices are auction.Micros inside; floats only in JSON. Durations are time.Duration;
// metrics are in seconds. Every exported method of Gateway is safe for concurrent use.
package gateway
