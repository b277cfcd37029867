package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/offline"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/training"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const exampleProfiles = "../dsp/sim/testdata/example.yaml"

// trainWindow is the simulated training window of the short test: 3 days from it.
var trainWindow = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// TestShapingEndToEnd is the short, deterministic end-to-end run inside `make test`:
//
//   - simulate 4 days x 15,000 requests of the example DSPs (seed 1) and train a small
//     network on them (hidden layers 64 and 32 instead of 1000 and 500, 3 epochs: seconds;
//     the full run, make e2e (FullRun), uses `bidsieve train` with the defaults);
//   - send 6,000 other requests (seed 2) through the gateway on loopback in front of the
//     simulated DSPs (dsp-sim, seed 1, answering at once), once with shaping off, once in
//     shadow mode and once filtering, at recall target 0.95 and exploration rate 0.02, at
//     six times of two simulated days;
//   - check, per DSP: bids kept, requests withheld against the oracle, shadow = off;
//   - write the shadow run's bid log with the gateway's writer and train a model on it: the
//     training pipeline accepts the gateway's own logs as they are.
//
// The assertions are what this sample size can support (see the comments at each).
func TestShapingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network and runs three gateways")
	}
	ctx := t.Context()
	dir := t.TempDir()
	profiles, err := sim.Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}

	// A model from simulated logs.
	logs := filepath.Join(dir, "sim")
	if _, err := offline.Run(ctx, offline.Config{Profiles: profiles, OutDir: logs, RequestsPerDay: 12000, Start: trainWindow, Days: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	res, err := training.Train(ctx, smallTraining(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained in %v", time.Since(started).Round(time.Millisecond))
	modelPath := filepath.Join(dir, "model.bsm")
	if err := modelfile.WriteFile(modelPath, res.File); err != nil {
		t.Fatal(err)
	}
	model, err := serving.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}

	// The gateway's own bid log of the shadow run, through the writer serve uses.
	gwLogs := filepath.Join(dir, "gateway")
	w, err := bidlog.NewWriter(gwLogs, bidlog.WriterOptions{Prefix: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	sink := gateway.NewAsyncBidLog(w, gateway.AsyncOptions{Queue: 1 << 16})

	day := trainWindow.AddDate(0, 0, 3)
	cfg := &Config{
		Profiles: profiles,
		Model:    model,
		Requests: Traffic(profiles, 2, 6000),
		// Two days (the closed loop below trains on the first and validates on the second).
		Phases:          append(Hours(day, 3, 9, 15, 21), Hours(day.AddDate(0, 0, 1), 6, 18)...),
		SimSeed:         1,
		QPS:             800, // under the smallest QPS limit of the DSPs (delta, 1,000/s)
		MaxInFlight:     8,   // few in flight: no queueing past the deadlines under -race
		RecallTarget:    0.95,
		ExplorationRate: 0.02,
		ShapingSeed:     5,
		BidLog:          sink,
		BidLogMode:      config.ModeShadow,
	}
	rep := compareModes(ctx, t, cfg)
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// Late pairs (an answer past the deadline: only a loaded machine makes them here, the
	// DSPs answering at once) are left out of the comparison; they must stay rare.
	if late := float64(rep.Overall.Late) / float64(rep.Requests*len(rep.DSPs)); late > 0.02 {
		t.Errorf("%.4f of the pairs were late in some run, want <= 0.02", late)
	}
	// Shadow sends exactly what off sends, and its log holds filter's decisions: the runs
	// see the same answers and the same scores, so these hold exactly.
	for _, d := range rep.DSPs {
		if d.ShadowMismatches != 0 || d.SentShadow != d.SentOff || d.BidsShadow != d.BidsOff {
			t.Errorf("%s: shadow sent %d (bids %d), off %d (bids %d), %d pairs differ", d.Name, d.SentShadow, d.BidsShadow, d.SentOff, d.BidsOff, d.ShadowMismatches)
		}
		if d.ShadowDisagreements != 0 {
			t.Errorf("%s: the shadow log disagrees with filter's decision on %d pairs", d.Name, d.ShadowDisagreements)
		}
	}
	// Bids kept. The thresholds aim at 0.95 with a one-sided 95% lower bound, so the
	// realized recall is about 0.95-0.97; on this sample (150 to 1,200 bids per DSP) its
	// standard error is up to 2 points. Overall (2,500 bids) it must reach 0.94; per DSP,
	// 0.90 (about 2.5 standard errors below 0.95 for the rarest bidder).
	if rep.Overall.Recall < 0.94 {
		t.Errorf("overall: %d bids with filter, %d off: recall %.4f, want >= 0.94", rep.Overall.BidsFilter, rep.Overall.BidsOff, rep.Overall.Recall)
	}
	// Requests withheld. A small network trained on 3 days of 12,000 requests does not
	// reach the full model's efficiency (0.95 and more per DSP, make e2e), and with
	// 150 to 1,200 validation bids per DSP its thresholds sit low to keep the recall's
	// bound at the target. Overall it must withhold at least 60% of what the oracle would
	// at the same recall (0.68 to 0.70 with the training code of November 2026); per DSP
	// at least 35% (echo, whose bids hardly depend on the request, is the weakest: 0.46 to
	// 0.54).
	if rep.Overall.Efficiency < 0.6 {
		t.Errorf("overall: withheld %.4f, the oracle %.4f: efficiency %.3f, want >= 0.6", rep.Overall.Withheld, rep.Overall.OracleFS, rep.Overall.Efficiency)
	}
	for _, d := range rep.DSPs {
		if d.Recall < 0.90 {
			t.Errorf("%s: %d bids with filter, %d off: recall %.4f, want >= 0.90", d.Name, d.BidsFilter, d.BidsOff, d.Recall)
		}
		if d.Efficiency < 0.35 {
			t.Errorf("%s: withheld %.4f, the oracle %.4f: efficiency %.3f, want >= 0.35", d.Name, d.Withheld, d.OracleFS, d.Efficiency)
		}
		if d.Withheld <= 0.02 {
			t.Errorf("%s: withheld %.4f of the requests", d.Name, d.Withheld)
		}
	}

	// The closed loop: a model trained on the gateway's own shadow log.
	loop := smallTraining(gwLogs)
	loop.MaxEpochs = 1 // reading the logs is the point
	back, err := training.Train(ctx, loop)
	if err != nil {
		t.Fatalf("training on the gateway's bid log: %v", err)
	}
	if n := len(back.File.DSPs); n != len(profiles.DSPs) {
		t.Errorf("the model trained on the gateway's log calibrates %d DSPs, want %d", n, len(profiles.DSPs))
	}
	if back.Report.Unlabelled != 0 {
		t.Errorf("%d shadow rows unlabelled: shadow rows were sent and carry labels", back.Report.Unlabelled)
	}
}

// smallTraining is the short test's training: the pipeline of `bidsieve train` with a
// smaller network and fewer epochs.
func smallTraining(dir string) training.Options {
	return training.Options{LogDir: dir, Seed: 1, MaxEpochs: 3,
		Net: training.NetConfig{Hidden: []int{32, 16}, BatchSize: 256, LearningRate: 3e-3}}
}

// compareModes runs cfg's requests in the three modes (CompareModes) and logs the report.
func compareModes(ctx context.Context, t *testing.T, cfg *Config) *Report {
	t.Helper()
	rep, err := CompareModes(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	return rep
}
