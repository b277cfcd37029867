package evaluation

import (
	"math"

	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// dspEval is one DSP's figures and what the overall figures are pooled from.
type dspEval struct {
	m          *Metrics
	rows, bids float64 // weighted
	sentBids   float64 // weighted bids at or above the threshold
	filtered   float64 // weighted rows below the threshold
	fsAt       float64 // FS@r of the network
	oracleFS   float64
	baseFS     map[string]float64
	scored     []metrics.Scored // the network's row probabilities, for the pooled AUC
}

// scoring is one scorer's view of a DSP's rows: the AUC of its row probabilities (how
// well it ranks (imp, DSP) rows) and the sorted request scores the gateway would
// threshold (recall, filtered share, FS@r).
type scoring struct {
	rowP []float64
	auc  float64
	req  *metrics.Sorted
}

func newScoring(keys []uint64, p []float64, bids []bool, weights []float64) scoring {
	rows := make([]metrics.Scored, len(p))
	for k := range p {
		rows[k] = metrics.Scored{Score: p[k], Weight: weights[k], Bid: bids[k]}
	}
	auc := metrics.Sort(rows).AUC()
	req := make([]float64, len(p))
	metrics.RequestScores(keys, p, req)
	for k := range rows {
		rows[k] = metrics.Scored{Score: req[k], Weight: weights[k], Bid: bids[k], Key: keys[k]}
	}
	return scoring{rowP: p, auc: auc, req: metrics.Sort(rows)}
}

func evalDSP(f *modelfile.File, name string, rows []row, idx []int, target float64, hasTrueP, hasFTRL, hasHist bool) dspEval {
	keys := make([]uint64, len(idx))
	bids := make([]bool, len(idx))
	weights := make([]float64, len(idx))
	for k, i := range idx {
		keys[k], bids[k], weights[k] = rows[i].key, rows[i].bid, float64(rows[i].weight)
	}
	probs := func(get func(r *row) float32) []float64 {
		p := make([]float64, len(idx))
		for k, i := range idx {
			x := float64(get(&rows[i]))
			if math.IsNaN(x) {
				x = 1 // a DSP the model does not know is sent everything
			}
			p[k] = x
		}
		return p
	}
	m := &Metrics{Rows: int64(len(idx)), Target: Num(target), Baselines: map[string]BaselineMetrics{}}
	e := dspEval{m: m, baseFS: map[string]float64{}}
	for k := range idx {
		e.rows += weights[k]
		if bids[k] {
			e.bids += weights[k]
			m.Bids++
		}
	}
	m.BidRate = Num(e.bids / e.rows)

	net := newScoring(keys, probs(func(r *row) float32 { return r.net }), bids, weights)
	for k := range idx {
		e.scored = append(e.scored, metrics.Scored{Score: net.rowP[k], Weight: weights[k], Bid: bids[k]})
	}
	d := f.DSPByName(name)
	th := 0.0
	switch {
	case d == nil:
		m.Reason = "not in the model: served unfiltered"
	case !d.OK:
		m.Reason = d.Reason
	case target == d.Target:
		th, m.ThresholdOK = d.Threshold, true
		m.ValRecall, m.ValRecallLow = pn(d.Recall), pn(d.RecallLower)
	default:
		if t, ok := d.ThresholdFor(target); ok {
			th, m.ThresholdOK = t, true
			p := d.PointAt(t)
			m.ValRecall, m.ValRecallLow = pn(p.Recall), pn(p.RecallLower)
		} else {
			m.Reason = "no point of the validation curve reaches the target with confidence"
		}
	}
	m.AUC = Num(math.NaN())
	if d != nil {
		m.AUC = Num(net.auc)
	}
	m.Threshold = pn(th)
	m.Recall = Num(net.req.Recall(th))
	m.FilteredShare = Num(net.req.FilteredShare(th))
	m.EffectiveBids = Num(net.req.EffectiveBids())
	// The interval of the recall at the threshold rests on the bids it misses and their
	// weights (the delta method), not on Kish's count of all bids.
	m.RecallInterval = stats.WilsonWeighted95(net.req.Recall(th), net.req.EffectiveBidsAt(th))
	e.sentBids = net.req.Recall(th) * net.req.Bids()
	e.filtered = net.req.FilteredShare(th) * net.req.Rows()
	e.fsAt, _ = net.req.FSAt(target)
	m.FSAtTarget = Num(e.fsAt)
	m.WithheldSE = Num(withheldSE(net.req, net.req.Recall(th), net.req.EffectiveBidsAt(th)))

	if hasTrueP {
		o := newScoring(keys, probs(func(r *row) float32 { return r.trueP }), bids, weights)
		e.oracleFS, _ = o.req.FSAt(target)
		m.OracleFilteredShare = pn(e.oracleFS)
		m.OracleEfficiency = pn(ratio(e.fsAt, e.oracleFS))
		m.OracleAUC = pn(o.auc)
	}
	base := func(name string, get func(r *row) float32) {
		b := newScoring(keys, probs(get), bids, weights)
		fs, _ := b.req.FSAt(target)
		e.baseFS[name] = fs
		bm := BaselineMetrics{AUC: Num(b.auc), FSAtTarget: Num(fs)}
		if d != nil {
			an, ab, se := metrics.PairedAUC(net.rowP, b.rowP, bids, weights)
			bm.AUCDiff, bm.AUCDiffSE = pn(an-ab), pn(se)
		}
		if hasTrueP {
			bm.Efficiency = pn(ratio(fs, e.oracleFS))
		}
		m.Baselines[name] = bm
	}
	if hasFTRL {
		base(BaselineFTRL, func(r *row) float32 { return r.ftrl })
	}
	if hasHist {
		base(BaselineHist, func(r *row) float32 { return r.hist })
	}
	return e
}

// ratio is a/b, NaN when b is 0.
// withheldSE is the standard error of a model's withheld share that comes from setting
// its threshold on one day's sample: a calibration day like this one puts the recall at
// the threshold about sigma = sqrt(R(1-R)/n) away (n the effective bids at it), and the
// withheld share moves with it along this day's curve: half the withheld share between
// recall R-sigma and R+sigma. 0 when it cannot be told (no bids, or recall 0 or 1).
func withheldSE(s *metrics.Sorted, r, n float64) float64 {
	if !(n > 0) || !(r > 0 && r < 1) {
		return 0
	}
	sigma := math.Sqrt(r * (1 - r) / n)
	lo, _ := s.FSAt(math.Max(0, r-sigma))
	hi, _ := s.FSAt(math.Min(1, r+sigma))
	return math.Max(0, (lo-hi)/2)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// overall pools the DSPs: sums of rows and bids, the AUC of all rows together,
// the realized recall and filtered share with every DSP at its own threshold, and FS@r
// with every DSP at its own FS@r point (the share of all rows filtered then; the recall
// of the whole then also reaches r).
func overall(all []dspEval, target float64, hasTrueP bool) *Metrics {
	m := &Metrics{Target: Num(target), Baselines: map[string]BaselineMetrics{}, ThresholdOK: true}
	var rows, bids, sent, filtered, fs, ofs float64
	baseFS := map[string]float64{}
	var pooled []metrics.Scored
	for _, e := range all {
		m.Rows += e.m.Rows
		m.Bids += e.m.Bids
		rows += e.rows
		bids += e.bids
		sent += e.sentBids
		filtered += e.filtered
		fs += e.fsAt * e.rows
		ofs += e.oracleFS * e.rows
		for k, v := range e.baseFS {
			baseFS[k] += v * e.rows
		}
		pooled = append(pooled, e.scored...)
		m.ThresholdOK = m.ThresholdOK && e.m.ThresholdOK
	}
	m.BidRate = Num(bids / rows)
	m.AUC = Num(metrics.Sort(pooled).AUC())
	m.Threshold = nil
	m.Recall = Num(ratio(sent, bids))
	m.FilteredShare = Num(filtered / rows)
	m.FSAtTarget = Num(fs / rows)
	if hasTrueP {
		m.OracleFilteredShare = pn(ofs / rows)
		m.OracleEfficiency = pn(ratio(fs, ofs))
	}
	for k, v := range baseFS {
		bm := BaselineMetrics{AUC: Num(math.NaN()), FSAtTarget: Num(v / rows)}
		if hasTrueP {
			bm.Efficiency = pn(ratio(v, ofs))
		}
		m.Baselines[k] = bm
	}
	return m
}
