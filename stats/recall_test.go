package stats

import (
	"math"
	"testing"
)

// within reports whether x lies in [r[0], r[1]].
func within(x float64, r [2]float64) bool { return x >= r[0] && x <= r[1] }

// checkInterval fails t unless got is nil exactly when want is, and otherwise has the
// estimate est (to 1e-12), its bounds in the ranges lower and upper, and
// Lower <= Estimate <= Upper.
func checkInterval(t *testing.T, got *Interval, none bool, est float64, lower, upper [2]float64) {
	t.Helper()
	if none {
		if got != nil {
			t.Fatalf("estimated %+v, want none", got)
		}
		return
	}
	if got == nil {
		t.Fatal("no estimate")
	}
	if math.Abs(got.Estimate-est) > 1e-12 {
		t.Errorf("estimate %v, want %v", got.Estimate, est)
	}
	if !within(got.Lower, lower) || !within(got.Upper, upper) {
		t.Errorf("interval [%v, %v], want the lower bound in %v and the upper in %v", got.Lower, got.Upper, lower, upper)
	}
	if !(got.Lower <= got.Estimate && got.Estimate <= got.Upper) {
		t.Errorf("%+v: the estimate is outside its interval", got)
	}
}

func TestRecallEstimate(t *testing.T) {
	// The bounds where the explored bids are at the exact Garwood 95% bounds of their
	// count: Byar's approximation lands within 0.002 of them.
	garwood := func(sent, lo, hi, rate float64) (lower, upper [2]float64) {
		l, u := sent/(sent+hi/rate), sent/(sent+lo/rate)
		return [2]float64{l - 0.002, l + 0.002}, [2]float64{u - 0.002, u + 0.002}
	}
	lo4, hi4 := garwood(5000, 1.0899, 10.2416, 0.02) // 4 explored bids: [1.0899, 10.2416]
	for _, c := range []struct {
		name           string
		sent, explored int64
		weight, rate   float64
		none           bool
		est            float64
		lower, upper   [2]float64
	}{
		{name: "950 sent, 10 explored at 0.2: 950 / (950 + 10/0.2)", sent: 950, explored: 10, weight: 50, rate: 0.2,
			est: 0.95, lower: [2]float64{0.88, 0.95}, upper: [2]float64{0.95, 0.99}},
		{name: "the weight, not the rate in force, scales explored bids (the rate changed)", sent: 950, explored: 10, weight: 100, rate: 0.2,
			est: 950.0 / 1050, lower: [2]float64{0, 950.0 / 1050}, upper: [2]float64{950.0 / 1050, 1}},
		{name: "the weight alone, with exploration off now", sent: 950, explored: 10, weight: 50, rate: 0,
			est: 0.95, lower: [2]float64{0.88, 0.95}, upper: [2]float64{0.95, 0.99}},
		{name: "no weight: explored bids scaled by 1/rate, against Garwood", sent: 5000, explored: 4, rate: 0.02,
			est: 5000.0 / 5200, lower: lo4, upper: hi4},
		{name: "a weight of B_explored/rate gives the same", sent: 5000, explored: 4, weight: 4 / 0.02, rate: 0.02,
			est: 5000.0 / 5200, lower: lo4, upper: hi4},
		{name: "no explored bid yet: 1, the lower bound from the count's upper bound at the rate in force", sent: 100, rate: 0.02,
			est: 1, lower: [2]float64{0.2, 0.99}, upper: [2]float64{1, 1}},
		{name: "no explored bid, more sent: the lower bound still allows some misses", sent: 1000, rate: 0.02,
			est: 1, lower: [2]float64{0.5, 0.9}, upper: [2]float64{1, 1}},
		{name: "bids on explored requests only: recall 0", explored: 3, weight: 150, rate: 0.02,
			est: 0, lower: [2]float64{0, 0}, upper: [2]float64{0, 0}},
		{name: "no bids at all", rate: 0.02, none: true},
		{name: "no bids, no exploration", none: true},
		{name: "no exploration and no explored bid", sent: 10, none: true},
		{name: "no exploration and explored bids without weight", sent: 10, explored: 2, none: true},
		{name: "negative sent count", sent: -1, explored: 2, weight: 100, rate: 0.02, none: true},
		{name: "negative explored count", sent: 10, explored: -1, rate: 0.02, none: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkInterval(t, RecallEstimate(c.sent, c.explored, c.weight, c.rate), c.none, c.est, c.lower, c.upper)
		})
	}
}

func TestWilson95(t *testing.T) {
	for _, c := range []struct {
		name         string
		k, n         int64
		none         bool
		est          float64
		lower, upper [2]float64
	}{
		// Wilson bounds to 3 decimals: 95/100 [0.888, 0.978], 50/100 [0.404, 0.596],
		// 0/10 [0, 0.278], 10/10 [0.722, 1].
		{name: "95 of 100", k: 95, n: 100, est: 0.95, lower: [2]float64{0.888, 0.889}, upper: [2]float64{0.978, 0.979}},
		{name: "half", k: 50, n: 100, est: 0.5, lower: [2]float64{0.403, 0.405}, upper: [2]float64{0.595, 0.597}},
		{name: "none of 10", k: 0, n: 10, est: 0, lower: [2]float64{0, 0}, upper: [2]float64{0.277, 0.278}},
		{name: "all of 10", k: 10, n: 10, est: 1, lower: [2]float64{0.722, 0.723}, upper: [2]float64{0.999, 1}},
		{name: "empty", k: 0, n: 0, none: true},
		{name: "negative n", k: 0, n: -3, none: true},
		{name: "negative k", k: -1, n: 10, none: true},
		{name: "k over n", k: 11, n: 10, none: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkInterval(t, Wilson95(c.k, c.n), c.none, c.est, c.lower, c.upper)
		})
	}
}

func TestShadowRecall(t *testing.T) {
	// 95 of 100 shadow bids on requests the filter would have sent.
	checkInterval(t, ShadowRecall(95, 100), false, 0.95, [2]float64{0.88, 0.95}, [2]float64{0.95, 0.985})
	checkInterval(t, ShadowRecall(0, 0), true, 0, [2]float64{}, [2]float64{})
}
