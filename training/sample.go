package training

import "math"

// Defaults of the no-bid downsampling rule (see negativeRates).
const (
	DefaultNegPerBid    = 4
	DefaultMinNegatives = 50000
)

// splitmix64 is a bijective 64-bit mixer (Steele et al.).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// keepUniform is a uniform number in [0, 1) drawn from the row's identity and the seed:
// the same row gets the same draw whatever the order or the split of the files, so that
// the sample depends on the seed alone.
func keepUniform(seed uint64, requestID, impID, dsp string) float64 {
	h := hashString(14695981039346656037, requestID)
	h = hashString(h^0x1f, impID)
	h = hashString(h^0x1e, dsp)
	return float64(splitmix64(h^splitmix64(seed))>>11) / (1 << 53)
}

// negativeRate is the rule that chooses a DSP's no-bid keep rate from its training
// counts: keep every bid and about negPerBid no-bids per bid, but never fewer than
// minNegatives no-bids (so that a rare bidder's model still sees the variety of its
// traffic), and never more than all of them.
func negativeRate(bids, noBids int64, negPerBid float64, minNegatives int64) float64 {
	if noBids <= 0 {
		return 1
	}
	want := math.Max(negPerBid*float64(bids), float64(minNegatives))
	return math.Min(1, want/float64(noBids))
}
