package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/prebid/openrtb/v19/openrtb2"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// impSet is a set of imp indices (MaxImps <= 128).
type impSet [2]uint64

func (s *impSet) add(i int)     { s[i>>6] |= 1 << (i & 63) }
func (s impSet) has(i int) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func (s impSet) empty() bool    { return s[0]|s[1] == 0 }

func fullSet(n int) (s impSet) {
	for i := range n {
		s.add(i)
	}
	return s
}

// call is one (request, DSP) pair of an auction. The fields above the line are the
// auction goroutine's; the ones below are written by the call's goroutine before it
// reports its index, and read by the auction goroutine only after receiving that index.
type call struct {
	d        *dspState
	imps     impSet // the imps offered to the DSP
	verdict  verdict
	score    float64     // the request's score for the DSP: 1 - prod(1 - p_imp)
	scored   bool        // score is the model's
	done     func(error) // the breaker's outcome callback; nil when not sent
	reported bool        // the goroutine reported before the deadline

	status  int
	err     error
	latency time.Duration
	resp    *openrtb2.BidResponse // nil without bids
}

// bidRef locates one bid of the auction in its DSP's answer.
type bidRef struct{ call, seat, bid int }

// run is one auction.
type run struct {
	g     *Gateway
	st    *state
	start time.Time // arrival, real clock: deadlines
	now   time.Time // arrival, the gateway's clock (Options.Now): features, bid-log ts
	req   openrtb2.BidRequest
	cur   string // the auction currency
	areq  auction.Request
	feats []features.Raw // per imp; nil when neither a model nor a bid log needs them
	calls []call
	bids  []auction.Bid
	refs  []bidRef
	res   auction.Result
	model string // the scorer's version

	results chan int // call goroutines report their index here; buffered for all of them
	cancels []context.CancelFunc

	answered bool // the answer reached the publisher (notices are fired only then)
}

var (
	clientSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { b := bufPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // do not keep huge buffers alive
		bufPool.Put(b)
	}
}

// auction serves one request: body already read. It returns the HTTP status and body of
// the answer and the run, whose finish the caller invokes once the answer is sent.
func (g *Gateway) auction(ctx context.Context, st *state, start time.Time, body []byte) (int, []byte, *run, *RequestError) {
	r := &run{g: g, st: st, start: start, now: g.now()}
	if rerr := DecodeRequest(body, &r.req); rerr != nil {
		return rerr.Status, nil, nil, rerr
	}
	if rerr := ValidateRequest(&r.req, st.rates); rerr != nil {
		return rerr.Status, nil, nil, rerr
	}
	if rerr := r.prepare(); rerr != nil {
		return rerr.Status, nil, nil, rerr
	}
	span := trace.SpanFromContext(ctx)
	budget := deadlineFor(&st.cfg.Auction, r.req.TMax)
	deadline := start.Add(budget)
	r.plan(ctx, deadline)
	actx, cancel := context.WithDeadline(ctx, deadline)
	sent := r.fanOut(actx, deadline)
	r.collect(actx, sent)
	cancel()
	for _, c := range r.cancels {
		c()
	}
	r.settle()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("openrtb.request_id", r.req.ID), attribute.Int("openrtb.imps", len(r.req.Imp)),
			attribute.Int("bidsieve.dsps_sent", sent), attribute.Int("bidsieve.bids", len(r.bids)), attribute.Int("bidsieve.wins", len(r.res.Wins)))
	}
	if len(r.res.Wins) == 0 {
		return http.StatusNoContent, nil, r, nil
	}
	out, err := json.Marshal(r.response())
	if err != nil { // cannot happen with openrtb2 types; never blame the publisher
		g.log.Error("encode bid response", "err", err)
		return http.StatusNoContent, nil, r, nil
	}
	return http.StatusOK, out, r, nil
}

// prepare works out the auction currency and the floors in it.
func (r *run) prepare() *RequestError {
	base := r.st.cfg.Currency.Base
	r.cur = base
	if len(r.req.Cur) > 0 && !slices.Contains(r.req.Cur, base) {
		r.cur = r.req.Cur[0]
	}
	r.areq = auction.Request{
		ID: r.req.ID, Currency: r.cur, Cur: r.req.Cur, BAdv: r.req.BAdv, WSeat: r.req.WSeat, BSeat: r.req.BSeat,
		Seed: r.st.seed ^ mix(r.g.seq.Add(1)),
		Imps: make([]auction.Imp, len(r.req.Imp)),
	}
	for i := range r.req.Imp {
		imp := &r.req.Imp[i]
		floor, ok := auction.FromFloat(imp.BidFloor)
		cur := imp.BidFloorCur
		if cur == "" {
			cur = auction.DefaultCurrency
		}
		if ok && floor > 0 {
			floor, ok = r.st.rates.Convert(floor, cur, r.cur)
		}
		if !ok || floor > auction.MaxPrice {
			return badField(indexed("imp", i, ".bidfloor"), "out of range")
		}
		r.areq.Imps[i] = auction.Imp{ID: imp.ID, Floor: floor}
	}
	return nil
}

