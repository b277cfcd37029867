package gateway

import (
	"fmt"
	"math"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
)

// TestReplayDSP checks the offline rule against the gateway's: the threshold a model load
// sets, sent at or above it, below it explored by the pair's own draw at the rate or
// filtered, and everything sent for a DSP the model does not know.
func TestReplayDSP(t *testing.T) {
	cal := &modelfile.DSP{Name: "alpha", OK: true, Target: 0.95, Threshold: 0.2,
		Curve: []modelfile.CurvePoint{{Threshold: 0.1, Recall: 0.99, RecallLower: 0.98}, {Threshold: 0.2, Recall: 0.96, RecallLower: 0.95}, {Threshold: 0.3, Recall: 0.9, RecallLower: 0.89}}}
	sh := config.DSPShaping{Mode: config.ModeFilter, RecallTarget: 0.95, ExplorationRate: 0.25}
	r := NewReplayDSP("alpha", sh, cal, 9)
	if th, ok := r.Threshold(); !ok || th != 0.2 {
		t.Fatalf("threshold %v %v, want 0.2", th, ok)
	}
	if d, p, th := r.Decide("r1", true, 0.2); d != bidlog.DecisionSent || p != 1 || th != 0.2 {
		t.Errorf("at the threshold: %s %v %v", d, p, th)
	}
	explored := 0
	const n = 4000
	for i := range n {
		id := fmt.Sprint("req", i)
		d, p, _ := r.Decide(id, true, 0.1)
		want := bidlog.DecisionFiltered
		if exploreDraw(9, id, "alpha") < 0.25 {
			want = bidlog.DecisionExplored
			explored++
		}
		if d != want || p != 0.25 {
			t.Fatalf("%s below the threshold: %s %v, want %s 0.25", id, d, p, want)
		}
	}
	if share := float64(explored) / n; math.Abs(share-0.25) > 4*math.Sqrt(0.25*0.75/n) {
		t.Errorf("explored share %v, want 0.25", share)
	}
	if d, p, _ := NewReplayDSP("zulu", sh, nil, 9).Decide("r1", false, 0); d != bidlog.DecisionSent || p != 1 {
		t.Errorf("unknown DSP: %s %v", d, p)
	}
	low := &modelfile.DSP{Name: "bravo", OK: false, Reason: "too few bids"}
	if _, ok := NewReplayDSP("bravo", sh, low, 9).Threshold(); ok {
		t.Error("a DSP without a threshold has one")
	}
}
