package evaluation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor"
)

// testModel is a tiny network whose bid logit is 3 * (normalised log_floor) for every DSP:
// the first layer copies the floor input, the second turns it into the logit. alpha has a
// threshold, bravo none (too few bids when trained).
func testModel(t *testing.T) *predictor.Model {
	t.Helper()
	s := &features.Spec{Version: features.SpecVersion}
	for _, n := range features.CategoricalNames {
		f := features.Feature{Name: n, Kind: features.Categorical, EmbDim: 1}
		if n == "dsp" {
			f.Vocab = []string{"alpha", "bravo"}
		}
		s.Features = append(s.Features, f)
	}
	for _, n := range features.ContinuousNames {
		s.Features = append(s.Features, features.Feature{Name: n, Kind: features.Continuous, Std: 1})
	}
	var net modelfile.Network
	in := 0
	for _, f := range s.Features[:features.NumCategorical()] {
		net.Embeddings = append(net.Embeddings, modelfile.Matrix{Rows: f.Cardinality(), Cols: 1, Data: make([]float32, f.Cardinality())})
		in++
	}
	in += features.NumContinuous()
	w1 := make([]float32, in*1)
	w1[features.NumCategorical()] = 1 // log_floor -> hidden
	net.Layers = []modelfile.Dense{
		{W: modelfile.Matrix{Rows: in, Cols: 1, Data: w1}, B: []float32{0}},
		{W: modelfile.Matrix{Rows: 1, Cols: 2, Data: []float32{0, 3}}, B: []float32{0, -2}},
	}
	f := &modelfile.File{FormatVersion: modelfile.FormatVersion, Spec: *s, SpecHash: s.Hash(), Net: net,
		DSPs: []modelfile.DSP{
			{Name: "alpha", Target: 0.95, Threshold: 0.2, OK: true, Recall: 0.96, RecallLower: 0.951,
				Curve: []modelfile.CurvePoint{{Threshold: 0.1, Recall: 0.99, RecallLower: 0.98}, {Threshold: 0.2, Recall: 0.96, RecallLower: 0.951}, {Threshold: 0.5, Recall: 0.7, RecallLower: 0.68}}},
			{Name: "bravo", Target: 0.95, OK: false, Reason: "only 3 bids on the validation day"},
		},
		Meta: modelfile.Metadata{Version: "mtest", RecallTarget: 0.95}}
	m, err := predictor.New(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeLogs writes one day of rows for alpha, bravo and charlie (unknown to the model):
// the bid probability grows with the floor.
func writeLogs(t *testing.T, dir string, withTrueP bool) {
	t.Helper()
	w, err := bidlog.NewWriter(dir, bidlog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2024, 3, 9, 0, 0, 0, 0, time.UTC)
	var rows []bidlog.Row
	for q := 0; q < 3000; q++ {
		floor := math.Exp(rng.NormFloat64())
		for _, dsp := range []string{"alpha", "bravo", "charlie"} {
			p := 1 / (1 + math.Exp(-(3*math.Log1p(floor) - 2)))
			r := bidlog.Row{TS: start.Add(time.Duration(q) * time.Second).UnixMilli(), RequestID: fmt.Sprint("r", q), ImpID: "1",
				DSP: dsp, Raw: features.Raw{FloorCPM: floor}, Decision: bidlog.DecisionSent, Propensity: 1, Outcome: bidlog.OutcomeNoBid}
			if rng.Float64() < p {
				r.Outcome = bidlog.OutcomeBid
			}
			if withTrueP {
				r.TrueP = &p
			}
			rows = append(rows, r)
		}
		// An unlabelled row: ignored.
		rows = append(rows, bidlog.Row{TS: rows[len(rows)-1].TS, RequestID: "f", DSP: "alpha", Decision: bidlog.DecisionFiltered, Outcome: bidlog.OutcomeNotSent})
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEvaluateJSONShape(t *testing.T) {
	m := testModel(t)
	for _, withTrueP := range []bool{true, false} {
		t.Run(fmt.Sprint("true_p=", withTrueP), func(t *testing.T) {
			dir := t.TempDir()
			writeLogs(t, dir, withTrueP)
			rep, err := Evaluate(t.Context(), m, Options{LogDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(data, &top); err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, k := range []string{"dsps", "overall"} {
				var v map[string]any
				if err := json.Unmarshal(top[k], &v); err != nil {
					t.Fatalf("%s: %v in %s", k, err, data)
				}
				got[k] = v
			}
			keys := []string{"rows", "bids", "bid_rate", "auc", "threshold", "recall", "filtered_share", "fs_at_target"}
			oracle := []string{"oracle_filtered_share", "oracle_efficiency"}
			dsps, ok := got["dsps"]
			if !ok || got["overall"] == nil {
				t.Fatalf("no dsps or overall in %s", data)
			}
			for _, name := range []string{"alpha", "bravo", "charlie"} {
				d, ok := dsps[name].(map[string]any)
				if !ok {
					t.Fatalf("no %s in %s", name, data)
				}
				for _, k := range keys {
					if _, ok := d[k]; !ok {
						t.Errorf("%s lacks %q", name, k)
					}
				}
				for _, k := range oracle {
					if _, ok := d[k]; ok != withTrueP {
						t.Errorf("%s: %q present %v, logs carry true_p %v", name, k, ok, withTrueP)
					}
				}
			}
			for _, k := range keys {
				if _, ok := got["overall"][k]; !ok {
					t.Errorf("overall lacks %q", k)
				}
			}
			a := rep.DSPs["alpha"]
			if a.Rows != 3000 || !a.ThresholdOK || *a.Threshold != 0.2 {
				t.Errorf("alpha: %d rows, threshold %v ok %v", a.Rows, *a.Threshold, a.ThresholdOK)
			}
			if a.AUC < 0.7 || a.Recall <= 0 || a.Recall >= 1 || a.FilteredShare <= 0 {
				t.Errorf("alpha: AUC %v, recall %v, filtered %v", a.AUC, a.Recall, a.FilteredShare)
			}
			if withTrueP && (a.OracleEfficiency == nil || math.Abs(float64(*a.OracleEfficiency)-1) > 0.05) {
				t.Errorf("alpha scores true_p up to calibration: efficiency %v, want about 1", a.OracleEfficiency)
			}
			for _, name := range []string{"bravo", "charlie"} {
				d := rep.DSPs[name]
				if d.ThresholdOK || d.Recall != 1 || d.FilteredShare != 0 || d.Reason == "" {
					t.Errorf("%s: served unfiltered expected: ok %v recall %v filtered %v reason %q", name, d.ThresholdOK, d.Recall, d.FilteredShare, d.Reason)
				}
			}
			if rep.Unlabeled != 3000 {
				t.Errorf("%d unlabelled rows, want 3000", rep.Unlabeled)
			}
			var txt bytes.Buffer
			if err := rep.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(txt.String(), "charlie: no threshold, served unfiltered: not in the model") {
				t.Errorf("text report:\n%s", txt.String())
			}
		})
	}
}

func TestEvaluateOtherTargetAndBadInput(t *testing.T) {
	m := testModel(t)
	dir := t.TempDir()
	writeLogs(t, dir, true)
	rep, err := Evaluate(t.Context(), m, Options{LogDir: dir, RecallTarget: 0.98})
	if err != nil {
		t.Fatal(err)
	}
	if a := rep.DSPs["alpha"]; *a.Threshold != 0.1 || float64(a.Target) != 0.98 {
		t.Errorf("target 0.98: threshold %v (want 0.1 from the curve), target %v", *a.Threshold, a.Target)
	}
	if _, err := Evaluate(t.Context(), m, Options{LogDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no bid-log files") {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := Evaluate(t.Context(), m, Options{LogDir: dir + "/nope"}); err == nil || !strings.Contains(err.Error(), "log directory") {
		t.Errorf("missing directory: %v", err)
	}
}

// TestWithheldSE: the calibration noise of the withheld share is the curve's width over
// one standard error of recall: positive on a day with bids, about half as large on a day
// four times the size (fixed seed), and 0 with no bids.
func TestWithheldSE(t *testing.T) {
	day := func(n int) float64 {
		rng := rand.New(rand.NewPCG(3, uint64(n)))
		keys, p, bids, w := make([]uint64, n), make([]float64, n), make([]bool, n), make([]float64, n)
		for i := range n {
			keys[i], p[i], w[i] = uint64(i+1), rng.Float64()*rng.Float64(), 1
			bids[i] = rng.Float64() < p[i]
		}
		s := newScoring(keys, p, bids, w)
		_, thr := s.req.FSAt(0.95)
		return withheldSE(s.req, s.req.Recall(thr), s.req.EffectiveBidsAt(thr))
	}
	small, large := day(5000), day(20000)
	if !(small > 0.005 && small < 0.2) {
		t.Fatalf("withheld SE on 5,000 rows %.4f, want a few points", small)
	}
	if r := large / small; r < 0.35 || r > 0.7 {
		t.Errorf("withheld SE 4x the rows: %.4f vs %.4f (ratio %.2f), want about half", large, small, r)
	}
	if got := day(0); got != 0 {
		t.Errorf("no rows: %v, want 0", got)
	}
	t.Logf("withheld SE: %.4f on 5,000 rows, %.4f on 20,000", small, large)
}
