package gateway

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/health"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/privacy"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// planInput is what the plan stage reads.
type planInput struct {
	st       *state
	req      *openrtb2.BidRequest // decoded and validated
	bids     *bidderList          // the imps' bidder lists: which DSPs each imp may be offered to
	start    time.Time            // arrival, real clock: the model's age, the admission windows
	now      time.Time            // arrival, the gateway's clock: the features
	deadline time.Time            // the auction's deadline: nothing is admitted once it has passed
}

// plan is the plan stage's output: one call per eligible DSP, each left withheld or
// admitted; the imps' features (for targeting, the model and the bid log: one row per imp,
// then, when the privacy rules removed some DSP's ids, one more per imp as that DSP sees
// it, see call.feat); the scorer's version, for the bid log.
type plan struct {
	calls []call
	feats []features.Raw
	model string

	priv     *privacy.Auction // the auction's privacy signals; nil when no rule applies (privacy.go)
	scrubbed []scrubbedReq    // the requests the privacy rules built, one per distinct action
	scrubBuf [4]scrubbedReq   // scrubbed's first backing array: no allocation for up to 4 actions
}

// plan decides, for every DSP, whether it is considered, scored and sent, in four steps:
// eligibility, one scoring batch, the shaping decisions, then admission by the QPS cap
// and the breaker.
func (g *Gateway) plan(ctx context.Context, in *planInput, p *plan) {
	st := in.st
	p.model = st.version
	if pol := st.privacy; pol != nil && !pol.Inert(in.req) {
		p.priv = pol.Parse(in.req)
		p.scrubbed = p.scrubBuf[:0]
	}
	// Features once per imp, for targeting, the model and the bid log.
	p.feats = make([]features.Raw, len(in.req.Imp))
	for i := range in.req.Imp {
		p.feats[i] = features.Extract(in.req, &in.req.Imp[i], in.now, st.conv)
	}
	wanted := p.eligible(in)
	fail := failNone
	if wanted {
		fail = g.scoreCalls(ctx, in, p)
	}
	noTime := time.Until(in.deadline) <= 0
	for i := range p.calls {
		c := &p.calls[i]
		if c.state == callPlanned {
			g.decideCall(ctx, in, c, fail)
			switch {
			case !c.verdict.decision.sends():
				c.state = callFiltered
			case noTime:
				c.state = callNoTime
			default:
				c.state = admitCall(c, in.start)
			}
		}
		if dec := c.decision(); dec != DecisionNone {
			g.m.dspDecisions.Add(ctx, 1, c.d.m.decisions[dec]...)
		}
		if p.priv != nil {
			g.countPrivacy(ctx, c)
		}
		switch c.state {
		case callThrottled:
			g.m.dspThrottled.Add(ctx, 1, c.d.m.throttled[throttledQPSLimit]...)
		case callRateLimited:
			g.m.dspThrottled.Add(ctx, 1, c.d.m.throttled[throttledRateLimited]...)
		}
	}
}

// eligible makes the calls: one per DSP that is enabled and whose targeting matches the
// request (its features' channel and country) and at least one of the imps the bidder
// lists let it be offered (those imps are the ones it is offered; a DSP offered none is
// not considered, and has no bid-log row). The privacy rules then decide what the DSP
// may receive: nothing (privacy_blocked, not scored, its health not asked) or the
// request scrubbed for it (privacyCall). Each call then asks the DSP's health
// (dsp/health) once: a DSP whose breaker is open is withheld at once (breaker_open) unless
// the call is in its trial share, and one backing off after a 429 is withheld (throttled)
// beyond its send share; a withheld call is not scored. It reports whether some call
// wants a score.
func (p *plan) eligible(in *planInput) (wanted bool) {
	req := in.req
	all := fullSet(len(req.Imp))
	p.calls = make([]call, 0, len(in.st.dsps))
	for _, d := range in.st.dsps {
		if !d.enabled || !d.target.matchesRequest(&p.feats[0]) {
			continue
		}
		set := in.bids.offered(d.idx, all)
		if !d.target.anyFormat {
			for i := range req.Imp {
				if set.has(i) && !d.target.matchesImp(&req.Imp[i]) {
					set.del(i)
				}
			}
		}
		if set.empty() {
			continue
		}
		c := call{d: d, imps: set}
		if p.privacyCall(req, p.priv, &c); c.state == callPrivacy {
			p.calls = append(p.calls, c)
			continue
		}
		switch d.rt.breaker.Allow() {
		case health.Refused:
			c.state = callBreakerOpen
		case health.Limited:
			c.state = callRateLimited
		}
		p.calls = append(p.calls, c)
		wanted = wanted || c.wantsScore()
	}
	return wanted
}

