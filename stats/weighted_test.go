package stats

import (
	"math"
	"testing"
)

func TestWilsonWeighted95(t *testing.T) {
	// Unit weights: the same interval as Wilson95.
	a, b := WilsonWeighted95(0.9, 200), Wilson95(180, 200)
	if math.Abs(a.Lower-b.Lower) > 1e-12 || math.Abs(a.Upper-b.Upper) > 1e-12 {
		t.Errorf("weighted %+v, counted %+v", a, b)
	}
	// Fewer effective trials: a wider interval.
	if c := WilsonWeighted95(0.9, 20); !(c.Lower < a.Lower && c.Upper > a.Upper) {
		t.Errorf("n=20 %+v not wider than n=200 %+v", c, a)
	}
	if WilsonWeighted95(0.5, 0) != nil || WilsonWeighted95(1.2, 10) != nil || WilsonWeighted95(math.NaN(), 10) != nil {
		t.Error("undefined input gave an interval")
	}
}
