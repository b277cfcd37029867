package gateway

import (
	"context"
	"slices"
	"time"

	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/bidsieve/bidsieve/rnd"
	"github.com/prebid/openrtb/v19/openrtb2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// run is one auction: the request, then what each stage made of it, in the order the
// stages run (see serve).
type run struct {
	st    *state
	start time.Time // arrival, real clock: deadlines
	now   time.Time // arrival, the gateway's clock (Options.Now): features, bid-log ts
	req   openrtb2.BidRequest
	areq  auction.Request // the request as the auction sees it: currency, floors, tie-break seed
	bids  *bidderList     // the imps' bidder lists (bidders.go); nil when no imp names a DSP
	ask   prebidAsk       // what a Prebid client asks of the answer (respext.go)

	deadline time.Time // the DSP calls' deadline, real clock

	plan plan       // plan.go: the calls, withheld or admitted
	fan  fanout     // fanout.go: the calls sent and answered
	set  settlement // settle.go: the bids and the auction's result
}

// deliverFunc hands the answer to the publisher and reports whether the publisher got it:
// notices are fired only then.
type deliverFunc func(reply) bool

// serve runs one auction on st from the request's body (already read) to its record, and
// is the one place that orders the stages: intake (decode, validate, the auction's
// currency and floors), plan, fan-out, settle, then deliver the answer, then record.
// A refused request returns its error before anything is planned or delivered.
func (g *Gateway) serve(ctx context.Context, st *state, start time.Time, body []byte, deliver deliverFunc) *RequestError {
	r := &run{st: st, start: start, now: g.now()}
	if rerr := g.intake(r, body); rerr != nil {
		return rerr
	}
	g.checkDrift(r.now, st)
	budget := deadlineFor(&st.cfg.Auction, r.req.TMax)
	lag, _ := g.load.allowance(budget)
	deadline := start.Add(budget - lag)
	r.deadline = deadline
	if st.cfg.Debug.Allow && debugWanted(&r.req) {
		r.fan.dbg = new(fanDebug) // the answer carries ext.debug (debug.go)
	}
	g.plan(ctx, &planInput{st: st, req: &r.req, bids: r.bids, start: start, now: r.now, deadline: deadline}, &r.plan)
	g.fanOut(ctx, &r.req, r.bids, r.plan.calls, start, deadline, &r.fan)
	g.settle(st, &r.req, &r.areq, r.plan.calls, &r.set)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("openrtb.request_id", r.req.ID), attribute.Int("openrtb.imps", len(r.req.Imp)),
			attribute.Int("bidsieve.dsps_sent", r.fan.sent), attribute.Int("bidsieve.bids", len(r.set.bids)),
			attribute.Int("bidsieve.wins", len(r.set.res.Wins)))
	}
	rep := g.answer(r)
	if r.fan.dbg != nil {
		rep = r.withDebug(rep)
	}
	g.record(r, deliver(rep))
	return nil
}

// intake decodes and validates the body into r.req, reads the imps' bidder lists into
// r.bids and what a Prebid client asks of the answer into r.ask, then works out r.areq: the auction currency, the floors in it and the auction's
// tie-break seed.
func (g *Gateway) intake(r *run, body []byte) *RequestError {
	if rerr := DecodeRequest(body, &r.req); rerr != nil {
		return rerr
	}
	if rerr := ValidateRequest(&r.req, r.st.rates); rerr != nil {
		return rerr
	}
	r.bids = readBidders(&r.req, r.st)
	if rerr := readPrebidAsk(&r.req, &r.ask); rerr != nil {
		return rerr
	}
	return prepare(&r.req, r.st, auctionSeed(r.st.seed, g.seq.Add(1)), &r.areq)
}

// auctionSeed is the tie-break seed of auction number seq: splitmix64 spreads the
// sequence numbers over the seed space.
func auctionSeed(seed, seq uint64) uint64 { return seed ^ rnd.SplitMix(seq) }

// prepare works out the auction's request for req: the currency (the base currency, unless
// the request's cur excludes it), the floors converted to it, and the tie-break seed.
func prepare(req *openrtb2.BidRequest, st *state, seed uint64, areq *auction.Request) *RequestError {
	base := st.cfg.Currency.Base
	cur := base
	if len(req.Cur) > 0 && !slices.Contains(req.Cur, base) {
		cur = req.Cur[0]
	}
	*areq = auction.Request{
		ID: req.ID, Currency: cur, Cur: req.Cur, BAdv: req.BAdv, WSeat: req.WSeat, BSeat: req.BSeat,
		Seed: seed, Imps: make([]auction.Imp, len(req.Imp)),
	}
	for i := range req.Imp {
		imp := &req.Imp[i]
		floor, ok := auction.FromFloat(imp.BidFloor)
		fcur := imp.BidFloorCur
		if fcur == "" {
			fcur = auction.DefaultCurrency
		}
		if ok && floor > 0 {
			floor, ok = st.rates.Convert(floor, fcur, cur)
		}
		if !ok || floor > auction.MaxPrice {
			return badField(indexed("imp", i, ".bidfloor"), "out of range")
		}
		areq.Imps[i] = auction.Imp{ID: imp.ID, Floor: floor}
	}
	return nil
}