// mix is splitmix64's finalizer: it spreads auction sequence numbers over the seed space.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// plan decides, for every DSP, whether it is considered, scored, sent: eligibility, one
// scoring batch, the shaping decision, then admission by the QPS cap and the breaker.
func (r *run) plan(ctx context.Context, deadline time.Time) {
	g, st := r.g, r.st
	r.model = st.version

	// Features once per imp, for targeting, the model and the bid log.
	r.feats = make([]features.Raw, len(r.req.Imp))
	for i := range r.req.Imp {
		r.feats[i] = features.Extract(&r.req, &r.req.Imp[i], r.now, st.conv)
	}
	all := fullSet(len(r.req.Imp))
	r.calls = make([]call, 0, len(st.dsps))
	wanted := false // some DSP wants a score
	for _, d := range st.dsps {
		if !d.enabled || !d.target.matchesRequest(&r.feats[0]) {
			continue
		}
		set := all
		if !d.target.anyFormat {
			set = impSet{}
			for i := range r.req.Imp {
				if d.target.matchesImp(&r.req.Imp[i]) {
					set.add(i)
				}
			}
			if set.empty() {
				continue
			}
		}
		c := call{d: d, imps: set}
		if d.rt.breaker.State() == gobreaker.StateOpen {
			c.verdict = verdict{decision: DecisionBreakerOpen}
		}
		r.calls = append(r.calls, c)
		wanted = wanted || c.wantsScore()
	}

	fail := failNone
	if wanted {
		var err error
		switch {
		case !st.scoring:
			fail = failNoModel
		case st.model != nil && st.cfg.Model.MaxAge > 0 && r.start.Sub(st.model.Meta.CreatedAt) > st.cfg.Model.MaxAge:
			fail = failModelStale
		default:
			if err = r.score(ctx, st.scorer); err != nil {
				fail = failModelError
			}
		}
		if fail != failNone {
			g.failOpen(ctx, fail, st, err)
		}
	}
	noTime := time.Until(deadline) <= 0
	for i := range r.calls {
		c := &r.calls[i]
		d := c.d
		if c.verdict.decision == DecisionNone {
			u := 1.0 // the exploration draw, made only where it decides
			if c.scored && !(c.score >= d.threshold) && d.shaping.ExplorationRate > 0 {
				u = exploreDraw(st.explore, r.req.ID, d.name)
			}
			c.verdict = decide(d, fail, c.scored, c.score, u)
			if w := c.verdict.would; w != DecisionNone {
				g.m.dspShadow.Add(ctx, 1, d.m.decisions[w]...)
			}
			if why := c.verdict.unfiltered; why != unfilteredNone {
				g.m.dspUnfiltered.Add(ctx, 1, d.m.unfiltered[why]...)
			}
		}
		if c.verdict.decision.sends() && !noTime {
			r.admit(c)
		}
		if dec := c.verdict.decision; dec != DecisionNone {
			g.m.dspDecisions.Add(ctx, 1, d.m.decisions[dec]...)
		}
	}
}

// wantsScore reports whether the call's decision needs the model: the DSP is eligible
// (no verdict yet) and shapes its traffic (filter or shadow mode).
func (c *call) wantsScore() bool {
	return c.verdict.decision == DecisionNone && c.d.shaping.Mode != config.ModeOff
}

// scoreBuf is the working memory of one scoring batch, pooled: the Scorer keeps neither.
type scoreBuf struct {
	in ScoreInput
	p  []float64
}

var scorePool = sync.Pool{New: func() any { return new(scoreBuf) }}

