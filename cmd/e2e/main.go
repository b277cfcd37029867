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
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/e2e"
)

func main() {
	os.Exit(e2e.Command("e2e", os.Args[1:], os.Stderr, define))
}

// define declares the flags of a FullRun.
func define(fs *flag.FlagSet) func() (func(context.Context) error, error) {
	r := &e2e.FullRun{Out: os.Stdout}
	window := e2e.WindowFlags(fs, &r.Bin, &r.Data, &r.Window, "data/e2e")
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
	return func() (func(context.Context) error, error) {
		if err := window(); err != nil {
			return nil, err
		}
		r.TrainFlags = strings.Fields(*trainFlags)
		if strings.Trim(r.Steps, "234") != "" {
			return nil, fmt.Errorf("--steps %q: want digits among 2, 3 and 4", r.Steps)
		}
		return r.Run, nil
	}
}
