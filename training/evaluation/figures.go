package evaluation

import (
	"math"

	"github.com/bidsieve/bidsieve/modelfile"
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
	scored     []metrics.Scored // request scores of the network, for the pooled AUC
}

// requestSorted turns per-row probabilities of one DSP's rows into request scores and
// sorts them.
func requestSorted(keys []uint64, p []float64, rows []row, idx []int) (*metrics.Sorted, []metrics.Scored) {
	metrics.RequestScores(keys, p, p)
	sc := make([]metrics.Scored, len(idx))
	for k, i := range idx {
		sc[k] = metrics.Scored{Score: p[k], Weight: float64(rows[i].weight), Bid: rows[i].bid}
	}
	keep := append([]metrics.Scored(nil), sc...)
	return metrics.Sort(sc), keep
}

func evalDSP(f *modelfile.File, name string, rows []row, idx []int, target float64, hasTrueP, hasFTRL, hasHist bool) dspEval {
	keys := make([]uint64, len(idx))
	for k, i := range idx {
		keys[k] = rows[i].key
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
	for _, i := range idx {
		w := float64(rows[i].weight)
		e.rows += w
		if rows[i].bid {
			e.bids += w
			m.Bids++
		}
	}
	m.BidRate = Num(e.bids / e.rows)

	sn, scored := requestSorted(keys, probs(func(r *row) float32 { return r.net }), rows, idx)
	e.scored = scored
	d := f.DSPByName(name)
	th := 0.0
	switch {
	case d == nil:
		m.Reason = "not in the model: served unfiltered"
		m.AUC = Num(math.NaN())
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
	if d != nil {
		m.AUC = Num(sn.AUC())
	}
	m.Threshold = pn(th)
	m.Recall = Num(sn.Recall(th))
	m.FilteredShare = Num(sn.FilteredShare(th))
	e.sentBids = sn.Recall(th) * sn.Bids()
	e.filtered = sn.FilteredShare(th) * sn.Rows()
	e.fsAt, _ = sn.FSAt(target)
	m.FSAtTarget = Num(e.fsAt)

	if hasTrueP {
		so, _ := requestSorted(keys, probs(func(r *row) float32 { return r.trueP }), rows, idx)
		e.oracleFS, _ = so.FSAt(target)
		m.OracleFilteredShare = pn(e.oracleFS)
		m.OracleEfficiency = pn(ratio(e.fsAt, e.oracleFS))
		m.OracleAUC = pn(so.AUC())
	}
	base := func(name string, get func(r *row) float32) {
		sb, _ := requestSorted(keys, probs(get), rows, idx)
		fs, _ := sb.FSAt(target)
		e.baseFS[name] = fs
		bm := BaselineMetrics{AUC: Num(sb.AUC()), FSAtTarget: Num(fs)}
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
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// overall pools the DSPs: sums of rows and bids, the AUC of all request scores together,
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
