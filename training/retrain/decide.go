package retrain

import (
	"fmt"
	"math"
	"sort"

	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/training/evaluation"
)

// Rule is the promotion rule.
type Rule struct {
	// Tolerance is how far below the champion's withheld share a challenger's may fall,
	// for a DSP the champion filters (config retrain.tolerance).
	Tolerance float64
	// MinBids is the fewest held-out bids with which a DSP's figures decide anything
	// (config retrain.min_bids).
	MinBids int64
	// Force asks for a fresh challenger on every DSP (--force, the history's FORCE file, or
	// the gateway's drift report): the champion's figures no longer bind, a DSP passes when
	// the challenger's recall interval holds the target and the withheld-traffic check is
	// skipped. A drift report forces every DSP, not only those it lists: they are shadowed,
	// sent everything, until a challenger passes, and an own-log challenger set on a day or
	// two withholds less than the champion on most DSPs (its threshold is set on few explored
	// bids), so holding the others to the champion's share kept the drifted ones shadowed
	// for the rest of the make loop run (docs/LOOP.md). The recall target still binds on all.
	Force bool
}

// Decide compares the challenger's and the champion's held-out reports, DSP by DSP. champ
// and champFile are nil without a champion. It returns the results, sorted by DSP, and
// the reasons of a refusal (empty: promote).
//
// For a DSP with at least MinBids held-out bids:
//   - the challenger's recall at its threshold must hold the target: its 95% interval
//     (Wilson on the clustered effective bids) must not lie wholly below the target, the
//     test the drift guard applies to live recall. (One day of a few hundred bids puts
//     the interval about 3 points either side: requiring the lower bound itself to reach
//     the target refuses good models, the champion included, on most days.)
//   - the champion filters it: the challenger must also withhold at least the champion's
//     share minus Tolerance and minus the calibration noise of the two shares (sending
//     everything counts as withholding nothing). Each model's threshold was set on one
//     day's sample, so its withheld share is itself a draw: 1.645 times the standard
//     error of the difference (evaluation.Metrics.WithheldSE of each, independent) is the
//     one-sided 95% allowance. On own-log data it is several points for a small bidder,
//     and a fixed 2 points refused challengers that gained 10-17 points where DSPs changed
//     for differences of that size on DSPs that had not. A champion whose own threshold
//     misses the target on the held-out day binds with no more than it withholds at the
//     target recall (championShare);
//   - the champion does not (new DSP, or too few bids before), or it misses the target on
//     the held-out day itself (its own interval wholly below: the DSP changed what it buys,
//     so the champion's withheld share is not at the target's recall and does not bind):
//     the challenger filtering it and holding the target is a gain, sending it everything
//     is a pass (it restores the recall); not filtering a DSP nobody filtered decides nothing.
//
// A DSP the champion filters but the held-out day does not show decides nothing either.
func Decide(chall, champ *evaluation.Report, champFile *modelfile.File, r Rule) ([]modelhistory.DSPResult, []string) {
	var out []modelhistory.DSPResult
	var reasons []string
	for name, cm := range chall.DSPs {
		res := modelhistory.DSPResult{DSP: name, Target: float64(cm.Target), Rows: cm.Rows, Bids: cm.Bids,
			Challenger: figures(cm)}
		var pm *evaluation.Metrics
		if champ != nil {
			pm = champ.DSPs[name]
		}
		if pm != nil {
			f := figures(pm)
			res.Champion = &f
		}
		res.Verdict, res.Reason = verdict(&res, r)
		if res.Verdict == modelhistory.VerdictFail {
			reasons = append(reasons, name+": "+res.Reason)
		}
		out = append(out, res)
	}
	if champFile != nil {
		for _, d := range champFile.DSPs {
			if _, seen := chall.DSPs[d.Name]; seen || !d.OK {
				continue
			}
			out = append(out, modelhistory.DSPResult{DSP: d.Name, Target: d.Target, Verdict: modelhistory.VerdictNoted,
				Reason: "the champion filters it but the held-out day has no labelled row of it"})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].DSP < out[b].DSP })
	sort.Strings(reasons)
	return out, reasons
}

