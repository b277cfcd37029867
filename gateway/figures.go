package gateway

import (
	"time"

	"github.com/bidsieve/bidsieve/stats"
)

// Live figures: per DSP, what the gateway did with the requests it considered over the
// last FiguresWindow of the gateway's clock (Options.Now: simulated time under
// `serve --clock`), for the admin page and the live-recall and withheld-share gauges.
const (
	figSlot = time.Minute
	// FiguresWindow is the span of the live figures: the last 15 minutes (up to one more
	// slot while the current minute fills), or since the start when that is shorter.
	FiguresWindow = 15 * figSlot
	figSlots      = int(FiguresWindow/figSlot) + 1
)

// figCounts are the counts of one slot (or of a whole window).
type figCounts struct {
	offered, sent, filtered, explored, throttled int64
	privacy                                      int64 // withheld by the privacy signals
	bids, bidsSent, bidsExplored                 int64
	exploredWeight                               float64 // sum of 1/propensity over explored bids
	// Shadow mode: bids on requests sent in shadow mode, and those among them that the
	// filter would have sent on their score.
	shadowBids, shadowKept int64
}

func (c *figCounts) add(o *figCounts) {
	c.offered += o.offered
	c.sent += o.sent
	c.filtered += o.filtered
	c.explored += o.explored
	c.throttled += o.throttled
	c.privacy += o.privacy
	c.bids += o.bids
	c.bidsSent += o.bidsSent
	c.bidsExplored += o.bidsExplored
	c.exploredWeight += o.exploredWeight
	c.shadowBids += o.shadowBids
	c.shadowKept += o.shadowKept
}

// figures is one DSP's ring of live counts; it outlives reloads with the DSP's runtime.
type figures struct {
	ring ring[figCounts]
}

// add adds one auction's counts at time now.
func (f *figures) add(now time.Time, c *figCounts) {
	f.ring.update(now, func(s *figCounts) { s.add(c) })
}

// window sums the slots of the last FiguresWindow at time now and says how long they span.
func (f *figures) window(now time.Time) (figCounts, time.Duration) {
	var sum figCounts
	span := f.ring.window(now, func(s *figCounts) { sum.add(s) })
	return sum, span
}

// Figures returns the live figures of every DSP in force, by name, over the last
// FiguresWindow. It is cheap and safe for concurrent use.
func (g *Gateway) Figures() map[string]stats.Figures {
	st := g.state.Load()
	now := g.now()
	out := make(map[string]stats.Figures, len(st.dsps))
	for _, d := range st.dsps {
		f := d.figures(now)
		f.Drift = d.rt.drift.active(st.version)
		f.DriftEvidence, _ = d.rt.drift.evidence(st.version, bidsPerDay(&f))
		out[d.name] = f
	}
	return out
}

func (d *dspState) figures(now time.Time) stats.Figures {
	c, span := d.rt.fig.window(now)
	return stats.Figures{
		Window: span, Offered: c.offered, Sent: c.sent, Filtered: c.filtered, Explored: c.explored,
		Throttled: c.throttled, Privacy: c.privacy, Bids: c.bids, BidsSent: c.bidsSent, BidsExplored: c.bidsExplored,
		ExploredWeight: c.exploredWeight, ShadowBids: c.shadowBids, ShadowKept: c.shadowKept,
		ExplorationRate: d.shaping.ExplorationRate,
	}
}