// score asks the scorer for every (imp, DSP) pair of the calls that want a score, in one
// batch, and sets each call's request score (scored stays false for a DSP the scorer does
// not know). An error (a panic included) means no scores at all: the auction fails open.
func (r *run) score(ctx context.Context, s Scorer) (err error) {
	b := scorePool.Get().(*scoreBuf)
	defer func() {
		b.in = ScoreInput{Pairs: b.in.Pairs[:0]}
		scorePool.Put(b)
	}()
	b.in.Request, b.in.Features = &r.req, r.feats
	pairs := b.in.Pairs[:0]
	for i := range r.calls {
		if c := &r.calls[i]; c.wantsScore() {
			for imp := range r.req.Imp {
				if c.imps.has(imp) {
					pairs = append(pairs, Pair{Imp: imp, DSP: c.d.name})
				}
			}
		}
	}
	b.in.Pairs = pairs
	if cap(b.p) < len(pairs) {
		b.p = make([]float64, len(pairs))
	}
	p := b.p[:len(pairs)]
	start := time.Now()
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("scorer panicked: %v", v)
			}
		}()
		err = s.Score(ctx, &b.in, p)
	}()
	r.g.m.predictor.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		r.g.m.scorerErrors.Add(ctx, 1)
		return err
	}
	k := 0
	for i := range r.calls {
		c := &r.calls[i]
		if !c.wantsScore() {
			continue
		}
		n := 0
		for imp := range r.req.Imp {
			if c.imps.has(imp) {
				n++
			}
		}
		if sc := requestScore(p[k : k+n]); !math.IsNaN(sc) { // a call's pairs are contiguous
			c.score, c.scored = sc, true
		}
		k += n
	}
	return nil
}

// admit sends a call that the shaping decision sends, if the DSP's QPS cap allows: while
// the cap binds, a request sent on its score needs the DSP's admission threshold (the
// highest scores go first); every request then needs a token from the DSP's bucket (the
// hard limit) and a slot from its breaker. A call refused by the cap is throttled.
// Explored requests skip the admission threshold (they are the unbiased sample of the
// filtered traffic), as do unscored ones (fail-open, shadow, off: first come, first served).
func (r *run) admit(c *call) {
	d := c.d
	if d.qpsLimit > 0 && c.scored && c.verdict.decision == DecisionSent && d.shaping.Mode == config.ModeFilter &&
		!d.rt.adm.admit(c.score, r.start, d.qpsLimit) {
		c.verdict.decision = DecisionThrottled
		return
	}
	if !d.rt.limiter.Allow() {
		c.verdict.decision = DecisionThrottled
		return
	}
	done, err := d.rt.breaker.Allow()
	if err != nil {
		c.verdict.decision = DecisionBreakerOpen
		return
	}
	c.done = done
}

// fanOut starts one goroutine per admitted call and returns how many it started.
func (r *run) fanOut(ctx context.Context, deadline time.Time) int {
	sent := 0
	for i := range r.calls {
		if r.calls[i].done != nil {
			sent++
		}
	}
	if sent == 0 {
		return 0
	}
	r.results = make(chan int, sent)
	all := fullSet(len(r.req.Imp))
	var cache []encoded
	// DSPs with the same timeout share one context: their own deadlines are the same
	// instant, taken now; a DSP whose timeout reaches past the auction deadline uses the
	// auction's context (and its timeouts are not its fault).
	type ownDeadline struct {
		timeout time.Duration
		ctx     context.Context
	}
	var owns []ownDeadline
	now := time.Now()
	for i := range r.calls {
		c := &r.calls[i]
		if c.done == nil {
			continue
		}
		cctx, full := ctx, false
		if own := now.Add(c.d.timeout); own.Before(deadline) {
			full = true
			k := slices.IndexFunc(owns, func(o ownDeadline) bool { return o.timeout == c.d.timeout })
			if k < 0 {
				// The auction's context is canceled after collection, which cancels this
				// child too and frees its timer; cancel is kept only to satisfy that contract.
				octx, cancel := context.WithDeadline(ctx, own)
				r.cancels = append(r.cancels, cancel)
				owns = append(owns, ownDeadline{timeout: c.d.timeout, ctx: octx})
				k = len(owns) - 1
			}
			cctx = owns[k].ctx
		}
		tmax := min(c.d.timeout, deadline.Sub(now)).Milliseconds()
		b, err := r.bodyFor(&cache, c.imps, all, max(tmax, 1))
		if err != nil { // cannot happen with openrtb2 types
			r.g.log.Error("encode bid request", "err", err)
			c.done(errNotCounted)
			c.done = nil
			sent--
			continue
		}
		r.g.calls.Add(1)
		go r.g.call(cctx, r, i, b, full)
	}
	return sent
}

