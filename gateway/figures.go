package gateway

import (
	"math"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/stats"
)

// Live figures: per DSP, what the gateway did with the requests it considered over the
// last FiguresWindow, for the admin page and the live-recall and withheld-share gauges.
const (
	figSlot = time.Minute
	// FiguresWindow is the span of the live figures: the last 15 minutes (up to one more
	// slot while the current minute fills), or since the start when that is shorter.
	FiguresWindow = 15 * figSlot
	figSlots      = int(FiguresWindow/figSlot) + 1
)

// DSPFigures are one DSP's live figures over Window. Counts are requests, except the bid
// counts (valid bids received).
type DSPFigures struct {
	Window    time.Duration
	Offered   int64 // requests considered for the DSP (its breaker open or not)
	Sent      int64 // sent on their score, or unfiltered (no threshold, shadow, off, fail-open)
	Filtered  int64 // withheld by the model
	Explored  int64 // below the threshold, sent anyway by the exploration draw
	Throttled int64 // withheld by the QPS cap
	Bids      int64
	// BidsSent are the bids on requests sent (not explored); BidsExplored those on
	// explored requests, and ExploredWeight their sum of 1/propensity (the bids that the
	// filtered requests are estimated to have held).
	BidsSent       int64
	BidsExplored   int64
	ExploredWeight float64
	// ExplorationRate is the rate in force now.
	ExplorationRate float64
	// Recall is the live recall estimate with its 95% interval (see RecallEstimate); nil
	// when it cannot be estimated.
	Recall *Interval
	// Withheld is the share of offered requests withheld by the model (Filtered/Offered).
	Withheld float64
}

// Interval is an estimate with its 95% confidence interval.
type Interval struct {
	Estimate, Lower, Upper float64
}

// figCounts are the counts of one slot (or of a whole window).
type figCounts struct {
	offered, sent, filtered, explored, throttled int64
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
	c.bids += o.bids
	c.bidsSent += o.bidsSent
	c.bidsExplored += o.bidsExplored
	c.exploredWeight += o.exploredWeight
	c.shadowBids += o.shadowBids
	c.shadowKept += o.shadowKept
}

// figures is one DSP's ring of one-minute slots; it outlives reloads with the DSP's runtime.
type figures struct {
	mu    sync.Mutex
	first time.Time
	slots [figSlots]struct {
		minute int64
		c      figCounts
	}
}

// add adds one auction's counts at time now.
func (f *figures) add(now time.Time, c *figCounts) {
	m := now.Unix() / int64(figSlot/time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first.IsZero() {
		f.first = now
	}
	s := &f.slots[int(m%int64(figSlots))]
	if s.minute != m {
		s.minute, s.c = m, figCounts{}
	}
	s.c.add(c)
}

// window sums the slots of the last FiguresWindow at time now and says how long they span.
func (f *figures) window(now time.Time) (figCounts, time.Duration) {
	m := now.Unix() / int64(figSlot/time.Second)
	var sum figCounts
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.slots {
		if s := &f.slots[i]; s.minute > m-int64(figSlots) && s.minute <= m {
			sum.add(&s.c)
		}
	}
	span := FiguresWindow
	if f.first.IsZero() {
		span = 0
	} else if d := now.Sub(f.first); d < span {
		span = d
	}
	return sum, span
}

// recall is the live recall estimate of the counts: from the filter mode's counts when
// they hold more bids than the shadow mode's, from the shadow mode's otherwise.
func (c *figCounts) recall(rate float64) *Interval {
	if c.shadowBids > c.bidsSent+c.bidsExplored {
		return shadowRecall(c.shadowKept, c.shadowBids)
	}
	if c.filtered+c.explored == 0 && c.bidsSent > 0 {
		return &Interval{Estimate: 1, Lower: 1, Upper: 1} // nothing was withheld
	}
	return RecallEstimate(c.bidsSent, c.bidsExplored, c.exploredWeight, rate)
}

// RecallEstimate is DESIGN.md's live recall estimate, B_sent / (B_sent + B_explored /
// exploration_rate), with a 95% interval. The explored bids are a Poisson count (Byar's
// approximation of the exact Garwood bounds); each stands for 1/propensity bids of the
// filtered traffic, so exploredWeight (their sum of 1/propensity) replaces B_explored /
// exploration_rate and stays right across changes of the rate. With no explored bid the
// upper bound of the count is scaled by 1/rate (the rate in force). It is nil when it
// cannot be estimated: no bid, or no exploration.
func RecallEstimate(bidsSent, bidsExplored int64, exploredWeight, rate float64) *Interval {
	if bidsSent < 0 || bidsExplored < 0 || bidsSent+bidsExplored == 0 {
		return nil
	}
	var scale float64 // filtered-traffic bids per explored bid
	switch {
	case bidsExplored > 0 && exploredWeight > 0:
		scale = exploredWeight / float64(bidsExplored)
	case rate > 0:
		scale = 1 / rate
	default:
		return nil
	}
	s, e := float64(bidsSent), float64(bidsExplored)
	recall := func(explored float64) float64 {
		if s == 0 {
			return 0
		}
		return s / (s + explored*scale)
	}
	lo, hi := stats.Poisson95(e)
	return &Interval{Estimate: recall(e), Lower: recall(hi), Upper: recall(lo)}
}

// shadowRecall is the share of bids that the filter would have kept, measured on traffic
// sent in shadow mode, with its 95% Wilson interval.
func shadowRecall(kept, bids int64) *Interval {
	if bids <= 0 {
		return nil
	}
	const z = stats.Z95
	n, p := float64(bids), float64(kept)/float64(bids)
	den := 1 + z*z/n
	mid := (p + z*z/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / den
	return &Interval{Estimate: p, Lower: max(mid-half, 0), Upper: min(mid+half, 1)}
}

// Figures returns the live figures of every DSP in force, by name. It is cheap and safe
// for concurrent use.
func (g *Gateway) Figures() map[string]DSPFigures {
	st := g.state.Load()
	now := time.Now()
	out := make(map[string]DSPFigures, len(st.dsps))
	for _, d := range st.dsps {
		out[d.name] = d.figures(now)
	}
	return out
}

func (d *dspState) figures(now time.Time) DSPFigures {
	c, span := d.rt.fig.window(now)
	f := DSPFigures{
		Window: span, Offered: c.offered, Sent: c.sent, Filtered: c.filtered, Explored: c.explored,
		Throttled: c.throttled, Bids: c.bids, BidsSent: c.bidsSent, BidsExplored: c.bidsExplored,
		ExploredWeight: c.exploredWeight, ExplorationRate: d.shaping.ExplorationRate,
		Recall: c.recall(d.shaping.ExplorationRate),
	}
	if c.offered > 0 {
		f.Withheld = float64(c.filtered) / float64(c.offered)
	}
	return f
}
