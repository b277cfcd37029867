package metrics

import (
	"cmp"
	"math"
	"slices"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/rnd"
)

// RequestKey identifies a request across its rows: a 64-bit hash of the request id
// (FNV-1a, then a splitmix64 finaliser), the same in training and evaluation.
func RequestKey(requestID string) uint64 {
	return rnd.SplitMix(rnd.FNV(rnd.FNVOffset, requestID))
}

// RowWeight is the weight of a labelled bid-log row: 1/propensity for an explored row (it
// stands for the rows that were not explored), 1 otherwise.
func RowWeight(r *bidlog.Row) float64 {
	if r.Decision == bidlog.DecisionExplored && r.Propensity > 0 && r.Propensity < 1 {
		return 1 / r.Propensity
	}
	return 1
}

// RequestScores turns per-imp probabilities into request scores, as the gateway decides
// (docs/DESIGN.md, "One auction, step by step"): every row of a request gets 1 - prod(1 - p) over the rows
// sharing its key. keys identify the request of each row (for one DSP); p and dst have
// the same length as keys, and dst may be p.
func RequestScores(keys []uint64, p, dst []float64) {
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Or(cmp.Compare(keys[a], keys[b]), int(a-b)) })
	for i := 0; i < len(order); {
		j := i
		logNone := 0.0 // log prod(1 - p)
		for ; j < len(order) && keys[order[j]] == keys[order[i]]; j++ {
			logNone += math.Log1p(-math.Min(p[order[j]], 1))
		}
		s := -math.Expm1(logNone)
		for k := i; k < j; k++ {
			dst[order[k]] = s
		}
		i = j
	}
}

// Half names a half of a day's requests, split by request key: `retrain` validates the
// challenger (early stopping, thresholds) on one half of the held-out day and judges it
// against the champion on the other, so that it can train on every day before it. The
// halves are disjoint, of about equal size, and the same in training and evaluation; all
// rows of a request fall in one half.
type Half int8

const (
	HalfAll      Half = iota // every request
	HalfValidate             // the half training validates and calibrates on
	HalfJudge                // the other half, on which challenger and champion are judged
)

// Keeps reports whether the request of key belongs to h.
func (h Half) Keeps(key uint64) bool {
	switch h {
	case HalfValidate:
		return key&1 == 0
	case HalfJudge:
		return key&1 == 1
	}
	return true
}

// String names the half for logs.
func (h Half) String() string {
	switch h {
	case HalfValidate:
		return "validate"
	case HalfJudge:
		return "judge"
	}
	return "all"
}
