// Command e2e is `make e2e`: traffic shaping end to end at full scale with the bidsieve
// binary (e2e.FullRun: simulated logs and `bidsieve train`; off, shadow and filter on the
// same requests; the gateway's CPU per auction, off against filter; model swaps under
// load). docs/SHAPING.md and docs/BENCHMARKS.md record its runs. It is a developer's
// tool, not part of the shipped binary.
//
//	go run ./cmd/e2e                                   the full run (make e2e)
//	go run ./cmd/e2e --steps 3 --rounds 20             only the CPU comparison
//	go run ./cmd/e2e --data /tmp/e2e --requests 20000 --shaping-requests 20000 \
//	    --rounds 4 --train-flags "--max-epochs 2"      a quicker, smaller run (its targets may fail)
//
// It exits 1 when a step misses its targets (after running the others), 2 on a bad
// command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bidsieve/bidsieve/e2e"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	r, err := parse(args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "e2e:", err)
		return 2
	}
	if err := r.Run(ctx); err != nil {
		_, _ = fmt.Fprintln(stderr, "e2e:", err)
		return 1
	}
	return 0
}

// parse reads the command line into a run.
func parse(args []string, stdout, stderr io.Writer) (*e2e.FullRun, error) {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	r := &e2e.FullRun{Out: stdout}
	fs.StringVar(&r.Bin, "bin", "bin/bidsieve", "the bidsieve binary (make e2e builds it)")
	fs.StringVar(&r.Data, "data", "data/e2e", "directory of the logs, models and results (reused)")
	fs.StringVar(&r.Window.Profiles, "profiles", "dsp/sim/testdata/example.yaml", "simulator profiles of the DSPs and the traffic")
	fs.IntVar(&r.Window.RequestsPerDay, "requests", 150_000, "simulated requests per day of the training window")
	fs.IntVar(&r.Window.Days, "days", 7, "days of the training window")
	start := fs.String("start", "2024-03-01", "first day of the training window (YYYY-MM-DD, UTC)")
	trainFlags := fs.String("train-flags", "", "extra flags of bidsieve train, e.g. \"--max-epochs 2\" for a quick run")
	fs.IntVar(&r.ShapingRequests, "shaping-requests", 100_000, "requests of step 2 (off, shadow, filter)")
	fs.Float64Var(&r.ShapingLatency, "shaping-latency", 0, "step 2's scale of the DSPs' latencies (0: they answer at once)")
	fs.Float64Var(&r.CPUQPS, "cpu-qps", 500, "step 3's load, auctions/s")
	fs.DurationVar(&r.CPUDuration, "cpu-duration", 20*time.Second, "step 3's turn length")
	fs.IntVar(&r.Rounds, "rounds", 10, "step 3's rounds (one turn of each gateway each)")
	fs.StringVar(&r.CPUDesign, "cpu-design", e2e.DesignSideBySide, "step 3's design: side-by-side (both gateways up, taking turns) or one-at-a-time (a fresh gateway per turn)")
	fs.Float64Var(&r.SwapQPS, "swap-qps", 1000, "step 4's load, auctions/s")
	fs.DurationVar(&r.SwapDuration, "swap-duration", 30*time.Second, "step 4's length")
	fs.IntVar(&r.PortBase, "port-base", 19100, "first of the 4 loopback ports used")
	fs.StringVar(&r.Steps, "steps", "234", "which of steps 2, 3 and 4 to run (step 1 makes what is missing)")
	fs.Uint64Var(&r.Window.Seed, "seed", 1, "seed of the training window")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if r.Window.Start, err = time.Parse(e2e.Day, *start); err != nil {
		return nil, fmt.Errorf("--start: %w", err)
	}
	r.TrainFlags = strings.Fields(*trainFlags)
	if r.CPUDesign != e2e.DesignSideBySide && r.CPUDesign != e2e.DesignOneAtATime {
		return nil, fmt.Errorf("--cpu-design must be %s or %s", e2e.DesignSideBySide, e2e.DesignOneAtATime)
	}
	if strings.Trim(r.Steps, "234") != "" {
		return nil, fmt.Errorf("--steps %q: want digits among 2, 3 and 4", r.Steps)
	}
	return r, nil
}
