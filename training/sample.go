package training

import (
	"math"

	"github.com/bidsieve/bidsieve/rnd"
)

// Defaults of the no-bid downsampling rule (see negativeRates).
const (
	DefaultNegPerBid    = 4
	DefaultMinNegatives = 50000
)

// keepUniform is a uniform number in [0, 1) drawn from the row's identity and the seed:
// the same row gets the same draw whatever the order or the split of the files, so that
// the sample depends on the seed alone.
func keepUniform(seed uint64, requestID, impID, dsp string) float64 {
	h := rnd.FNV(rnd.FNVOffset, requestID)
	h = rnd.FNV(h^0x1f, impID)
	h = rnd.FNV(h^0x1e, dsp)
	return rnd.Float(rnd.SplitMix(h ^ rnd.SplitMix(seed)))
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
