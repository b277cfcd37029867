package traffic

import (
	"iter"
	"math"
	"time"
)

// dayCurve is the relative request volume of each UTC hour: quiet in the European
// night, busy in the European afternoon and the American day.
var dayCurve = [24]float64{
	0.030, 0.026, 0.022, 0.020, 0.019, 0.019, 0.022, 0.027, 0.033, 0.038, 0.042, 0.045,
	0.048, 0.052, 0.056, 0.058, 0.059, 0.058, 0.056, 0.053, 0.050, 0.046, 0.041, 0.035,
}

// DayCurve returns the share of a day's requests that fall in each UTC hour (summing to 1).
func DayCurve() [24]float64 {
	var c [24]float64
	sum := 0.0
	for _, v := range dayCurve {
		sum += v
	}
	for h, v := range dayCurve {
		c[h] = v / sum
	}
	return c
}

// HourCounts splits n requests over the hours of a day following DayCurve (largest
// remainders, so the counts sum to n exactly).
func HourCounts(n int) [24]int {
	curve := DayCurve()
	var counts [24]int
	var rest [24]float64
	left := n
	for h, share := range curve {
		x := share * float64(n)
		counts[h] = int(math.Floor(x))
		rest[h] = x - float64(counts[h])
		left -= counts[h]
	}
	for ; left > 0; left-- {
		best := 0
		for h := range rest {
			if rest[h] > rest[best] {
				best = h
			}
		}
		counts[best]++
		rest[best] = -1
	}
	return counts
}

// DayTimes yields the times of n requests over the UTC day that starts at day (truncated
// to midnight UTC), in increasing order, spread evenly within each hour with hourly
// volumes following DayCurve.
func DayTimes(day time.Time, n int) iter.Seq[time.Time] {
	start := day.UTC().Truncate(24 * time.Hour)
	counts := HourCounts(n)
	return func(yield func(time.Time) bool) {
		for h, k := range counts {
			base := start.Add(time.Duration(h) * time.Hour)
			for i := range k {
				off := time.Duration((float64(i) + 0.5) * float64(time.Hour) / float64(k))
				if !yield(base.Add(off)) {
					return
				}
			}
		}
	}
}
