package gateway

import (
	"context"

	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Auction results, the result label of bidsieve_auctions_total.
const (
	resultBid      = "bid"      // 200 with at least one winner
	resultNoBid    = "nobid"    // 204
	resultInvalid  = "invalid"  // 4xx: the request was refused
	resultCanceled = "canceled" // the publisher hung up before the answer
	resultPanic    = "panic"    // 500: a bug, recovered
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
	dspLatency      metric.Float64Histogram
	dspDecisions    metric.Int64Counter
	breakerState    metric.Int64ObservableGauge
	scorerErrors    metric.Int64Counter
	reloads         metric.Int64Counter

	results map[string][]metric.AddOption
	reload  map[string][]metric.AddOption
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
		metric.WithDescription("Auction requests by result: bid (200), nobid (204), invalid (4xx), canceled, panic (500)."))
	x.auctionDuration, _ = m.Float64Histogram("bidsieve_auction_duration_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time from the request's arrival to the answer."), metric.WithExplicitBucketBoundaries(latencyBuckets...))
	x.dspRequests, _ = m.Int64Counter("bidsieve_dsp_requests_total", metric.WithDescription("Bid requests sent to each DSP."))
	x.dspBids, _ = m.Int64Counter("bidsieve_dsp_bids_total", metric.WithDescription("Valid bids received from each DSP."))
	x.dspNoBids, _ = m.Int64Counter("bidsieve_dsp_nobids_total", metric.WithDescription("Answers without a bid (204, empty body or no seatbid)."))
	x.dspTimeouts, _ = m.Int64Counter("bidsieve_dsp_timeouts_total", metric.WithDescription("Calls that ran past their deadline."))
	x.dspErrors, _ = m.Int64Counter("bidsieve_dsp_errors_total",
		metric.WithDescription("Failed calls other than timeouts, by kind: transport, status, too_large, malformed, canceled."))
	x.dspInvalidBids, _ = m.Int64Counter("bidsieve_dsp_invalid_bids_total",
		metric.WithDescription("Bids dropped as invalid, by reason (unknown_imp, bad_price, bad_currency, blocked_seat, blocked_advertiser, below_floor)."))
	x.dspWins, _ = m.Int64Counter("bidsieve_dsp_wins_total", metric.WithDescription("Imps won by each DSP."))
	x.dspLatency, _ = m.Float64Histogram("bidsieve_dsp_latency_seconds", metric.WithUnit("s"),
		metric.WithDescription("DSP call latency, answers and failures alike."), metric.WithExplicitBucketBoundaries(latencyBuckets...))
	x.dspDecisions, _ = m.Int64Counter("bidsieve_dsp_decisions_total",
		metric.WithDescription("Per-DSP decisions: sent, filtered, explored, throttled, breaker_open, shadow, fail_open."))
	x.breakerState, _ = m.Int64ObservableGauge("bidsieve_dsp_breaker_state",
		metric.WithDescription("Circuit breaker state per DSP: 0 closed, 1 half-open, 2 open."))
	x.scorerErrors, _ = m.Int64Counter("bidsieve_scorer_errors_total", metric.WithDescription("Requests the model failed to score (served fail-open)."))
	x.reloads, _ = m.Int64Counter("bidsieve_config_reloads_total", metric.WithDescription("Configuration reloads by result: ok, error."))
	x.results = map[string][]metric.AddOption{}
	for _, r := range []string{resultBid, resultNoBid, resultInvalid, resultCanceled, resultPanic} {
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
	decisions [numDecisions][]metric.AddOption
}

const numReasonSlots = 16

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
	for dec := DecisionNone + 1; dec < numDecisions; dec++ {
		d.decisions[dec] = addOpts(attribute.String("dsp", name), attribute.String("decision", dec.String()))
	}
	return d
}
