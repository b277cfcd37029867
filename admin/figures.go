package admin

import (
	"time"

	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
)

// Figures gives the live traffic figures of each DSP (the gateway implements it).
type Figures interface {
	// DSPFigures returns the figures of every DSP by name. It must be cheap and safe to
	// call concurrently: the page asks every few seconds.
	DSPFigures() map[string]LiveFigures
}

// Models gives the model in force (the gateway implements it).
type Models interface {
	// Model returns the model file in force, or nil when none is loaded. The caller does
	// not modify it.
	Model() *modelfile.File
}

// LiveFigures are one DSP's traffic counts over Window (0: since the gateway started).
// Counts are requests, except the bid counts.
type LiveFigures struct {
	Window    time.Duration
	Offered   int64 // requests considered for the DSP (eligible or not)
	Sent      int64 // sent because the score reached the threshold (or unfiltered: shadow, off, fail-open)
	Filtered  int64 // withheld by the model
	Explored  int64 // below the threshold but sent anyway (exploration)
	Throttled int64 // withheld by the QPS cap
	Bids      int64 // bids received, from sent and explored requests

	// For the live recall estimate: bids on requests sent on their score, and bids on
	// explored requests, with the exploration rate in force while they were counted.
	BidsSent        int64
	BidsExplored    int64
	ExplorationRate float64

	// Recall, when set, is the gateway's own live recall estimate and replaces the one
	// computed here from the counts above.
	Recall *Interval
}

// Interval is an estimate with its 95% confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
}

// liveView is LiveFigures as the API shows them.
type liveView struct {
	WindowSeconds float64   `json:"window_seconds"` // 0: since the gateway started
	Offered       int64     `json:"offered"`
	Sent          int64     `json:"sent"`
	Filtered      int64     `json:"filtered"`
	Explored      int64     `json:"explored"`
	Throttled     int64     `json:"throttled"`
	Bids          int64     `json:"bids"`
	Recall        *Interval `json:"recall"`   // null: not enough to estimate (no exploration, no bids)
	Withheld      float64   `json:"withheld"` // share of offered requests withheld by the model
}

func viewLive(f LiveFigures) liveView {
	v := liveView{
		WindowSeconds: f.Window.Seconds(),
		Offered:       f.Offered, Sent: f.Sent, Filtered: f.Filtered, Explored: f.Explored,
		Throttled: f.Throttled, Bids: f.Bids,
		Recall: f.Recall,
	}
	if v.Recall == nil {
		v.Recall = RecallEstimate(f.BidsSent, f.BidsExplored, f.ExplorationRate)
	}
	if f.Offered > 0 {
		v.Withheld = float64(f.Filtered) / float64(f.Offered)
	}
	return v
}

// RecallEstimate is DESIGN.md's live recall estimate, B_sent / (B_sent + B_explored /
// exploration_rate), with a 95% interval: the explored bids are a Poisson count (Byar's
// approximation of the exact Garwood bounds), scaled by 1/exploration_rate into the bids
// that filtering lost. It is nil when it cannot be estimated: no exploration, or no bid.
func RecallEstimate(bidsSent, bidsExplored int64, explorationRate float64) *Interval {
	if !(explorationRate > 0) || bidsSent+bidsExplored == 0 || bidsSent < 0 || bidsExplored < 0 {
		return nil
	}
	s, e, r := float64(bidsSent), float64(bidsExplored), explorationRate
	recall := func(explored float64) float64 {
		if s == 0 {
			return 0
		}
		return s / (s + explored/r)
	}
	lo, hi := stats.Poisson95(e)
	return &Interval{Estimate: recall(e), Lower: recall(hi), Upper: recall(lo)}
}
