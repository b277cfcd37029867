package retrain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/training/evaluation"
)

// m is a DSP's held-out metrics: filtered or not, recall (interval ±0.02) and withheld share.
func m(filtered bool, recall, withheld float64, bids int64) *evaluation.Metrics {
	th := evaluation.Num(0.1)
	return &evaluation.Metrics{Rows: 10 * bids, Bids: bids, Target: 0.95, ThresholdOK: filtered, Threshold: &th,
		AUC: 0.8, Recall: evaluation.Num(recall), FilteredShare: evaluation.Num(withheld),
		RecallInterval: &stats.Interval{Estimate: recall, Lower: recall - 0.02, Upper: min(recall+0.02, 1)}}
}

// noisy is m with a withheld share whose calibration standard error is se.
func noisy(mm *evaluation.Metrics, se float64) *evaluation.Metrics {
	mm.WithheldSE = evaluation.Num(se)
	return mm
}

// atTarget is m with the share it would withhold at the target recall.
func atTarget(mm *evaluation.Metrics, fs float64) *evaluation.Metrics {
	mm.FSAtTarget = evaluation.Num(fs)
	return mm
}

func rep(dsps map[string]*evaluation.Metrics) *evaluation.Report {
	return &evaluation.Report{DSPs: dsps}
}

func TestDecide(t *testing.T) {
	rule := Rule{Tolerance: 0.02, MinBids: 100}
	for _, tc := range []struct {
		name        string
		chall, cham *evaluation.Metrics
		rule        Rule
		verdict     string
		reason      string
	}{
		{"holds recall, withholds more", m(true, 0.96, 0.40, 500), m(true, 0.96, 0.35, 500), rule, modelhistory.VerdictPass, "recall lower bound"},
		{"withheld within tolerance", m(true, 0.96, 0.34, 500), m(true, 0.96, 0.35, 500), rule, modelhistory.VerdictPass, ""},
		{"withheld drops", m(true, 0.96, 0.30, 500), m(true, 0.96, 0.35, 500), rule, modelhistory.VerdictFail, "more than the tolerance"},
		// 5 points less with standard errors of 3 points each: within 1.645·4.2 = 7.0 points of noise.
		{"withheld drops within the calibration noise", noisy(m(true, 0.96, 0.30, 500), 0.03), noisy(m(true, 0.96, 0.35, 500), 0.03), rule, modelhistory.VerdictPass, ""},
		// 12 points less: more than the 2 points and the 7.0 points of noise.
		{"withheld drops beyond the calibration noise", noisy(m(true, 0.96, 0.23, 500), 0.03), noisy(m(true, 0.96, 0.35, 500), 0.03), rule, modelhistory.VerdictFail, "calibration noise 7.0 points"},
		// The champion's threshold sits under the target (0.93, interval reaching it): of its
		// 45% it would withhold 36% at the target, and the challenger's 30% is within the 2
		// points and 1.645·4.2 = 7.0 points of noise of that, not of the 45%.
		{"champion under its target binds at the target recall", noisy(m(true, 0.96, 0.30, 500), 0.03), noisy(atTarget(m(true, 0.93, 0.45, 500), 0.36), 0.03), rule, modelhistory.VerdictPass, ""},
		{"champion under its target still binds at the target recall", noisy(m(true, 0.96, 0.25, 500), 0.03), noisy(atTarget(m(true, 0.93, 0.45, 500), 0.36), 0.03), rule, modelhistory.VerdictFail, "45.0% at recall 0.9300, 36.0% at the target"},
		// A champion above its target binds with its own share, whatever it would withhold at the target.
		{"champion above its target binds with its own share", m(true, 0.96, 0.30, 500), atTarget(m(true, 0.97, 0.35, 500), 0.30), rule, modelhistory.VerdictFail, "the champion 35.0%:"},
		{"recall wholly below target", m(true, 0.92, 0.50, 500), m(true, 0.96, 0.35, 500), rule, modelhistory.VerdictFail, "wholly below the target"},
		{"recall below but interval reaches it", m(true, 0.94, 0.40, 500), m(true, 0.96, 0.35, 500), rule, modelhistory.VerdictPass, ""},
		{"sends everything where the champion filters", m(false, 1, 0, 500), m(true, 0.96, 0.35, 500), rule, modelhistory.VerdictFail, "no threshold"},
		{"new DSP filtered", m(true, 0.96, 0.30, 500), nil, rule, modelhistory.VerdictGain, "filtered at recall"},
		{"DSP the champion sends everything, now filtered", m(true, 0.96, 0.30, 500), m(false, 1, 0, 500), rule, modelhistory.VerdictGain, ""},
		{"new DSP filtered below target", m(true, 0.90, 0.60, 500), nil, rule, modelhistory.VerdictFail, "wholly below"},
		{"too few bids", m(true, 0.5, 0.9, 40), m(true, 0.96, 0.35, 40), rule, modelhistory.VerdictNoted, "min_bids"},
		{"the champion misses the target: its withheld share does not bind", m(true, 0.96, 0.10, 500), m(true, 0.85, 0.35, 500), rule, modelhistory.VerdictGain, "champion misses the target"},
		{"the champion misses the target: sending everything restores recall", m(false, 1, 0, 500), m(true, 0.85, 0.35, 500), rule, modelhistory.VerdictPass, "champion misses the target"},
		{"the champion misses the target, the challenger too", m(true, 0.88, 0.30, 500), m(true, 0.85, 0.35, 500), rule, modelhistory.VerdictFail, "wholly below"},
		{"forced: the champion does not bind", m(true, 0.96, 0.10, 500), m(true, 0.96, 0.35, 500), Rule{Tolerance: 0.02, MinBids: 100, Force: true}, modelhistory.VerdictGain, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var champ *evaluation.Report
			if tc.cham != nil {
				champ = rep(map[string]*evaluation.Metrics{"alpha": tc.cham})
			}
			res, reasons := Decide(rep(map[string]*evaluation.Metrics{"alpha": tc.chall}), champ, nil, tc.rule)
			if len(res) != 1 || res[0].Verdict != tc.verdict || !strings.Contains(res[0].Reason, tc.reason) {
				t.Fatalf("got %+v, want %s (%q)", res, tc.verdict, tc.reason)
			}
			if (tc.verdict == modelhistory.VerdictFail) != (len(reasons) == 1) {
				t.Errorf("reasons %v for verdict %s", reasons, tc.verdict)
			}
		})
	}
}

