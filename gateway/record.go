package gateway

import (
	"context"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/gateway/auction"
)

// record is the last stage, after the answer, off the publisher's path: the win and loss
// notices (only when the publisher got the answer: delivered), the live figures, and the
// bid-log rows. It reads what every stage made of the auction.
func (g *Gateway) record(r *run, delivered bool) {
	if delivered {
		g.notices(&r.set)
	}
	g.account(r.now, r.st.version, &r.set)
	if g.sink != nil {
		g.sink.Log(r.rows())
	}
}

// account adds the auction, at its arrival on the gateway's clock (Options.Now), to each
// DSP's live figures, counts its bids by decision, and gives the bids of requests the
// filter judged (sent on their score, or explored) to the drift guard under the model
// version in force.
func (g *Gateway) account(now time.Time, version string, s *settlement) {
	ctx := context.Background()
	var stack [16]int64
	bids := stack[:0]
	if len(s.calls) > len(stack) {
		bids = make([]int64, 0, len(s.calls))
	}
	bids = bids[:len(s.calls)]
	clear(bids)
	for k, o := range s.res.Outcomes {
		if o.Status == auction.Won || o.Status == auction.Lost {
			bids[s.refs[k].call]++
		}
	}
	for i := range s.calls {
		c := &s.calls[i]
		v, b, dec := &c.verdict, bids[i], c.decision()
		fc := figCounts{offered: 1, bids: b}
		switch dec {
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
		case DecisionPrivacyBlocked:
			fc.privacy = 1
		}
		c.d.rt.fig.add(now, &fc)
		if b > 0 {
			g.m.dspDecisionBids.Add(ctx, b, c.d.m.decisions[dec]...)
			if c.d.shaping.Mode == config.ModeFilter && v.unfiltered == unfilteredNone &&
				(dec == DecisionSent || dec == DecisionExplored) {
				c.d.rt.drift.bid(version, dec == DecisionExplored, b, c.d.shaping.ExplorationRate, c.d.shaping.RecallTarget)
			}
		}
	}
}

// notices fires the winners' nurl and the losers' lurl with their loss code.
func (g *Gateway) notices(s *settlement) {
	n := g.notifier
	for _, w := range s.res.Wins {
		c, sb, b := s.bidOf(w.Bid)
		if b.NURL != "" {
			m := s.macros(c, sb, b, w.Charge, 0)
			n.Send(dsp.NoticeWin, auction.Expand(b.NURL, &m, true), c.d.noticeHosts)
		}
	}
	for k, o := range s.res.Outcomes {
		if o.LossCode == 0 {
			continue
		}
		c, sb, b := s.bidOf(k)
		if b.LURL == "" {
			continue
		}
		var price auction.Micros // the imp's clearing price, when it sold
		for _, w := range s.res.Wins {
			if w.Imp == o.Imp {
				price = w.Clear
			}
		}
		m := s.macros(c, sb, b, price, o.LossCode)
		n.Send(dsp.NoticeLoss, auction.Expand(b.LURL, &m, true), c.d.noticeHosts)
	}
}

// rows builds the bid-log rows: one per (imp, DSP) considered.
func (r *run) rows() []bidlog.Row {
	st, s := r.st, &r.set
	base := st.cfg.Currency.Base
	toBase := func(m auction.Micros) float64 {
		v, ok := st.rates.Convert(m, r.areq.Currency, base)
		if !ok {
			return 0
		}
		return v.Float()
	}
	var rows []bidlog.Row
	ts := r.now.UnixMilli()
	for i := range s.calls {
		c := &s.calls[i]
		outcome := c.outcome()
		for imp := range r.req.Imp {
			if !c.imps.has(imp) {
				continue
			}
			row := bidlog.Row{
				TS: ts, RequestID: r.req.ID, ImpID: r.req.Imp[imp].ID, DSP: c.d.name,
				Decision: c.decision().String(), Propensity: c.verdict.propensity, Score: c.score,
				Threshold: c.verdict.threshold, ModelVersion: r.plan.model, Outcome: outcome,
			}
			if r.plan.feats != nil {
				row.SetFeatures(&r.plan.feats[c.feat+imp]) // what the DSP was sent (call.feat)
			}
			if c.answered() {
				row.LatencyMS = float64(c.ans.latency.Microseconds()) / 1000
			}
			for k, o := range s.res.Outcomes {
				if s.refs[k].call != i || o.Imp != imp || o.Status == auction.Rejected {
					continue
				}
				if bid := toBase(o.Price); row.Outcome != bidlog.OutcomeBid || bid > row.BidCPM {
					row.Outcome, row.BidCPM = bidlog.OutcomeBid, bid
				}
				if o.Status == auction.Won {
					row.Won = true
					for _, w := range s.res.Wins {
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
