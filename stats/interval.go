package stats

import "math"

// Interval is an estimate with its 95% confidence interval; Lower <= Estimate <= Upper.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
}

// Wilson95 returns the share k/n with its 95% Wilson score interval, or nil when n is
// not positive or k is outside [0, n].
func Wilson95(k, n int64) *Interval {
	if n <= 0 || k < 0 || k > n {
		return nil
	}
	const z = Z95
	nf, p := float64(n), float64(k)/float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return &Interval{Estimate: p, Lower: max(mid-half, 0), Upper: min(mid+half, 1)}
}
