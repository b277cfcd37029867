package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSmallExample(t *testing.T) {
	// Scores: bids at 0.9, 0.5 (tied with a non-bid), 0.2; non-bids at 0.7, 0.5, 0.1, 0.1.
	rows := []Scored{
		{Score: 0.9, Weight: 1, Bid: true}, {Score: 0.7, Weight: 1, Bid: false}, {Score: 0.5, Weight: 1, Bid: true}, {Score: 0.5, Weight: 1, Bid: false},
		{Score: 0.2, Weight: 1, Bid: true}, {Score: 0.1, Weight: 1, Bid: false}, {Score: 0.1, Weight: 1, Bid: false},
	}
	s := Sort(rows)
	cases := []struct {
		t              float64
		recall, shared float64
	}{
		{1.0, 0, 1}, {0.9, 1.0 / 3, 6.0 / 7}, {0.6, 1.0 / 3, 5.0 / 7}, {0.5, 2.0 / 3, 3.0 / 7},
		{0.2, 1, 2.0 / 7}, {0.1, 1, 0}, {0, 1, 0},
	}
	for _, c := range cases {
		if r := s.Recall(c.t); math.Abs(r-c.recall) > 1e-12 {
			t.Errorf("recall(%v) = %v, want %v", c.t, r, c.recall)
		}
		if f := s.FilteredShare(c.t); math.Abs(f-c.shared) > 1e-12 {
			t.Errorf("filtered share(%v) = %v, want %v", c.t, f, c.shared)
		}
	}
	// FS@0.6: the tie at 0.5 goes in together: threshold 0.5, 3 of 7 filtered.
	if fs, th := s.FSAt(0.6); th != 0.5 || math.Abs(fs-3.0/7) > 1e-12 {
		t.Errorf("FS@0.6 = %v at %v, want 3/7 at 0.5", fs, th)
	}
	if fs, th := s.FSAt(1); th != 0.2 || math.Abs(fs-2.0/7) > 1e-12 {
		t.Errorf("FS@1 = %v at %v, want 2/7 at 0.2", fs, th)
	}
	// AUC: pairs (bid, non-bid) = 3 x 4 = 12. 0.9 beats all 4; 0.5 beats 2, ties 1, loses 1
	// (2.5); 0.2 beats 2. (4 + 2.5 + 2) / 12.
	if a := s.AUC(); math.Abs(a-8.5/12) > 1e-12 {
		t.Errorf("AUC %v, want %v", a, 8.5/12)
	}
}

// naive computes the figures straight from the definitions, for comparison.
func naive(rows []Scored, t float64) (recall, fs float64) {
	var b, bs, r, rf float64
	for _, x := range rows {
		r += x.Weight
		if x.Score < t {
			rf += x.Weight
		}
		if x.Bid {
			b += x.Weight
			if x.Score >= t {
				bs += x.Weight
			}
		}
	}
	return bs / b, rf / r
}

func TestAgainstDefinitionsWeightedWithTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]Scored, 3000)
	for i := range rows {
		sc := math.Round(rng.Float64()*200) / 200 // many ties
		rows[i] = Scored{Score: sc, Weight: 1 + float64(rng.IntN(3)), Bid: rng.Float64() < sc*0.6}
	}
	orig := append([]Scored(nil), rows...)
	s := Sort(rows)
	for _, th := range []float64{0, 0.1, 0.33, 0.5, 0.505, 0.9, 1.1} {
		r, f := naive(orig, th)
		if math.Abs(s.Recall(th)-r) > 1e-12 || math.Abs(s.FilteredShare(th)-f) > 1e-12 {
			t.Errorf("t=%v: recall %v fs %v, want %v %v", th, s.Recall(th), s.FilteredShare(th), r, f)
		}
	}
	for _, target := range []float64{0.5, 0.9, 0.95, 0.99, 1} {
		fs, th := s.FSAt(target)
		// The best threshold by brute force over the candidate scores.
		best := 0.0
		for k := 0; k <= 200; k++ {
			c := float64(k) / 200
			if r, f := naive(orig, c); r >= target && f > best {
				best = f
			}
		}
		if math.Abs(fs-best) > 1e-12 {
			t.Errorf("FS@%v = %v (at %v), brute force %v", target, fs, th, best)
		}
	}
	// AUC by pairs.
	var num, den float64
	for _, a := range orig {
		if !a.Bid {
			continue
		}
		for _, b := range orig {
			if b.Bid {
				continue
			}
			w := a.Weight * b.Weight
			den += w
			switch {
			case a.Score > b.Score:
				num += w
			case a.Score == b.Score:
				num += w / 2
			}
		}
	}
	if math.Abs(s.AUC()-num/den) > 1e-9 {
		t.Errorf("AUC %v, pairs %v", s.AUC(), num/den)
	}
}