// encoded is the request encoded for one set of imps and one tmax.
type encoded struct {
	imps impSet
	tmax int64
	json []byte // with tmax; empty until built
	base []byte // without tmax, shared by every tmax of the same imps
}

// bodyFor returns the body for a DSP offered imps with the given tmax: the request encoded
// once per distinct set of imps, with the tmax spliced in front, once per distinct tmax.
// DSPs with the same imps and timeout share one body (read-only).
func (r *run) bodyFor(cache *[]encoded, imps, all impSet, tmaxMS int64) ([]byte, error) {
	var base []byte
	for _, e := range *cache {
		if e.imps == imps {
			if e.tmax == tmaxMS {
				return e.json, nil
			}
			base = e.base
		}
	}
	if base == nil {
		req := r.req
		req.TMax = 0 // spliced in below
		if imps != all {
			req.Imp = make([]openrtb2.Imp, 0, len(r.req.Imp))
			for i := range r.req.Imp {
				if imps.has(i) {
					req.Imp = append(req.Imp, r.req.Imp[i])
				}
			}
		}
		var err error
		if base, err = json.Marshal(&req); err != nil {
			return nil, fmt.Errorf("encode bid request: %w", err)
		}
	}
	out := make([]byte, 0, len(base)+24)
	out = append(out, `{"tmax":`...)
	out = strconv.AppendInt(out, tmaxMS, 10)
	if len(base) > 2 {
		out = append(out, ',')
		out = append(out, base[1:]...)
	} else {
		out = append(out, '}')
	}
	*cache = append(*cache, encoded{imps: imps, tmax: tmaxMS, json: out, base: base})
	return out, nil
}

// call runs on its own goroutine: one DSP call under ctx (which carries the call's
// deadline), reported on r.results whatever happens (panics included). full says whether
// the deadline is the DSP's own timeout rather than the auction's.
func (g *Gateway) call(ctx context.Context, r *run, i int, body []byte, full bool) {
	defer g.calls.Done()
	c := &r.calls[i]
	d := c.d
	start := time.Now()
	breakerDone := false
	defer func() {
		if p := recover(); p != nil {
			c.err = fmt.Errorf("panic in DSP call: %v", p)
			g.log.Error("panic in DSP call", "dsp", d.name, "panic", p)
			if !breakerDone {
				c.done(errNotCounted)
			}
		}
		r.results <- i
	}()

	span := trace.SpanFromContext(ctx)
	if span.IsRecording() { // a child span only under a sampled auction span
		ctx, span = g.tracer.Start(ctx, "dsp.call", clientSpan...)
	}
	buf := getBuf()
	status, err := g.transport.Post(ctx, d.endpoint, body, buf)
	var resp *openrtb2.BidResponse
	if err == nil && status == http.StatusOK {
		resp = new(openrtb2.BidResponse)
		var bids bool
		if bids, err = dsp.Decode(buf.Bytes(), r.req.ID, resp); !bids {
			resp = nil
		}
	}
	putBuf(buf)
	latency := time.Since(start)

	counted := err
	kind := dsp.KindOf(err)
	if err != nil && (kind == dsp.KindCanceled || (kind == dsp.KindTimeout && !full)) {
		counted = errNotCounted
	}
	c.done(counted)
	breakerDone = true

	m := d.m
	g.m.dspRequests.Add(ctx, 1, m.dsp...)
	g.m.dspLatency.Record(ctx, latency.Seconds(), m.dspRecord...)
	switch {
	case err == nil && resp == nil:
		g.m.dspNoBids.Add(ctx, 1, m.dsp...)
	case err == nil:
	case kind == dsp.KindTimeout:
		g.m.dspTimeouts.Add(ctx, 1, m.dsp...)
	default:
		g.m.dspErrors.Add(ctx, 1, m.errors[kind]...)
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.String("bidsieve.dsp", d.name), attribute.Int("http.status_code", status))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	c.status, c.err, c.latency, c.resp = status, err, latency, resp
}

// collect waits for the calls' reports until all are in or ctx ends (the deadline).
func (r *run) collect(ctx context.Context, sent int) {
	for got := 0; got < sent; got++ {
		select {
		case i := <-r.results:
			r.calls[i].reported = true
		case <-ctx.Done():
			for { // take what is already there, then stop waiting
				select {
				case i := <-r.results:
					r.calls[i].reported = true
				default:
					return
				}
			}
		}
	}
}

