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
	// Key groups the rows of one request (RequestKey): rows with the same key and score
	// are sent or filtered together, so their bids count as one cluster in the variance of
	// a recall. 0 makes the row a cluster of its own.
	Key uint64
}

// Sorted holds a set of scored rows sorted by score, descending, with rows of equal score
// grouped: a threshold between two groups separates them, and rows tied on a score are
// always on the same side (sent or filtered together). Build it once with Sort, then query.
type Sorted struct {
	score     []float64 // distinct scores, descending
	cumRows   []float64 // weight of rows with score >= score[i]
	cumBids   []float64 // weight of bids with score >= score[i]
	cumBidsSq []float64 // sum of B^2 over the clusters with score >= score[i]
	rows      float64   // total row weight
	bids      float64   // total bid weight
	// Over clusters (a request's rows, Scored.Key) with bid weight B and b bid rows:
	bidsSq  float64 // sum of B^2 (Kish's effective count, and the variance of a recall)
	bidsTom float64 // sum of B*b: the weighted sum of b^2, for a day sent unweighted
	nRows   int
	nBids   int
	auc     float64
}

// Sort sorts rows (in place) and builds the cumulative sums.
func Sort(rows []Scored) *Sorted {
	slices.SortFunc(rows, func(a, b Scored) int { // highest first; a request's rows together
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Key, b.Key))
	})
	s := &Sorted{nRows: len(rows)}
	var aucNum float64
	for i := 0; i < len(rows); {
		j := i
		var gr, gb, gsq float64
		for ; j < len(rows) && rows[j].Score == rows[i].Score; j++ {
			w := rows[j].Weight
			gr += w
			if rows[j].Bid {
				gb += w
				s.nBids++
			}
		}
		// The group's clusters: runs of one key (key 0: each row alone).
		for k := i; k < j; {
			l := k + 1
			if rows[k].Key != 0 {
				for l < j && rows[l].Key == rows[k].Key {
					l++
				}
			}
			var cb, cn float64
			for _, r := range rows[k:l] {
				if r.Bid {
					cb += r.Weight
					cn++
				}
			}
			gsq += cb * cb
			s.bidsTom += cb * cn
			k = l
		}
		// Non-bids of this group rank below the bids above it, tied with its own bids.
		aucNum += (gr - gb) * (s.bids + 0.5*gb)
		s.rows += gr
		s.bids += gb
		s.bidsSq += gsq
		s.score = append(s.score, rows[i].Score)
		s.cumRows = append(s.cumRows, s.rows)
		s.cumBids = append(s.cumBids, s.bids)
		s.cumBidsSq = append(s.cumBidsSq, s.bidsSq)
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

// EffectiveBids is Kish's effective number of bids, (ΣB)²/ΣB² over the clusters (a
// request's bids, or each bid when rows carry no key) of bid weight B. It equals NumBids
// when every weight is 1 and no request has two bids. It describes the weights, not a
// recall: where a few heavy bids carry what a threshold misses, the variance of that
// recall is larger (EffectiveBidsAt).
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
// one-sided confidence; Prediction bounds the recall realized on another day like this
// one (tomorrow's traffic, sent unweighted) rather than this sample's own recall.
type Bound struct {
	Z          float64
	Prediction bool
}

// EstimateBound bounds the recall of the population these rows stand for.
func EstimateBound(confidence float64) Bound { return Bound{Z: Z(confidence)} }

// PredictionBound bounds the recall that will be realized on another sample like this one
// (tomorrow's traffic, when these rows are one day): the difference between that recall
// and this estimate has the variance of both (BoundBids).
func PredictionBound(confidence float64) Bound {
	return Bound{Z: Z(confidence), Prediction: true}
}

// EffectiveBidsAt is the effective number of bids of the recall at threshold t:
// R(1-R)/Var(R), Var by the delta method for a ratio of cluster totals,
// Var(R) = ((1-R)² Σ_sent B² + R² Σ_missed B²) / (ΣB)². It is the number of unweighted,
// independent bids that would give the recall at t the same variance: the count of bids
// when every weight is 1 and no request has two, and much less than Kish's
// EffectiveBids when the bids the threshold misses are a few heavily weighted explored
// ones (the gateway's own log below its threshold). At a recall of 0 or 1, where the
// formula has no variance to speak of, it is Kish's count.
func (s *Sorted) EffectiveBidsAt(t float64) float64 {
	i := s.sentAt(t)
	if i < 0 {
		return s.EffectiveBids()
	}
	return s.effectiveAt(i)
}

func (s *Sorted) effectiveAt(i int) float64 {
	if s.bids == 0 {
		return 0
	}
	r := s.cumBids[i] / s.bids
	if r <= 0 || r >= 1 {
		return s.EffectiveBids()
	}
	sent := s.cumBidsSq[i]
	missed := max(s.bidsSq-sent, 0)
	v := ((1-r)*(1-r)*sent + r*r*missed) / (s.bids * s.bids)
	if !(v > 0) {
		return s.EffectiveBids()
	}
	return r * (1 - r) / v
}

// boundBids is the number of bids a bound at group i rests on. For an estimate it is
// effectiveAt; for a prediction, 1/N = 1/effectiveAt + 1/tomorrow, tomorrow's count
// being (ΣB)²/Σ B·b: a day like this one, every bid of it counted once (with b bid rows
// to a cluster). With unit weights and one bid to a request both are the number of bids,
// and the prediction rests on half of it.
func (s *Sorted) boundBids(i int, b Bound) float64 {
	n := s.effectiveAt(i)
	if !b.Prediction || n == 0 {
		return n
	}
	tom := s.bids * s.bids / s.bidsTom
	return 1 / (1/n + 1/tom)
}

// RecallLower is the lower bound of the recall at threshold t (0 when nothing is sent).
func (s *Sorted) RecallLower(t float64, b Bound) float64 {
	i := s.sentAt(t)
	if i < 0 || s.bids == 0 {
		return 0
	}
	return WilsonLower(s.cumBids[i]/s.bids, s.boundBids(i, b), b.Z)
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
	return Point{Threshold: s.score[i], Recall: r, RecallLower: WilsonLower(r, s.boundBids(i, b), b.Z),
		FilteredShare: 1 - s.cumRows[i]/s.rows}
}

// ThresholdFor returns the largest threshold whose recall lower bound is at least target,
// with its curve point, and false when there is none: too few bids for the bound to reach
// the target even when everything is sent. The bound rests on a number of bids that
// depends on the threshold (what it misses, and how heavily weighted), so it is not
// monotone in the threshold: the scan goes down from the highest.
func (s *Sorted) ThresholdFor(target float64, b Bound) (Point, bool) {
	if s.bids == 0 {
		return Point{}, false
	}
	for i := s.firstReaching(target); i < len(s.score); i++ {
		if p := s.point(i, b); p.RecallLower >= target {
			return p, true
		}
	}
	return Point{}, false
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
