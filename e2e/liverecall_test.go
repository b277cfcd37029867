package e2e

import (
	"math"
	"testing"
)

func TestReportLiveRecall(t *testing.T) {
	// 950 bids sent, 10 explored at 0.2: 950 / (950 + 10/0.2), inside its interval.
	var d DSPReport
	d.finish(nil, 950, 10, 0.2)
	if math.Abs(d.LiveRecall-0.95) > 1e-12 || !(d.LiveLower > 0.88 && d.LiveLower < 0.95 && d.LiveUpper > 0.95 && d.LiveUpper < 0.99) {
		t.Errorf("live recall %v [%v, %v], want 0.95 inside its interval", d.LiveRecall, d.LiveLower, d.LiveUpper)
	}
	// Without exploration (the overall row) or without bids there is none.
	for _, c := range []struct {
		sent, explored int64
		rate           float64
	}{{950, 10, 0}, {0, 0, 0.2}} {
		var d DSPReport
		d.finish(nil, c.sent, c.explored, c.rate)
		if d.LiveRecall != 0 || d.LiveLower != 0 || d.LiveUpper != 0 {
			t.Errorf("%+v: live recall %v [%v, %v], want none", c, d.LiveRecall, d.LiveLower, d.LiveUpper)
		}
	}
}
