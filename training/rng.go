package training

import "math/rand/v2"

// fillMask draws an inverted-dropout mask: each unit is kept with probability 1-p and
// then scaled by 1/(1-p), so that the expected activation is unchanged and no rescaling is
// needed at inference. p = 0 gives all ones.
func fillMask(mask []float32, p float64, rng *rand.Rand) {
	if p <= 0 {
		for i := range mask {
			mask[i] = 1
		}
		return
	}
	keep := float32(1 / (1 - p))
	// One 64-bit draw gives four 16-bit uniforms: plenty of resolution for a drop rate.
	thr := uint64(p * 65536)
	for i := 0; i < len(mask); {
		u := rng.Uint64()
		for k := 0; k < 4 && i < len(mask); k++ {
			if u&0xffff < thr {
				mask[i] = 0
			} else {
				mask[i] = keep
			}
			u >>= 16
			i++
		}
	}
}
