package stats

import "math"

// Z95 is the standard normal quantile of a two-sided 95% interval.
const Z95 = 1.959963984540054

// Poisson95 returns the 95% confidence bounds of a Poisson mean given the count k, by
// Byar's approximation of the exact Garwood bounds. lo is 0 for k = 0 and never negative.
func Poisson95(k float64) (lo, hi float64) {
	const z = Z95
	if k > 0 {
		lo = k * math.Pow(1-1/(9*k)-z/(3*math.Sqrt(k)), 3)
	}
	k1 := k + 1
	hi = k1 * math.Pow(1-1/(9*k1)+z/(3*math.Sqrt(k1)), 3)
	return max(lo, 0), hi
}
