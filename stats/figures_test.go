package stats

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFiguresRecall(t *testing.T) {
	for _, c := range []struct {
		name         string
		f            Figures
		none         bool
		est          float64
		lower, upper [2]float64
	}{
		{name: "filtering with exploration: B_sent / (B_sent + weight)",
			f:   Figures{Offered: 1000, Sent: 500, Filtered: 480, Explored: 20, Bids: 105, BidsSent: 100, BidsExplored: 5, ExploredWeight: 20, ExplorationRate: 0.04},
			est: 100.0 / 120, lower: [2]float64{0.6, 100.0 / 120}, upper: [2]float64{100.0 / 120, 0.95}},
		{name: "no explored bids yet: the rate in force bounds the misses",
			f:   Figures{Offered: 1000, Sent: 500, Filtered: 490, Explored: 10, Bids: 100, BidsSent: 100, ExplorationRate: 0.02},
			est: 1, lower: [2]float64{0.2, 0.99}, upper: [2]float64{1, 1}},
		{name: "nothing below the threshold: exactly 1",
			f:   Figures{Offered: 100, Sent: 100, Bids: 7, BidsSent: 7, ExplorationRate: 0.02},
			est: 1, lower: [2]float64{1, 1}, upper: [2]float64{1, 1}},
		{name: "no bids at all",
			f:    Figures{Offered: 100, Sent: 90, Filtered: 8, Explored: 2, ExplorationRate: 0.02},
			none: true},
		{name: "nothing offered",
			f:    Figures{ExplorationRate: 0.02},
			none: true},
		{name: "filtering without exploration",
			f:    Figures{Offered: 100, Sent: 50, Filtered: 50, Bids: 20, BidsSent: 20},
			none: true},
		{name: "shadow: the share of bids the filter would have kept, measured",
			f:   Figures{Offered: 200, Sent: 200, Bids: 100, ShadowBids: 100, ShadowKept: 95, ExplorationRate: 0.02},
			est: 0.95, lower: [2]float64{0.888, 0.889}, upper: [2]float64{0.978, 0.979}},
		{name: "shadow, the filter would have kept none",
			f:   Figures{Offered: 20, Sent: 20, Bids: 10, ShadowBids: 10},
			est: 0, lower: [2]float64{0, 0}, upper: [2]float64{0.277, 0.278}},
		{name: "a switch from shadow to filter: the mode with more bids counts",
			f: Figures{Offered: 2000, Sent: 1500, Filtered: 480, Explored: 20, Bids: 215, BidsSent: 100, BidsExplored: 5, ExploredWeight: 20,
				ShadowBids: 90, ShadowKept: 9, ExplorationRate: 0.04},
			est: 100.0 / 120, lower: [2]float64{0.6, 100.0 / 120}, upper: [2]float64{100.0 / 120, 0.95}},
		{name: "a switch from filter to shadow: the mode with more bids counts",
			f: Figures{Offered: 2000, Sent: 1500, Filtered: 480, Explored: 20, Bids: 215, BidsSent: 10, BidsExplored: 1, ExploredWeight: 20,
				ShadowBids: 100, ShadowKept: 95, ExplorationRate: 0.04},
			est: 0.95, lower: [2]float64{0.888, 0.889}, upper: [2]float64{0.978, 0.979}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkInterval(t, c.f.Recall(), c.none, c.est, c.lower, c.upper)
		})
	}
}

func TestFiguresWithheld(t *testing.T) {
	for _, c := range []struct {
		f    Figures
		want float64
	}{
		{Figures{Offered: 120000, Sent: 98000, Filtered: 18000, Explored: 360, Throttled: 3640}, 0.15},
		{Figures{Offered: 10, Sent: 10}, 0},
		{Figures{}, 0},
	} {
		if got := c.f.Withheld(); got != c.want {
			t.Errorf("%+v: withheld %v, want %v", c.f, got, c.want)
		}
	}
}

func TestFiguresJSON(t *testing.T) {
	// The admin API's names and units: the counts behind the estimate stay out.
	for _, c := range []struct {
		f    Figures
		want string
	}{
		{Figures{}, `{"window_seconds":0,"offered":0,"sent":0,"filtered":0,"explored":0,"throttled":0,"privacy":0,"bids":0,"drift":false,"drift_evidence":0,"recall":null,"withheld":0}`},
		{Figures{Window: 90 * time.Second, Offered: 8, Sent: 8, Bids: 3, BidsSent: 3, ExplorationRate: 0.02},
			`{"window_seconds":90,"offered":8,"sent":8,"filtered":0,"explored":0,"throttled":0,"privacy":0,"bids":3,"drift":false,"drift_evidence":0,"recall":{"estimate":1,"lower":1,"upper":1},"withheld":0}`},
		{Figures{Window: 15 * time.Minute, Offered: 5, Sent: 1, Filtered: 2, Throttled: 1, Privacy: 1, Bids: 2, BidsSent: 2, ExplorationRate: 0.5, DriftEvidence: 0.25},
			`{"window_seconds":900,"offered":5,"sent":1,"filtered":2,"explored":0,"throttled":1,"privacy":1,"bids":2,"drift":false,"drift_evidence":0.25,"recall":{"estimate":1,"lower":` +
				jsonFloat(t, RecallEstimate(2, 0, 0, 0.5).Lower) + `,"upper":1},"withheld":0.4}`},
	} {
		got, err := json.Marshal(c.f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.f, got, c.want)
		}
		// The same through a pointer (a map of figures, a field of a view).
		if p, err := json.Marshal(&c.f); err != nil || string(p) != c.want {
			t.Errorf("through a pointer: %s, %v", p, err)
		}
	}
}

func jsonFloat(t *testing.T, x float64) string {
	t.Helper()
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
