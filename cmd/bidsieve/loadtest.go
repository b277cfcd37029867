package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/loadtest"
)

// loadtestTargets collects repeated --target flags.
type loadtestTargets []string

func (t *loadtestTargets) String() string { return strings.Join(*t, ",") }

func (t *loadtestTargets) Set(v string) error {
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return fmt.Errorf("%q is not an http(s) URL", v)
	}
	*t = append(*t, v)
	return nil
}

// runLoadtest sends open-loop load to a target and reports latency percentiles.
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest", stderr)
	var targets loadtestTargets
	fs.Var(&targets, "target", "URL to POST bid requests to (repeat for several: used in turn)")
	qps := fs.Float64("qps", 1000, "requests per second, scheduled at a fixed rate")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	profiles := fs.String("profiles", "", "simulator profiles whose traffic section draws the requests (required)")
	seed := fs.Uint64("seed", 1, "seed of the requests")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each request, from its scheduled time")
	maxInFlight := fs.Int("max-in-flight", 10000, "requests in flight beyond which scheduled ones are dropped (and counted)")
	conns := fs.Int("connections", 1000, "connections per target host at most")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(targets) == 0 || *profiles == "" {
		return fmt.Errorf("%w: --target and --profiles are required", errUsage)
	}
	if *qps <= 0 || *duration <= 0 {
		return fmt.Errorf("%w: --qps and --duration must be positive", errUsage)
	}
	p, err := sim.Load(*profiles)
	if err != nil {
		return err
	}
	res, err := loadtest.Run(ctx, loadtest.Config{
		Targets: targets, QPS: *qps, Duration: *duration, Traffic: p.Traffic, Seed: *seed,
		Timeout: *timeout, MaxInFlight: *maxInFlight, Connections: *conns,
	})
	if res != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(res); jerr != nil {
				return jerr
			}
		} else {
			if perr := res.Print(stdout); perr != nil {
				return perr
			}
		}
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return err
}
