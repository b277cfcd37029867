package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/predictor/serving"
)

// The targets of step 2, per DSP: bids kept, the share of the oracle's withheld requests,
// and the most pairs that may be left out as late.
const (
	fullMinRecall     = 0.94
	fullMinEfficiency = 0.90
	fullMaxLate       = 0.01
)

// FullScale is step 2's comparison: n requests of the traffic generator (seed 2) at 8
// times of day (0h, 3h, ... 21h), at 800/s with at most 16 in flight, against the DSPs
// answering with seed 2 and latencies scaled by latency (0: at once); recall target 0.95,
// exploration 0.02, shaping seed 5.
func FullScale(profiles *sim.Profiles, model *serving.Scorer, day time.Time, n int, latency float64) *Config {
	return &Config{
		Profiles:        profiles,
		Model:           model,
		Requests:        Traffic(profiles, 2, n),
		Phases:          Hours(day, 0, 3, 6, 9, 12, 15, 18, 21),
		SimSeed:         2,
		QPS:             800,
		MaxInFlight:     16, // the sender waits for a slot: no queueing past the deadlines
		LatencyScale:    latency,
		RecallTarget:    0.95,
		ExplorationRate: 0.02,
		ShapingSeed:     5,
	}
}

// shaping is step 2: off, shadow and filter on the same requests, the table on Out and in
// Data/shaping.md, the targets checked.
func (r *fullRun) shaping(ctx context.Context) error {
	r.section("\n== 2. shaping on the same requests: off, shadow, filter")
	profiles, err := sim.Load(r.Window.Profiles)
	if err != nil {
		return err
	}
	model, err := serving.Load(r.model)
	if err != nil {
		return err
	}
	rep, err := CompareModes(ctx, FullScale(profiles, model, r.Window.Next(), r.ShapingRequests, r.ShapingLatency))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		return err
	}
	path := filepath.Join(r.Data, "shaping.md")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("shaping table: %w", err)
	}
	_, _ = fmt.Fprintf(r.Out, "%s(table also in %s)\n", b.String(), path)
	for _, p := range rep.Check(fullMinRecall, fullMinEfficiency, fullMaxLate) {
		_, _ = fmt.Fprintln(r.Out, "MISSED:", p)
		r.failed = append(r.failed, "shaping: "+p)
	}
	return nil
}
