package e2e

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/predictor/serving/servingtest"
)

// TestModelSwapUnderLoad sends 1,000 auctions a second (300 under the race detector, which
// makes every auction several times slower) through a filtering gateway for 4 seconds
// while the model is replaced and reloaded every 50 ms (or as fast as reloads go), two
// models in turn: the file rewritten, then the other model rolled back from the model
// history (the admin API's rollback), and so on. Every auction is answered (200 or 204),
// none fails open, and both models served. make e2e's step 4 does the same with the
// processes at 1,000/s through the admin API.
func TestModelSwapUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("4 seconds of load")
	}
	profiles, err := sim.Load(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	names := profiles.Names()
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
	history := admin.Folder{Dir: modelhistory.Dir(path), ModelPath: path}
	for _, f := range files {
		if err := modelhistory.Record(history.Dir, &modelhistory.Entry{Version: f.Meta.Version, Status: modelhistory.StatusPromoted}, f); err != nil {
			t.Fatal(err)
		}
	}
	var rollbacks atomic.Int64
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
				if i%2 == 1 {
					if err := modelfile.WriteFile(path, files[i%2]); err != nil {
						t.Error(err)
						return
					}
				} else {
					if err := history.Rollback(files[0].Meta.Version); err != nil {
						t.Error(err)
						return
					}
					rollbacks.Add(1)
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
	if swaps.Load() < seconds*2 || swapErrors.Load() != 0 || rollbacks.Load() < seconds {
		t.Errorf("%d swaps (%d of them rollbacks), %d failed; want one every 50 ms or so, half of them rollbacks, none failed",
			swaps.Load(), rollbacks.Load(), swapErrors.Load())
	}
	if res.Rows["one"] == 0 || res.Rows["two"] == 0 || res.Rows["one"]+res.Rows["two"] != rows {
		t.Errorf("rows by model %v: want both models, and no other", res.Rows)
	}
	if res.Decisions["fail_open"] != 0 {
		t.Errorf("%d rows failed open during the swaps", res.Decisions["fail_open"])
	}
}