// A DSP the champion filters that the held-out day does not show decides nothing but is listed.
func TestDecideListsChampionDSPsWithoutRows(t *testing.T) {
	f := &modelfile.File{DSPs: []modelfile.DSP{{Name: "alpha", OK: true, Target: 0.95}, {Name: "gone", OK: true, Target: 0.95}}}
	res, reasons := Decide(rep(map[string]*evaluation.Metrics{"alpha": m(true, 0.96, 0.4, 500)}),
		rep(map[string]*evaluation.Metrics{"alpha": m(true, 0.96, 0.4, 500)}), f, Rule{Tolerance: 0.02, MinBids: 100})
	if len(reasons) != 0 || len(res) != 2 || res[1].DSP != "gone" || res[1].Verdict != modelhistory.VerdictNoted {
		t.Errorf("got %+v %v", res, reasons)
	}
}

// The gateway's drift.json forces a fresh challenger only for the champion it was written under.
func TestDriftedUnder(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "current.bsm")
	if got := driftedUnder(model, "m1"); got != nil {
		t.Errorf("no drift.json: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, DriftFile), []byte(`{"model": "m1", "dsps": {"bravo": {}, "alpha": {}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := driftedUnder(model, "m1"); len(got) != 2 || got[0] != "alpha" || got[1] != "bravo" {
		t.Errorf("drift under the champion: %v", got)
	}
	if got := driftedUnder(model, "m2"); got != nil {
		t.Errorf("drift under another model: %v", got)
	}
}