// wantsScore reports whether the call's decision needs the model: the DSP is eligible
// (not withheld yet) and shapes its traffic (filter or shadow mode).
func (c *call) wantsScore() bool {
	return c.state == callPlanned && c.d.shaping.Mode != config.ModeOff
}

// scoreCalls scores the calls that want a score, unless the auction fails open (no model,
// a model too old or failing), which it counts and returns.
func (g *Gateway) scoreCalls(ctx context.Context, in *planInput, p *plan) failReason {
	st := in.st
	var err error
	fail := failNone
	switch {
	case !st.scoring:
		fail = failNoModel
	case st.model != nil && st.cfg.Model.MaxAge > 0 && in.start.Sub(st.model.Meta.CreatedAt) > st.cfg.Model.MaxAge:
		fail = failModelStale
	default:
		if err = g.score(ctx, in.req, p, st.scorer); err != nil {
			fail = failModelError
		}
	}
	if fail != failNone {
		g.failOpen(ctx, fail, st, err)
	}
	return fail
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
func (g *Gateway) score(ctx context.Context, req *openrtb2.BidRequest, p *plan, s Scorer) (err error) {
	b := scorePool.Get().(*scoreBuf)
	defer func() {
		b.in = ScoreInput{Pairs: b.in.Pairs[:0]}
		scorePool.Put(b)
	}()
	b.in.Request, b.in.Features = req, p.feats
	pairs := b.in.Pairs[:0]
	for i := range p.calls {
		if c := &p.calls[i]; c.wantsScore() {
			for imp := range req.Imp {
				if c.imps.has(imp) {
					pairs = append(pairs, Pair{Imp: c.feat + imp, DSP: c.d.name})
				}
			}
		}
	}
	b.in.Pairs = pairs
	if cap(b.p) < len(pairs) {
		b.p = make([]float64, len(pairs))
	}
	scores := b.p[:len(pairs)]
	start := time.Now()
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("scorer panicked: %v", v)
			}
		}()
		err = s.Score(ctx, &b.in, scores)
	}()
	g.m.predictor.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		g.m.scorerErrors.Add(ctx, 1)
		return err
	}
	k := 0
	for i := range p.calls {
		c := &p.calls[i]
		if !c.wantsScore() {
			continue
		}
		n := 0
		for imp := range req.Imp {
			if c.imps.has(imp) {
				n++
			}
		}
		if sc := requestScore(scores[k : k+n]); !math.IsNaN(sc) { // a call's pairs are contiguous
			c.score, c.scored = sc, true
		}
		k += n
	}
	return nil
}

// decideDrawn is decide with the pair's exploration draw, made only where it decides (a
// scored pair below the threshold of a DSP that explores): the rule of an auction and of
// an offline replay (ReplayDSP) alike.
func decideDrawn(d *dspState, exploreSeed uint64, requestID string, fail failReason, scored bool, score float64) verdict {
	u := 1.0
	if scored && !(score >= d.threshold) && d.shaping.ExplorationRate > 0 {
		u = exploreDraw(exploreSeed, requestID, d.name)
	}
	return decide(d, fail, scored, score, u)
}

// decideCall makes the shaping decision of a call (decide), with the exploration draw
// where it decides, and counts what shadow mode would have done and why a DSP went
// unfiltered.
func (g *Gateway) decideCall(ctx context.Context, in *planInput, c *call, fail failReason) {
	d := c.d
	c.verdict = decideDrawn(d, in.st.explore, in.req.ID, fail, c.scored, c.score)
	if v := &c.verdict; v.unfiltered == unfilteredNone && in.st.shadowsOnDrift(d) {
		switch v.decision {
		case DecisionSent, DecisionFiltered, DecisionExplored: // the filter's decisions
			v.would, v.decision, v.propensity = v.decision, DecisionShadow, 1
		}
	}
	if w := c.verdict.would; w != DecisionNone {
		g.m.dspShadow.Add(ctx, 1, d.m.decisions[w]...)
	}
	if why := c.verdict.unfiltered; why != unfilteredNone {
		g.m.dspUnfiltered.Add(ctx, 1, d.m.unfiltered[why]...)
	}
}
