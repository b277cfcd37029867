package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/dsp/health"
	"github.com/prebid/openrtb/v19/openrtb2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// fanout is the fan-out stage's own state: the calls it sends (the plan's), the request
// id their answers must echo, the auction's arrival (when the calls were due: a call that
// starts much later timed out by the gateway's fault, not the DSP's), the channel on which
// their goroutines report, the cancel functions of the deadlines it made, and how many
// calls it started. Its output is in the calls: each admitted call left sent, unsent or
// answered.
type fanout struct {
	calls   []call
	reqID   string
	start   time.Time
	results chan int // call goroutines report their index here; buffered for all of them
	cancels []context.CancelFunc
	sent    int
	dbg     *fanDebug // what ext.debug needs (debug.go); nil unless the auction is a debug one
}

// fanDebug is what a debug auction's fan-out keeps for ext.debug, per call (index in
// calls): the request sent (the fan-out's own, shared and read-only) and a copy of the
// answer's body, written by the call's goroutine before it reports.
type fanDebug struct {
	bodies, answers [][]byte
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

// fanOut sends the request to every admitted call's DSP, each on its own goroutine under
// its own deadline, and waits for the answers until all are in or the auction deadline
// passes. start is the auction's arrival.
func (g *Gateway) fanOut(ctx context.Context, req *openrtb2.BidRequest, bids *bidderList, calls []call, start, deadline time.Time, f *fanout) {
	admitted := 0
	for i := range calls {
		if calls[i].state == callAdmitted {
			admitted++
		}
	}
	if admitted == 0 {
		return
	}
	if g.fanoutHook != nil {
		g.fanoutHook()
	}
	actx, cancel := context.WithDeadline(ctx, deadline)
	f.calls, f.reqID, f.start, f.results = calls, req.ID, start, make(chan int, admitted)
	if f.dbg != nil {
		f.dbg.bodies, f.dbg.answers = make([][]byte, len(calls)), make([][]byte, len(calls))
	}
	g.start(actx, req, bids, deadline, f)
	f.collect(actx)
	cancel()
	for _, c := range f.cancels {
		c()
	}
}

// start starts one goroutine per admitted call.
func (g *Gateway) start(ctx context.Context, req *openrtb2.BidRequest, bids *bidderList, deadline time.Time, f *fanout) {
	all := fullSet(len(req.Imp))
	var cache []encoded
	// DSPs with the same timeout share one context: their own deadlines are the same
	// instant, taken now; a DSP whose timeout reaches past the auction deadline uses the
	// auction's context (and its timeouts are not its fault: dsp/health sees that its
	// deadline left it less than its timeout).
	type ownDeadline struct {
		timeout time.Duration
		ctx     context.Context
	}
	var owns []ownDeadline
	now := time.Now()
	for i := range f.calls {
		c := &f.calls[i]
		if c.state != callAdmitted {
			continue
		}
		cctx := ctx
		if own := now.Add(c.d.timeout); own.Before(deadline) {
			k := slices.IndexFunc(owns, func(o ownDeadline) bool { return o.timeout == c.d.timeout })
			if k < 0 {
				// The auction's context is canceled after collection, which cancels this
				// child too and frees its timer; cancel is kept only to satisfy that contract.
				octx, cancel := context.WithDeadline(ctx, own)
				f.cancels = append(f.cancels, cancel)
				owns = append(owns, ownDeadline{timeout: c.d.timeout, ctx: octx})
				k = len(owns) - 1
			}
			cctx = owns[k].ctx
		}
		tmax := min(c.d.timeout, deadline.Sub(now)).Milliseconds()
		b, err := bodyFor(&cache, c.req, bids, c.imps, all, bids.bodyKey(c.d.idx, c.imps), max(tmax, 1))
		if err != nil { // cannot happen with openrtb2 types
			g.log.Error("encode bid request", "err", err)
			c.state = callUnsent
			continue
		}
		c.state = callSent
		if f.dbg != nil {
			f.dbg.bodies[i] = b
		}
		f.sent++
		g.calls.Add(1)
		go g.call(cctx, f, i, b)
	}
}

// encoded is a request encoded for one set of imps, one DSP's parameters and one tmax.
type encoded struct {
	req  *openrtb2.BidRequest // the publisher's, or one the privacy rules scrubbed (call.req)
	imps impSet
	dsp  int // the DSP whose parameters are in it (bidderList.bodyKey), -1 for none
	tmax int64
	json []byte // with tmax; empty until built
	base []byte // without tmax, shared by every tmax of the same imps
}

// bodyFor returns the body of req (the call's: the publisher's request, or the one the
// privacy rules scrubbed for the DSP) for a DSP offered imps with the given tmax: each
// request encoded once per distinct set of imps and DSP parameters (dsp,
// bidderList.bodyKey: -1 unless some imp's bidder list names the DSP, whose imp.ext then
// carries its own parameters), with the tmax spliced in front, once per distinct tmax.
// DSPs sent the same request, with the same imps, no parameters and the same timeout
// share one body (read-only).
func bodyFor(cache *[]encoded, req *openrtb2.BidRequest, bids *bidderList, imps, all impSet, dsp int, tmaxMS int64) ([]byte, error) {
	var base []byte
	for _, e := range *cache {
		if e.req == req && e.imps == imps && e.dsp == dsp {
			if e.tmax == tmaxMS {
				return e.json, nil
			}
			base = e.base
		}
	}
	if base == nil {
		sub := *req
		sub.TMax = 0 // spliced in below
		if imps != all || dsp >= 0 {
			sub.Imp = make([]openrtb2.Imp, 0, len(req.Imp))
			for i := range req.Imp {
				if imps.has(i) {
					sub.Imp = append(sub.Imp, req.Imp[i])
					if dsp >= 0 && bids.listed.has(i) {
						sub.Imp[len(sub.Imp)-1].Ext = bids.impExt(i, dsp)
					}
				}
			}
		}
		var err error
		if base, err = json.Marshal(&sub); err != nil {
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
	*cache = append(*cache, encoded{req: req, imps: imps, dsp: dsp, tmax: tmaxMS, json: out, base: base})
	return out, nil
}

// call runs on its own goroutine: the DSP call of f.calls[i] under ctx (which carries the
// call's deadline: the DSP's own timeout, or the auction's deadline when that comes
// first), whose answer it writes into the call's ans, then reports i on f.results
// whatever happens (panics included). The outcome goes to the DSP's health with the facts
// that say whether a timeout was the DSP's (it had its whole timeout, from a start on
// time) or the gateway's; a panic is not reported (it says nothing about the DSP). (Few
// arguments: the go statement allocates them.)
func (g *Gateway) call(ctx context.Context, f *fanout, i int, body []byte) {
	defer g.calls.Done()
	c := &f.calls[i]
	d := c.d
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			c.ans.err = fmt.Errorf("panic in DSP call: %v", p)
			g.log.Error("panic in DSP call", "dsp", d.name, "panic", p)
		}
		f.results <- i
	}()
	deadline, _ := ctx.Deadline()

	span := trace.SpanFromContext(ctx)
	if span.IsRecording() { // a child span only under a sampled auction span
		ctx, span = g.tracer.Start(ctx, "dsp.call", clientSpan...)
	}
	status, buf, err := g.post(ctx, d.endpoint, d.timeout, body)
	var resp *openrtb2.BidResponse
	if f.dbg != nil && buf != nil {
		f.dbg.answers[i] = bytes.Clone(buf.Bytes())
	}
	if err == nil && status == http.StatusOK {
		resp = new(openrtb2.BidResponse)
		var bids bool
		if bids, err = dsp.Decode(buf.Bytes(), f.reqID, resp); !bids {
			resp = nil
		}
	}
	if buf != nil {
		putBuf(buf)
	}
	ended := time.Now()
	latency := ended.Sub(start)

	res, retryAfter := health.ResultOf(err)
	d.rt.breaker.Report(&health.Outcome{
		Result: res, RetryAfter: retryAfter,
		Timeout: d.timeout, Planned: f.start, Started: start, Deadline: deadline, Ended: ended,
	})
	kind := dsp.KindOf(err)

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
	c.ans = callAnswer{status: status, err: err, latency: latency, resp: resp}
}

// maxLateGrace bounds how long a DSP's late answer is still awaited (see post).
const maxLateGrace = time.Second

// post sends body to a DSP and waits for its answer until ctx ends; buf holds the answer
// (nil when ctx ended first). The HTTP request itself runs on past ctx's deadline, for as
// long again as the DSP's timeout (at most maxLateGrace), on its own goroutine: a request
// canceled before its answer closes its connection, and under load the timeouts then
// become a stream of new connections (hundreds a second at 1,500 auctions/s against the
// simulated DSPs), whose set-up costs both sides more CPU than reading the late answers
// does. The late answer is read and dropped, and the connection goes back to the pool.
// Close waits for these requests too (g.calls).
func (g *Gateway) post(ctx context.Context, endpoint string, timeout time.Duration, body []byte) (int, *bytes.Buffer, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		buf := getBuf()
		status, err := g.transport.Post(ctx, endpoint, body, buf)
		return status, buf, err
	}
	type answer struct {
		status int
		buf    *bytes.Buffer
		err    error
	}
	done := make(chan answer, 1) // the request's goroutine never blocks on it
	hctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline.Add(min(timeout, maxLateGrace)))
	g.calls.Add(1)
	go func() {
		defer g.calls.Done()
		defer cancel()
		a := answer{buf: getBuf()}
		defer func() {
			if p := recover(); p != nil {
				a.status, a.err = 0, fmt.Errorf("panic in DSP transport: %v", p)
			}
			done <- a
		}()
		a.status, a.err = g.transport.Post(hctx, endpoint, body, a.buf)
	}()
	select {
	case a := <-done:
		if a.err != nil && ctx.Err() != nil { // it ended with ctx: ctx's reason
			a.err = ctxError(ctx)
		}
		return a.status, a.buf, a.err
	case <-ctx.Done():
		return 0, nil, ctxError(ctx)
	}
}

// ctxError is the DSP error of a call whose context ended: a timeout at its deadline, a
// cancellation otherwise.
func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &dsp.Error{Kind: dsp.KindTimeout, Err: ctx.Err()}
	}
	return &dsp.Error{Kind: dsp.KindCanceled, Err: ctx.Err()}
}

// collect waits for the calls' reports until all are in or ctx ends (the deadline), and
// marks each call that reported in time answered.
func (f *fanout) collect(ctx context.Context) {
	for got := 0; got < f.sent; got++ {
		select {
		case i := <-f.results:
			f.calls[i].state = callAnswered
		case <-ctx.Done():
			for { // take what is already there, then stop waiting
				select {
				case i := <-f.results:
					f.calls[i].state = callAnswered
				default:
					return
				}
			}
		}
	}
}