// settle turns the answers into auction bids and runs the auction.
func (r *run) settle() {
	ctx := context.Background()
	n := 0
	for i := range r.calls {
		if c := &r.calls[i]; c.reported && c.resp != nil {
			for s := range c.resp.SeatBid {
				n += len(c.resp.SeatBid[s].Bid)
			}
		}
	}
	r.bids = make([]auction.Bid, 0, n)
	r.refs = make([]bidRef, 0, n)
	for i := range r.calls {
		c := &r.calls[i]
		if !c.reported || c.resp == nil {
			continue
		}
		for s := range c.resp.SeatBid {
			sb := &c.resp.SeatBid[s]
			for b := range sb.Bid {
				bid := &sb.Bid[b]
				price, ok := auction.FromFloat(bid.Price)
				if !ok {
					price = -1 // refused by the auction as a bad price
				}
				impID := bid.ImpID
				if k := r.impIndex(impID); k >= 0 && !c.imps.has(k) {
					impID = "" // an imp this DSP was not offered is unknown to it ("" is no valid imp id)
				}
				r.bids = append(r.bids, auction.Bid{
					Bidder: c.d.idx, Seat: sb.Seat, ImpID: impID, Price: price, Currency: c.resp.Cur, ADomain: bid.ADomain,
				})
				r.refs = append(r.refs, bidRef{call: i, seat: s, bid: b})
			}
		}
	}
	auction.Run(&r.areq, r.st.bidders, r.bids, r.st.rates, &r.res)

	for k, o := range r.res.Outcomes {
		m := r.calls[r.refs[k].call].d.m
		switch o.Status {
		case auction.Won:
			r.g.m.dspBids.Add(ctx, 1, m.dsp...)
			r.g.m.dspWins.Add(ctx, 1, m.dsp...)
		case auction.Lost:
			r.g.m.dspBids.Add(ctx, 1, m.dsp...)
		default:
			if int(o.Reason) < numReasonSlots && m.invalid[o.Reason] != nil {
				r.g.m.dspInvalidBids.Add(ctx, 1, m.invalid[o.Reason]...)
			}
		}
	}
}

func (r *run) impIndex(id string) int {
	for i := range r.req.Imp {
		if r.req.Imp[i].ID == id {
			return i
		}
	}
	return -1
}

// bidOf returns the DSP's bid behind auction bid k.
func (r *run) bidOf(k int) (*call, *openrtb2.SeatBid, *openrtb2.Bid) {
	ref := r.refs[k]
	c := &r.calls[ref.call]
	sb := &c.resp.SeatBid[ref.seat]
	return c, sb, &sb.Bid[ref.bid]
}

func (r *run) macros(c *call, sb *openrtb2.SeatBid, b *openrtb2.Bid, price auction.Micros, loss int) auction.Macros {
	bidID := c.resp.BidID
	if bidID == "" {
		bidID = b.ID
	}
	return auction.Macros{
		AuctionID: r.req.ID, BidID: bidID, ImpID: b.ImpID, SeatID: sb.Seat, AdID: b.AdID,
		Price: price, Currency: r.cur, Loss: loss,
	}
}

// response builds the publisher's BidResponse: one seatbid per winning DSP (seat = the
// DSP's name), each winning bid priced at its clearing price, macros substituted in adm
// and burl; nurl and lurl are the gateway's to fire, so they are not passed on.
func (r *run) response() *openrtb2.BidResponse {
	resp := &openrtb2.BidResponse{ID: r.req.ID, Cur: r.cur}
	for _, w := range r.res.Wins {
		c, sb, orig := r.bidOf(w.Bid)
		m := r.macros(c, sb, orig, w.Charge, 0)
		b := *orig
		b.Price = w.Clear.Float()
		b.AdM = auction.Expand(b.AdM, &m, false)
		b.BURL = auction.Expand(b.BURL, &m, true)
		b.NURL, b.LURL = "", ""
		k := -1
		for j := range resp.SeatBid {
			if resp.SeatBid[j].Seat == c.d.name {
				k = j
			}
		}
		if k < 0 {
			resp.SeatBid = append(resp.SeatBid, openrtb2.SeatBid{Seat: c.d.name})
			k = len(resp.SeatBid) - 1
		}
		resp.SeatBid[k].Bid = append(resp.SeatBid[k].Bid, b)
	}
	return resp
}

// finish runs after the answer is sent: notices (only when the publisher got the answer),
// the live figures and the bid log.
func (r *run) finish() {
	if r.answered {
		r.notices()
	}
	r.account()
	if r.g.sink != nil {
		r.g.sink.Log(r.rows())
	}
}

