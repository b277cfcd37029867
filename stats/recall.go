package stats

// RecallEstimate is the live recall estimate of filtering, B_sent / (B_sent + B_explored /
// exploration_rate), with its 95% interval. bidsSent are the bids on requests sent on their
// score, bidsExplored those on requests below the threshold sent anyway by the exploration
// draw. Each explored bid stands for 1/propensity bids of the filtered traffic, so
// exploredWeight (their sum of 1/propensity) replaces B_explored / exploration_rate and
// stays right across changes of the rate; 0 means unknown, and rate scales them instead.
// The explored bids are a Poisson count (Byar's approximation of the exact Garwood
// bounds); with none yet, the upper bound of the count is scaled by 1/rate (the rate in
// force), so the estimate is 1 with a lower bound that still allows some misses.
//
// It is nil when it cannot be estimated: no bid, no exploration (rate 0 and no weight), or
// a negative count.
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
	lo, hi := Poisson95(e)
	return &Interval{Estimate: recall(e), Lower: recall(hi), Upper: recall(lo)}
}

// ShadowRecall is the live recall measured in shadow mode: of the bids on traffic sent in
// shadow mode, the share kept on requests the filter would have sent on their score, with
// its 95% Wilson interval. It is nil without bids.
func ShadowRecall(kept, bids int64) *Interval { return Wilson95(kept, bids) }
