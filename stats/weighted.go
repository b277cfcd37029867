package stats

import "math"

// WilsonWeighted95 is the 95% Wilson score interval of a weighted share p (for example a
// recall where explored bids weigh 1/propensity) resting on n effective trials (Kish's
// (Σw)²/Σw², the number of unweighted trials of the same variance). It is nil when n is
// not positive or p is outside [0, 1]. With every weight 1 it equals Wilson95(k, n).
func WilsonWeighted95(p, n float64) *Interval {
	if !(n > 0) || !(p >= 0 && p <= 1) {
		return nil
	}
	const z = Z95
	den := 1 + z*z/n
	mid := (p + z*z/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / den
	return &Interval{Estimate: p, Lower: max(mid-half, 0), Upper: min(mid+half, 1)}
}