// account adds the auction to each DSP's live figures and counts its bids by decision.
func (r *run) account() {
	ctx := context.Background()
	var stack [16]int64
	bids := stack[:0]
	if len(r.calls) > len(stack) {
		bids = make([]int64, 0, len(r.calls))
	}
	bids = bids[:len(r.calls)]
	clear(bids)
	for k, o := range r.res.Outcomes {
		if o.Status == auction.Won || o.Status == auction.Lost {
			bids[r.refs[k].call]++
		}
	}
	for i := range r.calls {
		c := &r.calls[i]
		v, b := &c.verdict, bids[i]
		fc := figCounts{offered: 1, bids: b}
		switch v.decision {
		case DecisionSent, DecisionFailOpen:
			fc.sent, fc.bidsSent = 1, b
		case DecisionShadow:
			fc.sent, fc.shadowBids = 1, b
			if v.would == DecisionSent {
				fc.shadowKept = b
			}
		case DecisionExplored:
			fc.explored, fc.bidsExplored = 1, b
			if v.propensity > 0 {
				fc.exploredWeight = float64(b) / v.propensity
			}
		case DecisionFiltered:
			fc.filtered = 1
		case DecisionThrottled:
			fc.throttled = 1
		}
		c.d.rt.fig.add(r.start, &fc)
		if b > 0 {
			r.g.m.dspDecisionBids.Add(ctx, b, c.d.m.decisions[v.decision]...)
		}
	}
}

// notices fires the winners' nurl and the losers' lurl with their loss code.
func (r *run) notices() {
	n := r.g.notifier
	for _, w := range r.res.Wins {
		c, sb, b := r.bidOf(w.Bid)
		if b.NURL != "" {
			m := r.macros(c, sb, b, w.Charge, 0)
			n.Send(dsp.NoticeWin, auction.Expand(b.NURL, &m, true), c.d.noticeHosts)
		}
	}
	for k, o := range r.res.Outcomes {
		if o.LossCode == 0 {
			continue
		}
		c, sb, b := r.bidOf(k)
		if b.LURL == "" {
			continue
		}
		var price auction.Micros // the imp's clearing price, when it sold
		for _, w := range r.res.Wins {
			if w.Imp == o.Imp {
				price = w.Clear
			}
		}
		m := r.macros(c, sb, b, price, o.LossCode)
		n.Send(dsp.NoticeLoss, auction.Expand(b.LURL, &m, true), c.d.noticeHosts)
	}
}

// rows builds the bid-log rows: one per (imp, DSP) considered.
func (r *run) rows() []bidlog.Row {
	base := r.st.cfg.Currency.Base
	toBase := func(m auction.Micros) float64 {
		v, ok := r.st.rates.Convert(m, r.cur, base)
		if !ok {
			return 0
		}
		return v.Float()
	}
	var rows []bidlog.Row
	ts := r.now.UnixMilli()
	for i := range r.calls {
		c := &r.calls[i]
		for imp := range r.req.Imp {
			if !c.imps.has(imp) {
				continue
			}
			row := bidlog.Row{
				TS: ts, RequestID: r.req.ID, ImpID: r.req.Imp[imp].ID, DSP: c.d.name,
				Decision: c.verdict.decision.String(), Propensity: c.verdict.propensity, Score: c.score,
				Threshold: c.verdict.threshold, ModelVersion: r.model,
			}
			if r.feats != nil {
				row.SetFeatures(&r.feats[imp])
			}
			switch {
			case c.done == nil:
				row.Outcome = bidlog.OutcomeNotSent
			case !c.reported || dsp.KindOf(c.err) == dsp.KindTimeout && c.err != nil:
				row.Outcome = bidlog.OutcomeTimeout
			case c.err != nil:
				row.Outcome = bidlog.OutcomeError
			default:
				row.Outcome = bidlog.OutcomeNoBid
			}
			if c.reported {
				row.LatencyMS = float64(c.latency.Microseconds()) / 1000
			}
			for k, o := range r.res.Outcomes {
				if r.refs[k].call != i || o.Imp != imp || o.Status == auction.Rejected {
					continue
				}
				if bid := toBase(o.Price); row.Outcome != bidlog.OutcomeBid || bid > row.BidCPM {
					row.Outcome, row.BidCPM = bidlog.OutcomeBid, bid
				}
				if o.Status == auction.Won {
					row.Won = true
					for _, w := range r.res.Wins {
						if w.Bid == k {
							row.ClearCPM = toBase(w.Clear)
						}
					}
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}