func TestWilsonAndEffectiveCount(t *testing.T) {
	z := Z(0.95)
	if math.Abs(z-1.6448536) > 1e-6 {
		t.Fatalf("Z(0.95) = %v", z)
	}
	// 95 of 100, one-sided 95%: (0.963528 - 0.038316) / 1.027055 = 0.90084.
	if lb := WilsonLower(0.95, 100, z); math.Abs(lb-0.90084) > 1e-4 {
		t.Errorf("Wilson lower bound %v, want about 0.90084", lb)
	}
	if WilsonLower(0.5, 0, z) != 0 {
		t.Error("no trials must give 0")
	}
	// Equal weights of 3: the effective count is the number of rows, and the bound is the
	// one of the unweighted rows.
	var rows, rows3 []Scored
	for i := 0; i < 400; i++ {
		rows = append(rows, Scored{Score: float64(i) / 400, Weight: 1, Bid: true})
		rows3 = append(rows3, Scored{Score: float64(i) / 400, Weight: 3, Bid: true})
	}
	a, b := Sort(rows), Sort(rows3)
	if a.EffectiveBids() != 400 || math.Abs(b.EffectiveBids()-400) > 1e-9 {
		t.Errorf("effective bids %v %v, want 400", a.EffectiveBids(), b.EffectiveBids())
	}
	// Unequal weights shrink the effective count.
	rows[0].Weight = 100
	if c := Sort(rows); c.EffectiveBids() >= 400 {
		t.Errorf("effective bids with one heavy row %v, want < 400", c.EffectiveBids())
	}
}

func TestThresholdForAndCurve(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []Scored
	for i := 0; i < 20000; i++ {
		sc := rng.Float64()
		rows = append(rows, Scored{Score: sc, Weight: 1, Bid: rng.Float64() < sc*sc*0.3})
	}
	s := Sort(rows)
	b := EstimateBound(0.95)
	p, ok := s.ThresholdFor(0.95, b)
	if !ok {
		t.Fatal("no threshold for 0.95 with thousands of bids")
	}
	if p.RecallLower < 0.95 || p.Recall <= p.RecallLower {
		t.Errorf("point %+v: lower bound must reach the target and sit below the estimate", p)
	}
	// The next higher threshold must miss the target (largest threshold).
	higher := math.Inf(1)
	for _, r := range rows {
		if r.Score > p.Threshold && r.Score < higher {
			higher = r.Score
		}
	}
	if s.RecallLower(higher, b) >= 0.95 {
		t.Errorf("a higher threshold %v still has lower bound %v", higher, s.RecallLower(higher, b))
	}
	// The prediction bound (tomorrow's recall) is wider: a lower or equal threshold.
	if pp, ok := s.ThresholdFor(0.95, PredictionBound(0.95)); !ok || pp.Threshold > p.Threshold || pp.Recall-pp.RecallLower <= p.Recall-p.RecallLower {
		t.Errorf("prediction bound: %+v, estimate bound: %+v", pp, p)
	}
	curve := s.Curve(CurveLevels(), b)
	if len(curve) < 100 {
		t.Fatalf("curve of %d points", len(curve))
	}
	for i := 1; i < len(curve); i++ {
		if curve[i].Threshold <= curve[i-1].Threshold || curve[i].Recall > curve[i-1].Recall || curve[i].FilteredShare < curve[i-1].FilteredShare {
			t.Fatalf("curve not monotone at %d: %+v then %+v", i, curve[i-1], curve[i])
		}
	}

	// Too few bids: no threshold.
	few := Sort([]Scored{{Score: 0.9, Weight: 1, Bid: true}, {Score: 0.8, Weight: 1, Bid: true}, {Score: 0.1, Weight: 1, Bid: false}})
	if _, ok := few.ThresholdFor(0.95, EstimateBound(0.95)); ok {
		t.Error("2 bids gave a threshold for a 95% recall guarantee")
	}
	none := Sort([]Scored{{Score: 0.1, Weight: 1, Bid: false}})
	if _, ok := none.ThresholdFor(0.95, EstimateBound(0.95)); ok || !math.IsNaN(none.AUC()) {
		t.Error("no bids: want no threshold and a NaN AUC")
	}
}