func verdict(res *modelhistory.DSPResult, r Rule) (string, string) {
	ch, pm := &res.Challenger, res.Champion
	if res.Bids < r.MinBids {
		return modelhistory.VerdictNoted, fmt.Sprintf("%d held-out bids, fewer than retrain.min_bids %d: decides nothing", res.Bids, r.MinBids)
	}
	champFilters := pm != nil && pm.Filtered
	champMisses := champFilters && pm.RecallUpper < res.Target-1e-12
	if champMisses {
		champFilters = false
	}
	if !ch.Filtered {
		if champMisses {
			return modelhistory.VerdictPass, fmt.Sprintf("the challenger sends everything; the champion misses the target on the held-out day (recall %.4f, interval wholly below)", pm.Recall)
		}
		if champFilters && !r.Force {
			if ch.Withheld < pm.Withheld-r.Tolerance {
				return modelhistory.VerdictFail, fmt.Sprintf("the challenger has no threshold (sends everything) where the champion withholds %.1f%%", 100*pm.Withheld)
			}
			return modelhistory.VerdictPass, "the challenger sends everything; the champion withheld little"
		}
		return modelhistory.VerdictNoted, "not filtered by the challenger"
	}
	if ch.RecallUpper < res.Target-1e-12 {
		return modelhistory.VerdictFail, fmt.Sprintf("recall %.4f, interval [%.4f, %.4f] wholly below the target %.4g",
			ch.Recall, ch.RecallLower, ch.RecallUpper, res.Target)
	}
	if champMisses {
		return modelhistory.VerdictGain, fmt.Sprintf("filtered at recall %.4f (lower bound %.4f), withholding %.1f%%, where the champion misses the target (recall %.4f, interval wholly below)",
			ch.Recall, ch.RecallLower, 100*ch.Withheld, pm.Recall)
	}
	if !champFilters || r.Force {
		return modelhistory.VerdictGain, fmt.Sprintf("filtered at recall %.4f (lower bound %.4f), withholding %.1f%%", ch.Recall, ch.RecallLower, 100*ch.Withheld)
	}
	bind, champ := championShare(pm, res.Target)
	if noise := calibrationNoise(ch, pm); ch.Withheld < bind-r.Tolerance-noise {
		return modelhistory.VerdictFail, fmt.Sprintf("withholds %.1f%% of traffic, the champion %s: a drop of more than the tolerance %.1f points and the calibration noise %.1f points",
			100*ch.Withheld, champ, 100*r.Tolerance, 100*noise)
	}
	return modelhistory.VerdictPass, fmt.Sprintf("recall lower bound %.4f (champion %.4f), withheld %.1f%% (champion %.1f%%)",
		ch.RecallLower, pm.RecallLower, 100*ch.Withheld, 100*pm.Withheld)
}

// championShare is the champion's withheld share as it binds a challenger, and how to say
// it. A champion whose threshold reaches the target on the held-out day binds with the
// share it withholds there. One whose threshold falls short of it (recall under the target,
// though its interval need not lie wholly below) withholds part of that share by missing
// bids the target would have it send: it binds with no more than its ranking withholds at
// the target recall itself (WithheldAtTarget), so that a champion drifting just under its
// target does not refuse every challenger that holds it.
func championShare(pm *modelhistory.Figures, target float64) (float64, string) {
	if pm.Recall >= target-1e-12 || pm.WithheldAtTarget >= pm.Withheld {
		return pm.Withheld, fmt.Sprintf("%.1f%%", 100*pm.Withheld)
	}
	return pm.WithheldAtTarget, fmt.Sprintf("%.1f%% at recall %.4f, %.1f%% at the target",
		100*pm.Withheld, pm.Recall, 100*pm.WithheldAtTarget)
}

// calibrationNoise is the one-sided 95% allowance for the difference of two models'
// withheld shares that comes from each threshold being set on one day's sample.
func calibrationNoise(ch, pm *modelhistory.Figures) float64 {
	return 1.645 * math.Hypot(ch.WithheldSE, pm.WithheldSE)
}

// figures are a report's figures of one DSP in the history's terms.
func figures(m *evaluation.Metrics) modelhistory.Figures {
	f := modelhistory.Figures{Filtered: m.ThresholdOK, Recall: float64(m.Recall), Withheld: float64(m.FilteredShare),
		WithheldSE: float64(m.WithheldSE), WithheldAtTarget: float64(m.FSAtTarget)}
	if m.ThresholdOK && m.Threshold != nil {
		t := float64(*m.Threshold)
		f.Threshold = &t
	}
	if a := float64(m.AUC); !math.IsNaN(a) {
		f.AUC = &a
	}
	if m.RecallInterval != nil {
		f.RecallLower, f.RecallUpper = m.RecallInterval.Lower, m.RecallInterval.Upper
	}
	return f
}
