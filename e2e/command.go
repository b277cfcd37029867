package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Command runs one of the developer commands over the binary (cmd/e2e, cmd/eval) and
// returns its exit status: 0, 1 when the run fails, 2 for a bad command line. define
// declares the command's flags on fs and returns what runs once they are parsed (and
// checked: an error it returns counts as a bad command line). Interrupt and SIGTERM end
// the run's context.
func Command(name string, args []string, stderr io.Writer, define func(fs *flag.FlagSet) func() (func(context.Context) error, error)) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ready := define(fs)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var run func(context.Context) error
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil {
		run, err = ready()
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// WindowFlags declares the flags of the binary, the data directory and a training
// window, with the defaults of the full runs (7 days x 150,000 requests of the example
// DSPs from 2024-03-01, seed 1); the returned function checks them once parsed.
func WindowFlags(fs *flag.FlagSet, bin, data *string, w *Window, defaultData string) func() error {
	fs.StringVar(bin, "bin", "bin/bidsieve", "the bidsieve binary (make builds it)")
	fs.StringVar(data, "data", defaultData, "directory of the logs, models and results (simulated logs are reused)")
	fs.StringVar(&w.Profiles, "profiles", "dsp/sim/testdata/example.yaml", "simulator profiles of the DSPs and the traffic")
	fs.IntVar(&w.RequestsPerDay, "requests", 150_000, "simulated requests per day of the training window")
	fs.IntVar(&w.Days, "days", 7, "days of the training window (the last validates)")
	start := fs.String("start", "2024-03-01", "first day of the training window (YYYY-MM-DD, UTC)")
	fs.Uint64Var(&w.Seed, "seed", 1, "seed of the training window")
	return func() error {
		var err error
		if w.Start, err = time.Parse(Day, *start); err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		if w.RequestsPerDay <= 0 || w.Days <= 0 {
			return fmt.Errorf("--requests and --days must be positive, not %d and %d", w.RequestsPerDay, w.Days)
		}
		return nil
	}
}
