package gateway

import (
	"context"

	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/bidsieve/bidsieve/prebid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Auction results, the result label of bidsieve_auctions_total.
const (
	resultBid      = "bid"      // 200 with at least one winner
	resultNoBid    = "nobid"    // no winner: 204, or 200 with an empty seatbid (auction.nobid)
	resultInvalid  = "invalid"  // 4xx: the request was refused
	resultCanceled = "canceled" // the publisher hung up before the answer
	resultPanic    = "panic"    // 500: a bug, recovered
	resultShed     = "shed"     // refused for load: 503, or a Prebid no-bid, with Retry-After (overload.go)
)

// latencyBuckets are the histogram bounds in seconds: auction and DSP latencies live
// between a millisecond and a second.
var latencyBuckets = []float64{.001, .0025, .005, .01, .02, .035, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2}

// metrics holds the instruments. Every name starts with bidsieve_; per-DSP label sets are
// built once per DSP (dspMetrics) so that recording allocates nothing.
type metrics struct {
	auctions        metric.Int64Counter
	auctionDuration metric.Float64Histogram
	dspRequests     metric.Int64Counter
	dspBids         metric.Int64Counter
	dspNoBids       metric.Int64Counter
	dspTimeouts     metric.Int64Counter
	dspErrors       metric.Int64Counter
	dspInvalidBids  metric.Int64Counter
	dspWins         metric.Int64Counter
	dspDrifts       metric.Int64Counter
	drift           metric.Int64ObservableGauge
	dspLatency      metric.Float64Histogram
	dspDecisions    metric.Int64Counter
	breakerState    metric.Int64ObservableGauge
	scorerErrors    metric.Int64Counter
	shed            metric.Int64Counter
	shedOpts        [numShedReasons][]metric.AddOption
	inflight        metric.Int64ObservableGauge

	// DSP health (dsp/health), per DSP: opens, the sliding window's ratios, the send share.
	breakerOpens   metric.Int64ObservableCounter
	healthCalls    metric.Int64ObservableGauge
	healthFailures metric.Float64ObservableGauge
	healthTimeouts metric.Float64ObservableGauge
	healthOurs     metric.Float64ObservableGauge
	healthLimited  metric.Float64ObservableGauge
	sendShare      metric.Float64ObservableGauge
	dspThrottled   metric.Int64Counter
	reloads        metric.Int64Counter

	// Privacy (privacy.go), per DSP and reason.
	privacyWithheld metric.Int64Counter
	privacyScrubbed metric.Int64Counter

	// Traffic shaping.
	dspDecisionBids metric.Int64Counter
	dspShadow       metric.Int64Counter
	dspUnfiltered   metric.Int64Counter
	failOpen        metric.Int64Counter
	predictor       metric.Float64Histogram
	modelReloads    metric.Int64Counter
	threshold       metric.Float64ObservableGauge
	admission       metric.Float64ObservableGauge
	withheld        metric.Float64ObservableGauge
	liveRecall      metric.Float64ObservableGauge
	modelLoaded     metric.Int64ObservableGauge
	modelInfo       metric.Int64ObservableGauge
	modelAge        metric.Float64ObservableGauge
	recallTarget    metric.Float64ObservableGauge
	modelMaxAge     metric.Float64ObservableGauge

	results      map[string][]metric.AddOption
	reload       map[string][]metric.AddOption
	failOpenOpts [numFailReasons][]metric.AddOption
}

// predictorBuckets are the bounds of the scoring time histogram in seconds: a batch takes
// tens of microseconds to a few milliseconds.
var predictorBuckets = []float64{10e-6, 25e-6, 50e-6, 75e-6, 100e-6, 150e-6, 200e-6, 300e-6, 500e-6, 750e-6, .001, .002, .005, .01, .025}

// observables lists the instruments that the gateway's callback reports.
func (m *metrics) observables() []metric.Observable {
	return []metric.Observable{m.drift, m.breakerState, m.threshold, m.admission, m.withheld, m.liveRecall, m.modelLoaded, m.modelInfo, m.modelAge,
		m.breakerOpens, m.healthCalls, m.healthFailures, m.healthTimeouts, m.healthOurs, m.healthLimited, m.sendShare,
		m.recallTarget, m.modelMaxAge, m.inflight}
}

func newMetrics(mp metric.MeterProvider) (*metrics, metric.Meter) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/bidsieve/bidsieve/gateway")
	var x metrics
	// Instrument creation only fails for invalid names, which these are not; a failed
	// instrument is a no-op, never a crash.
	x.auctions, _ = m.Int64Counter("bidsieve_auctions_total",
		metric.WithDescription("Auction requests by result: bid (200), nobid (204), invalid (4xx), shed (503 or a Prebid no-bid, for load), canceled, panic (500)."))
	x.shed, _ = m.Int64Counter("bidsieve_shed_total",
		metric.WithDescription("Auctions refused at the edge for load, before any decision, by reason: inflight (overload.max_inflight), wait (goroutines waited past overload.max_wait for a core)."))
	x.inflight, _ = m.Int64ObservableGauge("bidsieve_inflight_auctions",
		metric.WithDescription("Auctions being served now, from the body read to the answer (overload.max_inflight caps them)."))
	x.auctionDuration, _ = m.Float64Histogram("bidsieve_auction_duration_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time from the request's arrival to the answer."), metric.WithExplicitBucketBoundaries(latencyBuckets...))
	x.dspRequests, _ = m.Int64Counter("bidsieve_dsp_requests_total", metric.WithDescription("Bid requests sent to each DSP."))
	x.dspBids, _ = m.Int64Counter("bidsieve_dsp_bids_total", metric.WithDescription("Valid bids received from each DSP."))
	x.dspNoBids, _ = m.Int64Counter("bidsieve_dsp_nobids_total", metric.WithDescription("Answers without a bid (204, empty body or no seatbid)."))
	x.dspTimeouts, _ = m.Int64Counter("bidsieve_dsp_timeouts_total", metric.WithDescription("Calls that ran past their deadline."))
	x.dspErrors, _ = m.Int64Counter("bidsieve_dsp_errors_total",
		metric.WithDescription("Failed calls other than timeouts, by kind: transport, status, too_large, malformed, canceled."))
	x.dspInvalidBids, _ = m.Int64Counter("bidsieve_dsp_invalid_bids_total",
		metric.WithDescription("Bids dropped as invalid, by reason: refused before the auction (missing_id, missing_impid, unknown_imp, missing_crid, invalid_ext, invalid_media_type, media_type_conflict, media_type_not_offered, ambiguous_media_type, missing_size, video_without_adm) or by it (bad_price, bad_currency, blocked_seat, blocked_advertiser, below_floor)."))
	x.dspWins, _ = m.Int64Counter("bidsieve_dsp_wins_total", metric.WithDescription("Imps won by each DSP."))
	x.dspDrifts, _ = m.Int64Counter("bidsieve_dsp_drifts_total",
		metric.WithDescription("Times the drift guard found a DSP's live recall interval below its target for shaping.drift_after."))
	x.drift, _ = m.Int64ObservableGauge("bidsieve_dsp_drift",
		metric.WithDescription("1 while a DSP has drifted under the model in force (its live recall stayed below target; shaping.on_drift says what the gateway does), else 0."))
	x.dspLatency, _ = m.Float64Histogram("bidsieve_dsp_latency_seconds", metric.WithUnit("s"),
		metric.WithDescription("DSP call latency, answers and failures alike."), metric.WithExplicitBucketBoundaries(latencyBuckets...))
	x.dspDecisions, _ = m.Int64Counter("bidsieve_dsp_decisions_total",
		metric.WithDescription("Per-DSP decisions: sent, filtered, explored, throttled, breaker_open, shadow, fail_open."))
	x.breakerState, _ = m.Int64ObservableGauge("bidsieve_dsp_breaker_state",
		metric.WithDescription("Circuit breaker state per DSP: 0 closed, 2 open (sending its trial share)."))
	x.breakerOpens, _ = m.Int64ObservableCounter("bidsieve_dsp_breaker_opens_total",
		metric.WithDescription("Times each DSP's breaker opened (the failure ratio over the window reached breaker.failure_ratio)."))
	x.healthCalls, _ = m.Int64ObservableGauge("bidsieve_dsp_health_calls",
		metric.WithDescription("Calls counted in the DSP's health window (breaker.window): successes and failures, not the gateway's own timeouts nor 429s."))
	x.healthFailures, _ = m.Float64ObservableGauge("bidsieve_dsp_health_failure_ratio",
		metric.WithDescription("Failures over counted calls in the DSP's health window; the breaker opens at breaker.failure_ratio (with breaker.min_calls calls)."))
	x.healthTimeouts, _ = m.Float64ObservableGauge("bidsieve_dsp_health_timeout_ratio",
		metric.WithDescription("The DSP's own timeouts over counted calls in its health window."))
	x.healthOurs, _ = m.Float64ObservableGauge("bidsieve_dsp_health_ours_ratio",
		metric.WithDescription("Timeouts the gateway caused (late start, short deadline), over all outcomes in the DSP's health window: not counted against the DSP."))
	x.healthLimited, _ = m.Float64ObservableGauge("bidsieve_dsp_health_rate_limited_ratio",
		metric.WithDescription("429 answers over all outcomes in the DSP's health window: not failures, they lower the send share."))
	x.sendShare, _ = m.Float64ObservableGauge("bidsieve_dsp_send_share",
		metric.WithDescription("Share of the DSP's eligible requests its health lets through: 1, the trial share while open, the lowered share after a 429, 0 during a Retry-After wait."))
	x.dspThrottled, _ = m.Int64Counter("bidsieve_dsp_throttled_total",
		metric.WithDescription("Requests withheld as throttled, by reason: qps_limit (the DSP's QPS cap), rate_limited (the DSP answered 429: its send share or Retry-After)."))
	x.privacyWithheld, _ = m.Int64Counter("bidsieve_privacy_withheld_total",
		metric.WithDescription("Requests withheld from each DSP by the publisher's privacy signals (decision privacy_blocked), by reason: no_consent (TCF 2: no legal basis for purpose 2, the vendor not in the list, or no vendor list), no_gvl_id (GDPR applies and the DSP has no dsps[].gvl_id)."))
	x.privacyScrubbed, _ = m.Int64Counter("bidsieve_privacy_scrubbed_total",
		metric.WithDescription("Requests sent to each DSP with fields removed or coarsened by the privacy rules, by reason (a request counts once per reason): no_consent (TCF 2 purposes 1, 3, 4, special feature 1), coppa, lmt, us_privacy, gpp."))
	x.scorerErrors, _ = m.Int64Counter("bidsieve_scorer_errors_total", metric.WithDescription("Requests the model failed to score (served fail-open)."))
	x.reloads, _ = m.Int64Counter("bidsieve_config_reloads_total", metric.WithDescription("Configuration reloads by result: ok, error."))
	x.dspDecisionBids, _ = m.Int64Counter("bidsieve_dsp_decision_bids_total",
		metric.WithDescription("Valid bids received from each DSP, by the decision that sent the request: sent, explored, shadow, fail_open."))
	x.dspShadow, _ = m.Int64Counter("bidsieve_dsp_shadow_decisions_total",
		metric.WithDescription("Shadow mode: the decision the filter would have made (sent, explored, filtered) on requests sent anyway."))
	x.dspUnfiltered, _ = m.Int64Counter("bidsieve_dsp_unfiltered_total",
		metric.WithDescription("Requests sent unfiltered in filter or shadow mode because the model cannot filter the DSP, by reason: unknown_dsp (no calibration), no_threshold."))
	x.failOpen, _ = m.Int64Counter("bidsieve_fail_open_total",
		metric.WithDescription("Auctions that failed open (every eligible DSP sent the request), by reason: no_model, model_error, model_stale."))
	x.predictor, _ = m.Float64Histogram("bidsieve_predictor_duration_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time to score one auction's batch of (imp, DSP) pairs."), metric.WithExplicitBucketBoundaries(predictorBuckets...))
	x.modelReloads, _ = m.Int64Counter("bidsieve_model_reloads_total", metric.WithDescription("Model reloads by result: ok, error (the model in force stays)."))
	x.threshold, _ = m.Float64ObservableGauge("bidsieve_dsp_threshold",
		metric.WithDescription("Score threshold in force per DSP, with its source: threshold (set by hand), recall_target (the model's curve), none (sent unfiltered)."))
	x.admission, _ = m.Float64ObservableGauge("bidsieve_dsp_admission_threshold",
		metric.WithDescription("Score a request needs while the DSP's QPS cap binds (0: the cap does not bind)."))
	x.withheld, _ = m.Float64ObservableGauge("bidsieve_dsp_withheld_ratio",
		metric.WithDescription("Share of the requests offered to each DSP that the model withheld, over the live window (15 minutes)."))
	x.liveRecall, _ = m.Float64ObservableGauge("bidsieve_dsp_live_recall",
		metric.WithDescription("Live recall estimate per DSP over the live window, B_sent / (B_sent + B_explored / exploration_rate), with its 95% interval (bound: estimate, lower, upper)."))
	x.modelLoaded, _ = m.Int64ObservableGauge("bidsieve_model_loaded", metric.WithDescription("1 when a model is loaded, 0 when the gateway runs without one (fail open)."))
	x.modelInfo, _ = m.Int64ObservableGauge("bidsieve_model_info", metric.WithDescription("The model in force: always 1, with its version as a label."))
	x.modelAge, _ = m.Float64ObservableGauge("bidsieve_model_age_seconds", metric.WithUnit("s"),
		metric.WithDescription("Age of the model in force, from its training time (meta.created_at)."))
	x.recallTarget, _ = m.Float64ObservableGauge("bidsieve_dsp_recall_target",
		metric.WithDescription("Recall target in force per DSP (shaping.recall_target or its override), beside bidsieve_dsp_live_recall; absent when the DSP is not shaped."))
	x.modelMaxAge, _ = m.Float64ObservableGauge("bidsieve_model_max_age_seconds", metric.WithUnit("s"),
		metric.WithDescription("model.max_age: the oldest a model may be and still shape (absent when 0, no limit)."))
	for f := failNoModel; f < numFailReasons; f++ {
		x.failOpenOpts[f] = addOpts(attribute.String("reason", f.String()))
	}
	x.results = map[string][]metric.AddOption{}
	for r := shedReason(0); r < numShedReasons; r++ {
		x.shedOpts[r] = addOpts(attribute.String("reason", r.String()))
	}
	for _, r := range []string{resultBid, resultNoBid, resultInvalid, resultShed, resultCanceled, resultPanic} {
		x.results[r] = addOpts(attribute.String("result", r))
	}
	x.reload = map[string][]metric.AddOption{"ok": addOpts(attribute.String("result", "ok")), "error": addOpts(attribute.String("result", "error"))}
	return &x, m
}

