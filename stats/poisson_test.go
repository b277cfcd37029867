package stats

import (
	"math"
	"testing"
)

func TestPoisson95AgainstGarwood(t *testing.T) {
	// Exact Garwood 95% bounds; Byar's approximation is within a few percent of them
	// (and within 0.015 of the small lower bound at k = 1).
	for _, c := range []struct{ k, lo, hi float64 }{
		{0, 0, 3.6889},
		{1, 0.0253, 5.5716},
		{4, 1.0899, 10.2416},
		{10, 4.7954, 18.3904},
		{100, 81.3639, 121.6395},
	} {
		lo, hi := Poisson95(c.k)
		if math.Abs(lo-c.lo) > 0.03*c.lo+0.015 || math.Abs(hi-c.hi) > 0.03*c.hi {
			t.Errorf("k=%v: [%v, %v], want about [%v, %v]", c.k, lo, hi, c.lo, c.hi)
		}
		if c.k == 0 && lo != 0 {
			t.Errorf("k=0: lower bound %v, want 0", lo)
		}
	}
}