func TestRequestScores(t *testing.T) {
	keys := []uint64{7, 3, 7, 9, 3}
	p := []float64{0.5, 0.1, 0.2, 0.3, 0.0}
	dst := make([]float64, len(p))
	RequestScores(keys, p, dst)
	want := []float64{1 - 0.5*0.8, 0.1, 1 - 0.5*0.8, 0.3, 0.1}
	for i := range want {
		if math.Abs(dst[i]-want[i]) > 1e-12 {
			t.Errorf("row %d: %v, want %v", i, dst[i], want[i])
		}
	}
	RequestScores(keys, p, p) // in place
	for i := range want {
		if math.Abs(p[i]-want[i]) > 1e-12 {
			t.Errorf("in place, row %d: %v, want %v", i, p[i], want[i])
		}
	}
}

func TestPairedAUC(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 4000
	a, b := make([]float64, n), make([]float64, n)
	bid := make([]bool, n)
	var rowsA, rowsB []Scored
	for i := 0; i < n; i++ {
		x := rng.NormFloat64()
		bid[i] = rng.Float64() < 1/(1+math.Exp(-(x-2)))
		a[i] = x + 0.3*rng.NormFloat64()
		b[i] = math.Round(x + 1.5*rng.NormFloat64()) // worse, with ties
		rowsA = append(rowsA, Scored{Score: a[i], Weight: 1, Bid: bid[i]})
		rowsB = append(rowsB, Scored{Score: b[i], Weight: 1, Bid: bid[i]})
	}
	aa, ab, se := PairedAUC(a, b, bid, nil)
	if math.Abs(aa-Sort(rowsA).AUC()) > 1e-12 || math.Abs(ab-Sort(rowsB).AUC()) > 1e-12 {
		t.Fatalf("AUCs %v %v, want %v %v", aa, ab, Sort(rowsA).AUC(), Sort(rowsB).AUC())
	}
	if !(se > 0.003 && se < 0.05) || aa-ab < 3*se {
		t.Errorf("difference %v with standard error %v: a much better scoring must stand out", aa-ab, se)
	}
	// A scoring against itself: no difference, no error.
	if x, y, s := PairedAUC(a, a, bid, nil); x != y || s != 0 {
		t.Errorf("self comparison: %v %v %v", x, y, s)
	}
	// The error shrinks like 1/sqrt(n): four copies of the rows halve it.
	var a4, b4 []float64
	var bid4 []bool
	for k := 0; k < 4; k++ {
		a4, b4, bid4 = append(a4, a...), append(b4, b...), append(bid4, bid...)
	}
	if _, _, se4 := PairedAUC(a4, b4, bid4, nil); math.Abs(se4/se-0.5) > 0.02 {
		t.Errorf("standard error %v for 4x the rows, want about %v", se4, se/2)
	}
}

// Rows of one request (one key, one score: a request's rows are sent together) are one
// cluster in Kish's count: EffectiveBids counts requests' bids, not rows.
func TestClusteredBids(t *testing.T) {
	keys := []uint64{1, 1, 2, 3, 3, 3, 4}
	effective := func(bid []bool) float64 {
		rows := make([]Scored, len(keys))
		for i, k := range keys {
			rows[i] = Scored{Score: float64(k) / 10, Weight: 1, Bid: bid[i], Key: k}
		}
		return Sort(rows).EffectiveBids()
	}
	// One bid per request: the number of bids.
	if n := effective([]bool{true, false, true, true, false, false, true}); n != 4 {
		t.Errorf("one bid per request: %v, want 4", n)
	}
	// Bids in bunches: (2+1+3+1)^2 / (4+1+9+1) = 49/15.
	if n := effective([]bool{true, true, true, true, true, true, true}); math.Abs(n-49.0/15) > 1e-12 {
		t.Errorf("bunched bids: %v, want %v", n, 49.0/15)
	}
	if n := effective(make([]bool, 7)); n != 0 {
		t.Errorf("no bids: %v", n)
	}
}
