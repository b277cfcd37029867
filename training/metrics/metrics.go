package metrics

import (
	"cmp"
	"math"
	"slices"
)

// Scored is one labelled row with its score.
type Scored struct {
	Score  float64
	Weight float64 // 1, or 1/propensity for an explored row; must be positive
	Bid    bool
}

// Sorted holds a set of scored rows sorted by score, descending, with rows of equal score
// grouped: a threshold between two groups separates them, and rows tied on a score are
// always on the same side (sent or filtered together). Build it once with Sort, then query.
type Sorted struct {
	score   []float64 // distinct scores, descending
	cumRows []float64 // weight of rows with score >= score[i]
	cumBids []float64 // weight of bids with score >= score[i]
	rows    float64   // total row weight
	bids    float64   // total bid weight
	bidsSq  float64   // total squared bid weight (for the effective count)
	nRows   int
	nBids   int
	auc     float64
}

// Sort sorts rows (in place) and builds the cumulative sums.
func Sort(rows []Scored) *Sorted {
	slices.SortFunc(rows, func(a, b Scored) int { return cmp.Compare(b.Score, a.Score) }) // highest first
	s := &Sorted{nRows: len(rows)}
	var aucNum float64
	for i := 0; i < len(rows); {
		j := i
		var gr, gb float64
		for ; j < len(rows) && rows[j].Score == rows[i].Score; j++ {
			w := rows[j].Weight
			gr += w
			if rows[j].Bid {
				gb += w
				s.bidsSq += w * w
				s.nBids++
			}
		}
		// Non-bids of this group rank below the bids above it, tied with its own bids.
		aucNum += (gr - gb) * (s.bids + 0.5*gb)
		s.rows += gr
		s.bids += gb
		s.score = append(s.score, rows[i].Score)
		s.cumRows = append(s.cumRows, s.rows)
		s.cumBids = append(s.cumBids, s.bids)
		i = j
	}
	if neg := s.rows - s.bids; s.bids > 0 && neg > 0 {
		s.auc = aucNum / (s.bids * neg)
	} else {
		s.auc = math.NaN()
	}
	return s
}

// Rows and Bids are the total weights; NumRows and NumBids the counts of rows.
func (s *Sorted) Rows() float64 { return s.rows }

// Bids is the total weight of the bids.
func (s *Sorted) Bids() float64 { return s.bids }

// NumRows is the number of rows.
func (s *Sorted) NumRows() int { return s.nRows }

// NumBids is the number of bid rows.
func (s *Sorted) NumBids() int { return s.nBids }

// EffectiveBids is Kish's effective number of bids, (Σw)²/Σw²: the number of unweighted
// bids that would give a recall estimate of the same variance. It equals NumBids when
// every weight is 1.
func (s *Sorted) EffectiveBids() float64 {
	if s.bidsSq == 0 {
		return 0
	}
	return s.bids * s.bids / s.bidsSq
}

// AUC is the probability that a bid scores above a non-bid (ties count half), weighted;
// NaN without both bids and non-bids.
func (s *Sorted) AUC() float64 { return s.auc }

// sentAt returns the index of the last group sent at threshold t (score >= t), or -1.
func (s *Sorted) sentAt(t float64) int {
	// score is descending: find the first index whose score < t.
	i, _ := slices.BinarySearchFunc(s.score, t, func(x, t float64) int {
		if x >= t {
			return -1
		}
		return 1
	})
	return i - 1
}

// Recall is the share of bid weight with score >= t (1 when there are no bids).
func (s *Sorted) Recall(t float64) float64 {
	if s.bids == 0 {
		return 1
	}
	i := s.sentAt(t)
	if i < 0 {
		return 0
	}
	return s.cumBids[i] / s.bids
}

// FilteredShare is the share of row weight with score < t.
func (s *Sorted) FilteredShare(t float64) float64 {
	if s.rows == 0 {
		return 0
	}
	i := s.sentAt(t)
	if i < 0 {
		return 1
	}
	return 1 - s.cumRows[i]/s.rows
}

// FSAt is FS@r: the largest filtered share whose recall stays >= r, and the threshold
// that gives it (the score of the lowest group that must be sent). With no bids nothing
// needs to be sent: it returns 1 and +Inf.
func (s *Sorted) FSAt(r float64) (fs, threshold float64) {
	if s.bids == 0 {
		return 1, math.Inf(1)
	}
	i := s.firstReaching(r)
	return 1 - s.cumRows[i]/s.rows, s.score[i]
}

