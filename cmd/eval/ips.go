package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/e2e"
	"github.com/bidsieve/bidsieve/training"
	"github.com/bidsieve/bidsieve/training/ips"
)

// ipsRun is `eval --ips` (make eval-ips): issue 13's unbiased-retraining experiment,
// in this process (package training/ips). The window flags mean: --days the days the
// three models train on (the last validates), after --champion-days days the champion
// trains on; --seed draws them, --test-seed the test day after them.
type ipsRun struct {
	champDays   int
	explore     float64
	exploreSeed uint64
}

func (r *evalRun) runIPS(ctx context.Context, stdout, stderr io.Writer) error {
	w := r.window
	prof, err := sim.Load(w.Profiles)
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("ips-%s-r%d-c%d-d%d-%s-s%d-t%d", strings.TrimSuffix(filepath.Base(w.Profiles), ".yaml"), w.RequestsPerDay,
		r.ips.champDays, w.Days, w.Start.Format(e2e.Day), w.Seed, r.testSeed)
	_, _ = fmt.Fprintln(stdout, "== machine")
	if err := e2e.WriteMachine(stdout); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "\n== unbiased retraining (issue 13): %d requests/day, champion %d days from %s, then %d days, exploration rate %v\n",
		w.RequestsPerDay, r.ips.champDays, w.Start.Format(e2e.Day), w.Days, r.ips.explore)
	res, err := ips.Run(ctx, ips.Options{
		Profiles: prof, Dir: filepath.Join(r.data, tag), RequestsPerDay: w.RequestsPerDay, Start: w.Start,
		ChampionDays: r.ips.champDays, Days: w.Days, Seed: w.Seed, TestSeed: r.testSeed,
		ExplorationRate: r.ips.explore, ExploreSeed: r.ips.exploreSeed,
		Train: training.Options{Seed: r.trainSeed, RecallTarget: r.recall,
			Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))},
		Log: stdout,
	})
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "\n== result (%v)\n\n", res.Elapsed.Round(1e9))
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	if fails := res.Check(); len(fails) > 0 {
		return fmt.Errorf("the issue's bar is not met (%d failures)", len(fails))
	}
	return nil
}
