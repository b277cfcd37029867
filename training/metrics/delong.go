package metrics

import (
	"cmp"
	"math"
	"slices"
)

// placements returns DeLong's structural components of one scoring, in row order: for a
// bid, the weighted share of non-bids it outranks; for a non-bid, the weighted share of
// bids that outrank it (ties count half in both). It also returns the total weights of
// bids and non-bids.
func placements(score []float64, bid []bool, w []float64) (pl []float64, pos, neg float64) {
	idx := make([]int32, len(score))
	for i := range idx {
		idx[i] = int32(i)
		if bid[i] {
			pos += w[i]
		} else {
			neg += w[i]
		}
	}
	slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(score[a], score[b]) })
	pl = make([]float64, len(score))
	var posBelow, negBelow float64
	for i := 0; i < len(idx); {
		j := i
		var posEq, negEq float64
		for ; j < len(idx) && score[idx[j]] == score[idx[i]]; j++ {
			if r := idx[j]; bid[r] {
				posEq += w[r]
			} else {
				negEq += w[r]
			}
		}
		for k := i; k < j; k++ {
			if r := idx[k]; bid[r] {
				pl[r] = (negBelow + negEq/2) / neg
			} else {
				pl[r] = (pos - posBelow - posEq/2) / pos
			}
		}
		posBelow += posEq
		negBelow += negEq
		i = j
	}
	return pl, pos, neg
}

// PairedAUC compares two scorings a and b of the same rows (labels bid, weights w; nil
// means 1) with DeLong's method: both AUCs and the standard error of the difference
// a - b, which accounts for both being measured on the same rows. Rows are taken as
// independent (the rows of one request are not quite, so the error is a little
// optimistic). It returns NaNs without both bids and non-bids.
func PairedAUC(a, b []float64, bid []bool, w []float64) (aucA, aucB, seDiff float64) {
	if w == nil {
		w = make([]float64, len(a))
		for i := range w {
			w[i] = 1
		}
	}
	pa, pos, neg := placements(a, bid, w)
	pb, _, _ := placements(b, bid, w)
	if pos == 0 || neg == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	for i := range pa {
		if bid[i] {
			aucA += w[i] * pa[i]
			aucB += w[i] * pb[i]
		}
	}
	aucA /= pos
	aucB /= pos
	d := aucA - aucB
	var vPos, vNeg float64
	for i := range pa {
		e := pa[i] - pb[i] - d
		if bid[i] {
			vPos += w[i] * w[i] * e * e
		} else {
			vNeg += w[i] * w[i] * e * e
		}
	}
	return aucA, aucB, math.Sqrt(vPos/(pos*pos) + vNeg/(neg*neg))
}
