package training

import (
	"fmt"
	"math"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// calibrate computes, per DSP of the window (in st.list order), the validation figures of
// the network and the baselines on request scores, the curve, and the threshold for the
// recall target: the largest whose recall lower bound reaches the target. A DSP gets no
// threshold (OK false, served unfiltered) when the model did not learn it or when the
// validation day has too few of its bids for the bound to be worth anything.
func calibrate(st *windowStats, val *valSet, logits []float64, spec *features.Spec, o *Options) []dspCalibration {
	byDSP := make([][]int, len(st.list))
	for i, id := range val.dspID {
		byDSP[id] = append(byDSP[id], i)
	}
	known := map[string]bool{}
	for _, v := range spec.Features[0].Vocab {
		known[v] = true
	}
	out := make([]dspCalibration, len(st.list))
	for _, d := range st.list {
		idx := byDSP[d.id]
		c := &out[d.id]
		c.file = modelfile.DSP{Name: d.name, LogitOffset: math.Log(d.rate), NegativeRate: d.rate,
			Target: o.RecallTarget, ValRows: d.valRows, ValBids: d.valBids}
		c.DSPReport = DSPReport{Name: d.name, TrainRows: d.trainRows, TrainBids: d.trainBids,
			NegativeRate: d.rate, SampleRows: d.keptRows, ValRows: d.valRows, ValBids: d.valBids}

		keys := make([]uint64, len(idx))
		net := make([]float64, len(idx))
		ft := make([]float64, len(idx))
		hr := make([]float64, len(idx))
		for k, i := range idx {
			keys[k] = val.key[i]
			net[k] = stats.Logistic(logits[i] + c.file.LogitOffset)
			ft[k] = float64(val.ftrl[i])
			hr[k] = float64(val.hist[i])
		}
		// AUCs rank the (imp, DSP) rows by their own probabilities; thresholds and shares
		// are on request scores, as the gateway decides.
		rowAUC := func(p []float64) float64 {
			rows := make([]metrics.Scored, len(idx))
			for k, i := range idx {
				rows[k] = metrics.Scored{Score: p[k], Weight: float64(val.ds.weight[i]), Bid: val.ds.label[i]}
			}
			return metrics.Sort(rows).AUC()
		}
		c.AUC, c.AUCFTRL, c.AUCHist = rowAUC(net), rowAUC(ft), rowAUC(hr)
		metrics.RequestScores(keys, net, net)
		rows := make([]metrics.Scored, len(idx))
		for k, i := range idx {
			rows[k] = metrics.Scored{Score: net[k], Weight: float64(val.ds.weight[i]), Bid: val.ds.label[i], Key: keys[k]}
		}
		sn := metrics.Sort(rows)
		c.FSAtTarget, _ = sn.FSAt(o.RecallTarget)
		c.file.AUC = finite(c.AUC)
		// Bounds are prediction bounds: for the recall realized on a day like the
		// validation day (tomorrow), not for the validation day's own recall. The rows of
		// a request are sent or filtered together, and the variance at each threshold is
		// that of the bids it misses (metrics.Sorted.EffectiveBidsAt): on the gateway's
		// own log those are mostly a few explored bids of weight 1/propensity.
		bound := metrics.PredictionBound(o.Confidence)
		for _, p := range sn.Curve(metrics.CurveLevels(), bound) {
			c.file.Curve = append(c.file.Curve, modelfile.CurvePoint{Threshold: p.Threshold, Recall: p.Recall,
				RecallLower: p.RecallLower, FilteredShare: p.FilteredShare})
		}

		switch {
		case !known[d.name]:
			c.file.Reason = "not in the training window: the model has not learnt it"
		case d.trainBids < int64(o.MinTrainBids):
			c.file.Reason = fmt.Sprintf("only %d bids in the training window (at least %d needed)", d.trainBids, o.MinTrainBids)
		case d.valBids < int64(o.MinValBids):
			c.file.Reason = fmt.Sprintf("only %d bids on the validation day (at least %d needed)", d.valBids, o.MinValBids)
		}
		if c.file.Reason == "" {
			if p, ok := sn.ThresholdFor(o.RecallTarget, bound); ok {
				c.file.OK = true
				c.file.Threshold = p.Threshold
				c.file.Recall, c.file.RecallLower, c.file.FilteredShare = p.Recall, p.RecallLower, p.FilteredShare
				c.file.BoundWidth = p.Recall - p.RecallLower
				c.file.Curve = withPoint(c.file.Curve, p)
			} else {
				c.file.Reason = fmt.Sprintf("%.0f effective validation bids: too few for a %.0f%% lower bound of tomorrow's recall to reach %.3g",
					sn.EffectiveBids(), 100*o.Confidence, o.RecallTarget)
			}
		}
		if !c.file.OK {
			// Served unfiltered: everything is sent.
			c.file.Threshold, c.file.Recall, c.file.RecallLower, c.file.FilteredShare, c.file.BoundWidth = 0, 1, 1, 0, 0
		}
		c.OK, c.Reason, c.Threshold = c.file.OK, c.file.Reason, c.file.Threshold
		c.Recall, c.RecallLower, c.FilteredShare, c.BoundWidth = c.file.Recall, c.file.RecallLower, c.file.FilteredShare, c.file.BoundWidth
	}
	return out
}

// withPoint inserts p into the curve (sorted by threshold) unless a point has its threshold.
func withPoint(curve []modelfile.CurvePoint, p metrics.Point) []modelfile.CurvePoint {
	cp := modelfile.CurvePoint{Threshold: p.Threshold, Recall: p.Recall, RecallLower: p.RecallLower, FilteredShare: p.FilteredShare}
	for i, c := range curve {
		if c.Threshold == p.Threshold {
			return curve
		}
		if c.Threshold > p.Threshold {
			curve = append(curve[:i], append([]modelfile.CurvePoint{cp}, curve[i:]...)...)
			return curve
		}
	}
	return append(curve, cp)
}
