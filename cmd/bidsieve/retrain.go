package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/training"
	"github.com/bidsieve/bidsieve/training/retrain"
)

// runRetrain trains a challenger on the last days of the bid log and promotes it over the
// model in force when it passes (docs/DESIGN.md, "retrain"); with --every, forever.
func runRetrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("retrain", stderr)
	cfgPath := fs.String("config", "", "the configuration file serve uses: bidlog.dir, model.path, shaping.recall_target, retrain.* (required)")
	window := fs.String("window", "7d", "days of bid log read, the newest held out (Nd, or a duration in whole days)")
	every := fs.Duration("every", 0, "run again on this period until SIGTERM (0: once)")
	force := fs.Bool("force", false, "ask for a fresh challenger: judge it on the target alone, not against the champion (as the history's FORCE file does)")
	seed := fs.Uint64("seed", 1, "training seed")
	epochs := fs.Int("max-epochs", training.DefaultMaxEpochs, "most training epochs")
	untilS := fs.String("until", "", "end the window before this UTC day (2024-03-08, or an RFC 3339 time within it): the whole day before it is held out. For a gateway on a simulated clock (serve --clock), whose log runs into a day not over yet; empty: the newest day of the log")
	if err := parseFlags(fs, args, "config"); err != nil {
		return err
	}
	days, err := parseDays(*window)
	if err != nil {
		return fmt.Errorf("%w: --window: %w", errUsage, err)
	}
	if *every < 0 {
		return fmt.Errorf("%w: --every must be >= 0", errUsage)
	}
	var until time.Time
	if *untilS != "" && *every > 0 {
		return fmt.Errorf("%w: --until with --every: every run would read the same window", errUsage)
	}
	if *untilS != "" {
		if until, err = parseUntil(*untilS); err != nil {
			return fmt.Errorf("%w: --until: %w", errUsage, err)
		}
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	log := textLogger(stderr, false)
	targets := map[string]float64{}
	for i := range cfg.DSPs {
		if t := cfg.DSPs[i].ShapingFor(cfg.Shaping).RecallTarget; t != cfg.Shaping.RecallTarget {
			targets[cfg.DSPs[i].Name] = t
		}
	}
	opts := retrain.Options{
		LogDir: cfg.BidLog.Dir, ModelPath: cfg.Model.Path, WindowDays: days,
		Rule: retrain.Rule{Tolerance: cfg.Retrain.Tolerance, MinBids: int64(cfg.Retrain.MinBids), Force: *force},
		Train: training.Options{RecallTarget: cfg.Shaping.RecallTarget, Seed: *seed, MaxEpochs: *epochs,
			Builder: buildVersion(), Logger: log},
		Logger: log, Until: until,
	}
	for {
		res, err := retrain.Run(ctx, opts)
		switch {
		case ctx.Err() != nil:
			return nil // SIGTERM: stop cleanly, nothing promoted mid-run
		case err != nil && *every == 0:
			return err
		case err != nil:
			log.Error("retrain failed: the champion keeps serving", "err", err)
		default:
			printRetrain(stdout, res)
		}
		if *every == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// parseUntil reads --until: a UTC date or an RFC 3339 time.
func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want a date (2024-03-08) or an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// parseDays reads "7d", "7" or a duration of whole days ("168h").
func parseDays(s string) (int, error) {
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil {
		if n < 3 {
			return 0, errors.New("at least 3 days (two to train on, one held out to validate and judge on)")
		}
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%(24*time.Hour) != 0 {
		return 0, fmt.Errorf("%q: want whole days, as 7d", s)
	}
	return parseDays(strconv.Itoa(int(d / (24 * time.Hour))))
}

func printRetrain(w io.Writer, res *retrain.Result) {
	e := &res.Entry
	_, _ = fmt.Fprintf(w, "%s %s (champion %q), trained %s..%s, held out %s: %d training rows, %d held-out rows\n",
		e.Version, e.Status, e.Champion, e.WindowStart.Format("2006-01-02"), e.HeldOutDay.AddDate(0, 0, -1).Format("2006-01-02"),
		e.HeldOutDay.Format("2006-01-02"), e.TrainRows, e.HeldOutRows)
	for _, d := range e.DSPs {
		_, _ = fmt.Fprintf(w, "  %-12s %-6s %s\n", d.DSP, d.Verdict, d.Reason)
	}
}
