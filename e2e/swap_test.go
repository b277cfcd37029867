package e2e

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/predictor/serving/servingtest"
)

// TestModelSwapUnderLoad sends 1,000 auctions a second (300 under the race detector, which
// makes every auction several times slower) through a filtering gateway for 4 seconds
// while the model file is rewritten and reloaded every 50 ms (or as fast as reloads go),
// two models in turn: every
// auction is answered (200 or 204), none fails open, and both models served.
func TestModelSwapUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("4 seconds of load")
	}
	profiles, err := sim.Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range profiles.DSPs {
		names = append(names, d.Name)
	}
	path := filepath.Join(t.TempDir(), "current.bsm")
	files := []*modelfile.File{
		servingtest.File(servingtest.Options{Seed: 1, DSPs: names, Threshold: 0.3, Version: "one"}),
		servingtest.File(servingtest.Options{Seed: 2, DSPs: names, Threshold: 0.6, Version: "two"}),
	}
	if err := modelfile.WriteFile(path, files[0]); err != nil {
		t.Fatal(err)
	}
	first, err := serving.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	qps := 1000.0
	if raceEnabled {
		qps = 300
	}
	const seconds = 4
	n := int(qps * seconds)
	var swaps, swapErrors atomic.Int64
	cfg := &Config{
		Profiles: profiles, Model: first, Requests: Traffic(profiles, 3, n),
		Phases:  Hours(time.Date(2024, 3, 8, 0, 0, 0, 0, time.UTC), 14),
		SimSeed: 1, QPS: qps, MaxInFlight: 512, RecallTarget: 0.95, ExplorationRate: 0.02, ShapingSeed: 1,
		ModelPath: path, LoadModel: serving.LoadModel,
		Alongside: func(ctx context.Context, g *gateway.Gateway) {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := 1; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if err := modelfile.WriteFile(path, files[i%2]); err != nil {
					t.Error(err)
					return
				}
				if err := g.ReloadModel(ctx); err != nil && ctx.Err() == nil {
					swapErrors.Add(1)
					t.Errorf("reload %d: %v", i, err)
				}
				swaps.Add(1)
			}
		},
	}
	res, err := Run(t.Context(), cfg, config.ModeFilter)
	if err != nil {
		t.Fatal(err) // Run fails when an auction gets anything but 200 or 204
	}
	var rows int64
	for _, c := range res.Rows {
		rows += c
	}
	answered := 0
	for _, pairs := range res.Pairs {
		if pairs[0].Decision != "" {
			answered++
		}
	}
	t.Logf("%d auctions in %v (%.0f/s), %d model swaps, rows by model %v, decisions %v",
		n, res.Elapsed.Round(time.Millisecond), float64(n)/res.Elapsed.Seconds(), swaps.Load(), res.Rows, res.Decisions)
	if res.Failed != 0 || answered != n {
		t.Errorf("%d auctions failed, %d of %d logged", res.Failed, answered, n)
	}
	// A reload (write, read, check, prepare) takes a few ms, ten times more under -race.
	if swaps.Load() < seconds*2 || swapErrors.Load() != 0 {
		t.Errorf("%d swaps, %d failed; want one every 50 ms or so, none failed", swaps.Load(), swapErrors.Load())
	}
	if res.Rows["one"] == 0 || res.Rows["two"] == 0 || res.Rows["one"]+res.Rows["two"] != rows {
		t.Errorf("rows by model %v: want both models, and no other", res.Rows)
	}
	if res.Decisions["fail_open"] != 0 {
		t.Errorf("%d rows failed open during the swaps", res.Decisions["fail_open"])
	}
}
