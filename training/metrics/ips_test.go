package metrics

import (
	"math"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
)

// Inverse-propensity weights: an explored row stands for 1/propensity rows of the traffic
// the filter withheld; a row sent on its score stands for itself.
func TestRowWeightIPS(t *testing.T) {
	for _, tc := range []struct {
		decision   string
		propensity float64
		want       float64
	}{
		{bidlog.DecisionExplored, 0.05, 20},
		{bidlog.DecisionExplored, 0.5, 2},
		{bidlog.DecisionExplored, 1, 1},
		{bidlog.DecisionExplored, 0, 1}, // unknown propensity: no weight rather than infinity
		{bidlog.DecisionSent, 1, 1},
		{bidlog.DecisionSent, 0.3, 1}, // sent on its score: propensity is the gateway's, not a draw
		{bidlog.DecisionShadow, 1, 1},
	} {
		r := bidlog.Row{Decision: tc.decision, Propensity: tc.propensity}
		if got := RowWeight(&r); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s propensity %v: weight %v, want %v", tc.decision, tc.propensity, got, tc.want)
		}
	}
}

// The weighted estimate: 20 bids sent above the threshold and one explored bid below it
// at propensity 0.05 give recall 20 / (20 + 20) = 0.5, and the explored row's weight moves
// the filtered share the same way. Unweighted, the recall would read 20/21.
func TestIPSEstimate(t *testing.T) {
	var rows []Scored
	for i := 0; i < 20; i++ {
		rows = append(rows, Scored{Score: 0.9, Weight: 1, Bid: true})
	}
	explored := bidlog.Row{Decision: bidlog.DecisionExplored, Propensity: 0.05, Outcome: bidlog.OutcomeBid}
	rows = append(rows, Scored{Score: 0.1, Weight: RowWeight(&explored), Bid: true})
	s := Sort(rows)
	if got := s.Recall(0.5); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("weighted recall %v, want 0.5", got)
	}
	if got := s.FilteredShare(0.5); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("weighted filtered share %v, want 0.5 (the explored row stands for 20)", got)
	}
	if s.NumBids() != 21 || s.Bids() != 40 {
		t.Errorf("bids: %d rows weighing %v, want 21 weighing 40", s.NumBids(), s.Bids())
	}
	// Kish: (20 + 20)^2 / (20 + 400) = 3.8 effective bids, far fewer than 21.
	if got := s.EffectiveBids(); math.Abs(got-1600.0/420) > 1e-9 {
		t.Errorf("effective bids %v, want %v", got, 1600.0/420)
	}
}
