package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/offline"
	"github.com/schollz/progressbar/v3"
)

// runSimulate writes labelled bid logs from simulator profiles, without network.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", stderr)
	profiles := fs.String("profiles", "", "simulator profiles (YAML, required)")
	out := fs.String("out", "", "directory for the bid-log Parquet files (required)")
	requests := fs.Int("requests", 100_000, "requests per simulated day")
	start := fs.String("start", "2024-01-01", "first simulated day, YYYY-MM-DD (UTC)")
	days := fs.Int("days", 1, "number of simulated days")
	seed := fs.Uint64("seed", 1, "seed of the requests and outcomes (the publishers depend on traffic.seed only)")
	if err := parseFlags(fs, args, "profiles", "out"); err != nil {
		return err
	}
	if *requests < 0 || *days < 1 {
		return fmt.Errorf("%w: --requests must be >= 0 and --days >= 1", errUsage)
	}
	day, err := time.Parse("2006-01-02", *start)
	if err != nil {
		return fmt.Errorf("%w: --start: %w", errUsage, err)
	}
	p, err := sim.Load(*profiles)
	if err != nil {
		return err
	}

	cfg := offline.Config{
		Profiles: p, OutDir: *out, RequestsPerDay: *requests,
		Start: day, Days: *days, Seed: *seed,
	}
	var bar *progressbar.ProgressBar
	if isTerminal(stderr) {
		bar = newProgressBar(stderr, int64(*requests)*int64(*days), "simulate", "req")
		cfg.Progress = func(done, _ int64) { _ = bar.Set64(done) }
	}
	sum, err := offline.Run(ctx, cfg)
	if bar != nil {
		_ = bar.Finish()
	}
	if sum != nil {
		printSimSummary(stdout, *out, sum)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted: the rows written so far are published")
	}
	return err
}

func printSimSummary(w io.Writer, dir string, s *offline.Summary) {
	secs := s.Elapsed.Seconds()
	_, _ = fmt.Fprintf(w, "wrote %d rows (%d requests, %d imps, %d DSPs) in %d files, %.1f MiB, to %s\n",
		s.Rows, s.Requests, s.Imps, len(s.DSPs), s.Files, float64(s.Bytes)/(1<<20), dir)
	if secs > 0 {
		_, _ = fmt.Fprintf(w, "in %.1fs: %.0f rows/s\n", secs, float64(s.Rows)/secs)
	}
	_, _ = fmt.Fprintf(w, "\n%-12s %10s %10s %9s %11s %8s %8s %10s %10s\n",
		"dsp", "rows", "bids", "bid_rate", "mean_true_p", "timeout", "error", "wins", "spend_cpm")
	for _, d := range s.DSPs {
		_, _ = fmt.Fprintf(w, "%-12s %10d %10d %8.3f%% %10.3f%% %7.2f%% %7.2f%% %10d %10.2f\n",
			d.Name, d.Rows, d.Bids, 100*d.BidRate(), 100*d.MeanTrueP(),
			100*simRatio(d.Timeouts, d.Rows), 100*simRatio(d.Errors, d.Rows), d.Wins, d.SpendCPM)
	}
}

func simRatio(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}
