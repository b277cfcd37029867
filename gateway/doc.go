// Package gateway is bidsieve's serving core: the OpenRTB auction endpoint
// (POST /openrtb2/auction), the concurrent fan-out to the eligible DSPs, the second-price
// auction (package auction) and the answer to the publisher, plus /healthz, /readyz and
// /metrics.
//
// # One auction
//
// An auction runs in stages, each in its own file with its own input and output; serve
// (exchange.go) is the one place that orders them, and each call (call.go: one
// (request, DSP) pair) carries its state as a field, from planned to withheld or
// admitted, then sent, then answered.
//
//  1. Intake (exchange.go, request.go, bidders.go): read the body (gzip allowed,
//     size-limited), decode it once into openrtb2 types and validate what an auction
//     needs; read the imps' bidder lists (imp.ext.prebid.bidder or the legacy
//     imp.ext.{code}: the DSPs, by name or alias, an imp may be offered to, with their
//     parameters); work out the auction's currency, the floors in it and the tie-break
//     seed. Bad input gets HTTP 400 (413 when too large) with a JSON body naming the field:
//     {"error":"imp[1].id: duplicate","field":"imp[1].id"}.
//  2. Plan (plan.go, decision.go, admission.go): from the request, the state, the arrival
//     and the deadline, one call per DSP with its state, in four steps, after the
//     features are extracted once per imp. Eligibility: enabled, the bidder lists (an imp
//     that names DSPs is offered only to them; a DSP offered no imp is not considered and
//     has no bid-log row), static targeting (formats per imp; the channel and country of
//     the features); then the DSP's health (package dsp/health) is asked once per call:
//     a DSP whose circuit breaker is open is withheld (breaker_open) beyond its trial
//     share, and one backing off after a 429 beyond its lowered send share (throttled,
//     counted with reason rate_limited); a withheld call is not scored.
//     Scores: every eligible (imp, DSP) pair
//     of the DSPs in filter or shadow mode in one batch with the Scorer; without a
//     model, when the model fails or is older than model.max_age, the auction fails open
//     (every eligible DSP gets it), counted and logged. Decisions (decide): the threshold
//     in force is modelfile.DSP.OperatingThreshold of the model's calibration and the
//     DSP's settings; a request whose score 1 - prod(1 - p_imp) reaches it is sent, one
//     below it is explored with the exploration probability (a draw that is a pure
//     function of shaping.seed, the request id and the DSP, made with package rnd) or
//     filtered; shadow mode decides, logs and sends anyway. Admission: while a DSP's QPS
//     cap binds, the requests sent on their score need its admission threshold (the
//     highest scores go first); then the DSP's token bucket (the hard limit). Admission
//     sets the call's state (admitted or throttled, counted with reason qps_limit) and
//     leaves the shaping decision as it was: the decision logged is the refusal when
//     there was one, the shaping decision otherwise.
//  3. Fan-out (fanout.go): one goroutine per admitted call, each with its own deadline,
//     min(its timeout, the auction deadline = tmax capped at auction.max_tmax, minus
//     auction.safety_margin), and the request encoded once per distinct set of imps and
//     tmax (and, for a DSP an imp's bidder list names, its own parameters at
//     imp.ext.bidder and nothing of the others'). Collection stops at the last answer or
//     the deadline, whichever comes first; each call is left sent (no answer in time) or
//     answered. Each call's outcome goes to the DSP's health with the facts that say
//     whose a timeout is: the auction's arrival, the call's start, its deadline and its
//     end (a call that started late, or whose deadline left it less than its timeout,
//     timed out by the gateway's fault and is not counted against the DSP); a 429 is no
//     failure, it lowers the DSP's send share and its Retry-After is honoured.
//  4. Settle (settle.go): the answered calls' bids go into the auction (a bid on an imp
//     its DSP was not offered is refused as an unknown imp); its result gives the answer,
//     200 with the winners or, when nothing sold, the no-bid answer (nobid.go: 204, or
//     for Prebid clients 200 with an empty seatbid, as auction.nobid says).
//     A request that asks for debug output (test: 1 or ext.prebid.debug: true) where
//     debug.allow is set gets ext.debug (debug.go): per DSP the decision, outcome, score,
//     threshold and imps, and the calls as sent and answered (httpcalls).
//  5. Deliver (http.go): the answer is written and flushed; the publisher got it unless it
//     hung up before.
//  6. Record (record.go), off the publisher's path: notices (only when the publisher got
//     the answer), the live figures, and the bid-log rows handed to the BidLogSink.
//
// A step that decides per DSP whether it is sent belongs to the plan, as a call state (and
// a decision for the bid log) of its own; what changes the request a DSP is sent belongs to
// the fan-out's encoding; what checks or completes the DSPs' bids belongs to settle, before
// the auction runs; what reports on every DSP in the answer reads the calls' states and
// answers in settle.
//
// # State and reloads
//
// The gateway serves from one immutable state (configuration, model and the per-DSP
// settings and thresholds they give) behind an atomic pointer. Apply builds a new state
// from a new *config.Config, SetScorer and ReloadModel from a new model, and swaps it in;
// auctions already running finish on the state (and the model) they started with. The
// QPS buckets, admission thresholds and live figures of DSPs that keep their name survive
// a reload, and so does their health (breaker and 429 back-off) while their endpoint and
// the breaker section are unchanged.
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