// firstReaching is the index of the first group (highest threshold) at which recall
// reaches r; the last group when none does before it. Recall grows with the index.
func (s *Sorted) firstReaching(r float64) int {
	i, _ := slices.BinarySearchFunc(s.cumBids, r, func(c, r float64) int {
		if c/s.bids >= r-1e-12 {
			return 1
		}
		return -1
	})
	return min(i, len(s.score)-1)
}

// Z is the standard normal quantile of a one-sided confidence level (1.645 for 0.95).
func Z(confidence float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*confidence-1)
}

// WilsonLower is the one-sided Wilson score lower bound of a proportion p estimated from
// n (effective) trials, at normal quantile z. It is 0 for n <= 0.
func WilsonLower(p, n, z float64) float64 {
	if !(n > 0) {
		return 0
	}
	z2 := z * z
	centre := p + z2/(2*n)
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, (centre-half)/(1+z2/n))
}

// Bound says how recall lower bounds are computed: Z is the normal quantile of the
// one-sided confidence, N the number of (effective) bids the proportion is taken to rest on.
type Bound struct{ Z, N float64 }

// EstimateBound bounds the recall of these rows: N is the effective number of bids.
func (s *Sorted) EstimateBound(confidence float64) Bound {
	return Bound{Z: Z(confidence), N: s.EffectiveBids()}
}

// PredictionBound bounds the recall that will be realized on another sample like this one
// (tomorrow's traffic, when these rows are one day), given the effective number of bids
// n of this sample (EffectiveBids, or ClusteredBids when rows are sent by request): the
// difference between that recall and this estimate has the variance of both samples,
// p(1-p)(1/n + 1/n), so N is n/2.
func PredictionBound(confidence, n float64) Bound {
	return Bound{Z: Z(confidence), N: n / 2}
}

// RecallLower is the lower bound of the recall at threshold t.
func (s *Sorted) RecallLower(t float64, b Bound) float64 {
	return WilsonLower(s.Recall(t), b.N, b.Z)
}

// Point is one point of a validation curve.
type Point struct {
	Threshold     float64
	Recall        float64
	RecallLower   float64
	FilteredShare float64
}

func (s *Sorted) point(i int, b Bound) Point {
	r := s.cumBids[i] / s.bids
	return Point{Threshold: s.score[i], Recall: r, RecallLower: WilsonLower(r, b.N, b.Z),
		FilteredShare: 1 - s.cumRows[i]/s.rows}
}

// ThresholdFor returns the largest threshold whose recall lower bound is at least target,
// with its curve point, and false when there is none: too few bids for the bound to reach
// the target even when everything is sent.
func (s *Sorted) ThresholdFor(target float64, b Bound) (Point, bool) {
	if s.bids == 0 {
		return Point{}, false
	}
	n, z := b.N, b.Z
	if WilsonLower(1, n, z) < target {
		return Point{}, false
	}
	// The bound grows with the recall, which grows with the index: binary search.
	i, _ := slices.BinarySearchFunc(s.cumBids, target, func(c, target float64) int {
		if WilsonLower(c/s.bids, n, z) >= target {
			return 1
		}
		return -1
	})
	return s.point(min(i, len(s.score)-1), b), true
}

// CurveLevels are the recall levels at which Curve places its points: every 0.001 from 1
// down to 0.9 (where operating points live), then every 0.01 down to 0.01.
func CurveLevels() []float64 {
	var lv []float64
	for k := 0; k <= 100; k++ {
		lv = append(lv, 1-float64(k)/1000)
	}
	for k := 11; k <= 99; k++ {
		lv = append(lv, 1-float64(k)/100)
	}
	return lv
}

// Curve returns, for every recall level, the point of the largest threshold whose recall
// is at least that level, sorted by threshold ascending without duplicates. It is empty
// without bids.
func (s *Sorted) Curve(levels []float64, b Bound) []Point {
	if s.bids == 0 {
		return nil
	}
	seen := map[int]bool{}
	var pts []Point
	for _, lv := range levels {
		if i := s.firstReaching(lv); !seen[i] {
			seen[i] = true
			pts = append(pts, s.point(i, b))
		}
	}
	slices.SortFunc(pts, func(a, b Point) int {
		switch {
		case a.Threshold < b.Threshold:
			return -1
		case a.Threshold > b.Threshold:
			return 1
		}
		return 0
	})
	return pts
}