func (m *metrics) auction(ctx context.Context, result string, seconds float64) {
	m.auctions.Add(ctx, 1, m.results[result]...)
	m.auctionDuration.Record(ctx, seconds)
}

// addOpts returns the option slice for an attribute set. Passing a prebuilt slice with
// opts... spares the allocation of a variadic slice on every measurement.
func addOpts(kv ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// dspMetrics holds one DSP's precomputed label sets.
type dspMetrics struct {
	dsp       []metric.AddOption
	dspRecord []metric.RecordOption
	dspObs    []metric.ObserveOption
	errors    map[dsp.Kind][]metric.AddOption
	invalid   [numReasonSlots][]metric.AddOption
	rejected  [][]metric.AddOption // by prebid.Rejection: bids refused before the auction
	decisions [numDecisions][]metric.AddOption
	recallObs [3][]metric.ObserveOption // estimate, lower, upper
	throttled [numThrottledReasons][]metric.AddOption

	unfiltered [numUnfilteredReasons][]metric.AddOption

	privacyWithheld, privacyScrubbed [privacyReasons][]metric.AddOption
}

const numReasonSlots = 16

// Reasons of bidsieve_dsp_throttled_total.
const (
	throttledQPSLimit    = iota // the DSP's QPS cap (dsps[].qps_limit)
	throttledRateLimited        // the DSP answered 429: its lowered send share, or a Retry-After wait
	numThrottledReasons
)

var throttledReasonNames = [numThrottledReasons]string{"qps_limit", "rate_limited"}

func newDSPMetrics(name string) *dspMetrics {
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("dsp", name)))
	d := &dspMetrics{
		dsp:       []metric.AddOption{set},
		dspRecord: []metric.RecordOption{set},
		dspObs:    []metric.ObserveOption{set},
		errors:    map[dsp.Kind][]metric.AddOption{},
	}
	for _, k := range dsp.Kinds() {
		d.errors[k] = addOpts(attribute.String("dsp", name), attribute.String("kind", k.String()))
	}
	for _, r := range auction.Reasons() {
		if int(r) < numReasonSlots {
			d.invalid[r] = addOpts(attribute.String("dsp", name), attribute.String("reason", r.String()))
		}
	}
	d.rejected = make([][]metric.AddOption, len(prebid.Rejections())+1)
	for _, r := range prebid.Rejections() {
		d.rejected[r] = addOpts(attribute.String("dsp", name), attribute.String("reason", r.String()))
	}
	for dec := DecisionNone + 1; dec < numDecisions; dec++ {
		d.decisions[dec] = addOpts(attribute.String("dsp", name), attribute.String("decision", dec.String()))
	}
	for i, b := range []string{"estimate", "lower", "upper"} {
		d.recallObs[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("dsp", name), attribute.String("bound", b)))}
	}
	for r, n := range throttledReasonNames {
		d.throttled[r] = addOpts(attribute.String("dsp", name), attribute.String("reason", n))
	}
	d.privacyWithheld, d.privacyScrubbed = privacyLabels(name)
	for u := unfilteredUnknownDSP; u < numUnfilteredReasons; u++ {
		d.unfiltered[u] = addOpts(attribute.String("dsp", name), attribute.String("reason", unfilteredReasonNames[u]))
	}
	return d
}
