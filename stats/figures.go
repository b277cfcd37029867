package stats

import (
	"encoding/json"
	"time"
)

// Figures are one DSP's live figures over Window: what the gateway did with the requests
// it considered for the DSP. Counts are requests, except the bid counts (valid bids
// received). The gateway produces them; [Figures.Recall] and [Figures.Withheld] derive the
// live recall estimate and the withheld share from the counts, so every reader shows the
// same figure.
//
// As JSON (the admin API) they are an object with window_seconds (0: since the gateway
// started), offered, sent, filtered, explored, throttled, privacy, bids, drift,
// drift_evidence, recall (an [Interval], or null when it cannot be estimated) and
// withheld; the counts behind the estimate are not shown.
type Figures struct {
	// Window is the span counted: the gateway's counting window, or since the start when
	// that is shorter.
	Window    time.Duration `json:"-"`
	Offered   int64         `json:"offered"`   // requests considered for the DSP (eligible or not)
	Sent      int64         `json:"sent"`      // sent on their score, or unfiltered (no threshold, shadow, off, fail-open)
	Filtered  int64         `json:"filtered"`  // withheld by the model
	Explored  int64         `json:"explored"`  // below the threshold, sent anyway by the exploration draw
	Throttled int64         `json:"throttled"` // withheld by the QPS cap
	Privacy   int64         `json:"privacy"`   // withheld by the publisher's privacy signals (decision privacy_blocked)
	Bids      int64         `json:"bids"`      // bids received, on sent and explored requests

	// BidsSent are the bids on requests sent (not explored, not shadow); BidsExplored
	// those on explored requests, and ExploredWeight their sum of 1/propensity (the bids
	// that the filtered requests are estimated to have held; 0: unknown, ExplorationRate
	// scales them instead).
	BidsSent       int64   `json:"-"`
	BidsExplored   int64   `json:"-"`
	ExploredWeight float64 `json:"-"`
	// ShadowBids are the bids on requests sent in shadow mode, ShadowKept those among them
	// that the filter would have sent on their score.
	ShadowBids int64 `json:"-"`
	ShadowKept int64 `json:"-"`
	// ExplorationRate is the rate in force now.
	ExplorationRate float64 `json:"-"`
	// Drift: the DSP's live recall interval has lain below its target for
	// shaping.drift_after under the model in force (the gateway's drift guard).
	Drift bool `json:"drift"`
	// DriftEvidence is the drift guard's CUSUM over its threshold under the model in
	// force: 0 with no sign of drift, 1 or more when the evidence suffices (the guard fires
	// once it has held for drift_after).
	DriftEvidence float64 `json:"drift_evidence"`
}

// Recall is the live recall estimate with its 95% interval, nil when it cannot be
// estimated. It is measured on shadow traffic ([ShadowRecall]) when shadow mode counted
// more bids than filtering did; it is exactly 1 when bids were received and nothing was
// below the threshold (no request filtered or explored); otherwise it is
// [RecallEstimate] of the bids sent and explored.
func (f *Figures) Recall() *Interval {
	if f.ShadowBids > f.BidsSent+f.BidsExplored {
		return ShadowRecall(f.ShadowKept, f.ShadowBids)
	}
	if f.Filtered+f.Explored == 0 && f.BidsSent > 0 {
		return &Interval{Estimate: 1, Lower: 1, Upper: 1}
	}
	return RecallEstimate(f.BidsSent, f.BidsExplored, f.ExploredWeight, f.ExplorationRate)
}

// Withheld is the share of offered requests withheld by the model (Filtered / Offered),
// 0 when none was offered.
func (f *Figures) Withheld() float64 {
	if f.Offered <= 0 {
		return 0
	}
	return float64(f.Filtered) / float64(f.Offered)
}

// MarshalJSON writes the figures as the admin API shows them (see [Figures]).
func (f Figures) MarshalJSON() ([]byte, error) {
	type counts Figures // the fields without the methods
	return json.Marshal(struct {
		WindowSeconds float64 `json:"window_seconds"`
		counts
		Recall   *Interval `json:"recall"`
		Withheld float64   `json:"withheld"`
	}{f.Window.Seconds(), counts(f), f.Recall(), f.Withheld()})
}
