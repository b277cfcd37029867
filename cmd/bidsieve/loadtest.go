package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/loadtest"
	"github.com/schollz/progressbar/v3"
)

// loadtestTargets collects repeated URL flags.
type loadtestTargets []string

func (t *loadtestTargets) String() string { return strings.Join(*t, ",") }

func (t *loadtestTargets) Set(v string) error {
	if err := checkURL(v); err != nil {
		return err
	}
	*t = append(*t, v)
	return nil
}

// loadtestURL is one optional http(s) URL flag.
type loadtestURL string

func (u *loadtestURL) String() string { return string(*u) }

func (u *loadtestURL) Set(v string) error {
	if err := checkURL(v); err != nil {
		return err
	}
	*u = loadtestURL(v)
	return nil
}

func checkURL(v string) error {
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return fmt.Errorf("%q is not an http(s) URL", v)
	}
	return nil
}

// jsonOut is --json: alone, the report goes to stdout as JSON instead of text; with a
// file (--json FILE or --json=FILE), the report is written there as well as printed.
type jsonOut string

func (j *jsonOut) String() string   { return string(*j) }
func (j *jsonOut) IsBoolFlag() bool { return true }

func (j *jsonOut) Set(v string) error {
	if v == "true" {
		v = "-"
	}
	if v == "false" {
		v = ""
	}
	*j = jsonOut(v)
	return nil
}

// joinJSONFile turns "--json FILE" into "--json=FILE", since --json may stand alone.
func joinJSONFile(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--json" || a == "-json") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			a += "=" + args[i+1]
			i++
		}
		out = append(out, a)
	}
	return out
}

// runLoadtest sends open-loop load to a target and reports latency percentiles; with
// --ramp it finds the highest rate that holds, with --compare it runs two set-ups.
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest", stderr)
	var targets, targetsB loadtestTargets
	var metrics, metricsB, stats, statsB loadtestURL
	var asJSON jsonOut
	fs.Var(&targets, "target", "URL to POST bid requests to (repeat for several: used in turn)")
	fs.Var(&targetsB, "target-b", "with --compare: the second set-up's URL (repeatable)")
	fs.Var(&metrics, "metrics", "the gateway's /metrics URL, read before and after the run")
	fs.Var(&metricsB, "metrics-b", "with --compare: the second gateway's /metrics URL")
	fs.Var(&stats, "dsp-stats", "dsp-sim's /stats URL, read before and after the run")
	fs.Var(&statsB, "dsp-stats-b", "with --compare: the second set-up's dsp-sim /stats URL (--dsp-stats when unset)")
	qps := fs.Float64("qps", 1000, "requests per second, scheduled at a fixed rate")
	duration := fs.Duration("duration", 10*time.Second, "how long to send; with --ramp, how long the fastest step sends: every step sends the same TO x duration requests, so their bid shares compare")
	profiles := fs.String("profiles", "", "simulator profiles whose traffic section draws the requests")
	corpus := fs.String("corpus", "", "folder of OpenRTB request files (one JSON BidRequest each) to replay, with fresh ids, instead of --profiles")
	seed := fs.Uint64("seed", 1, "seed of the requests")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each request, from its scheduled time")
	maxInFlight := fs.Int("max-in-flight", 10000, "requests in flight beyond which scheduled ones are dropped (and counted)")
	conns := fs.Int("connections", 1000, "connections per target host at most")
	ramp := fs.String("ramp", "", "FROM:TO:STEP: step the rate and find the highest one that holds --max-p99 and --revenue-tolerance")
	maxP99 := fs.Duration("max-p99", 0, "latency the p99 of the auctions not shed must hold (late past it); each request's tmax when 0")
	tolerance := fs.Float64("revenue-tolerance", 0.03, "with --ramp: how far (relative) the share of auctions with a bid may fall below the first step's")
	compare := fs.Bool("compare", false, "run the same seeded traffic against --target and --target-b, one after the other, and print them side by side")
	fs.Var(&asJSON, "json", "print the report as JSON (alone), or write it as JSON to FILE (--json FILE)")
	if err := parseFlags(fs, joinJSONFile(args)); err != nil {
		return err
	}
	if len(targets) == 0 || (*profiles == "") == (*corpus == "") {
		return fmt.Errorf("%w: --target and one of --profiles or --corpus are required", errUsage)
	}
	if (*ramp == "" && *qps <= 0) || *duration <= 0 {
		return fmt.Errorf("%w: --qps and --duration must be positive", errUsage)
	}
	if *compare != (len(targetsB) > 0) {
		return fmt.Errorf("%w: --compare and --target-b go together", errUsage)
	}
	if *compare && *ramp != "" {
		return fmt.Errorf("%w: --ramp and --compare do not go together", errUsage)
	}
	var rampCfg loadtest.Ramp
	if *ramp != "" {
		var err error
		if rampCfg, err = loadtest.ParseRamp(*ramp); err != nil {
			return fmt.Errorf("%w: --ramp: %w", errUsage, err)
		}
		if *tolerance <= 0 || *tolerance >= 1 {
			return fmt.Errorf("%w: --revenue-tolerance must be in (0, 1)", errUsage)
		}
		rampCfg.Tolerance = *tolerance
	}
	src, err := loadtestSource(*profiles, *corpus)
	if err != nil {
		return err
	}
	cfg := loadtest.Config{
		Targets: targets, QPS: *qps, Duration: *duration, Source: src, Seed: *seed,
		Timeout: *timeout, LatencyBound: *maxP99, MaxInFlight: *maxInFlight, Connections: *conns,
		Metrics: string(metrics), DSPStats: string(stats),
	}
	if isTerminal(stderr) {
		cfg.Progress = progressLine(stderr)
	}
	var report interface{ Print(io.Writer) error }
	switch {
	case *compare:
		if statsB == "" {
			statsB = stats
		}
		c, cerr := loadtest.Compare(ctx, cfg,
			loadtest.Side{Name: "A", Targets: targets, Metrics: string(metrics), DSPStats: string(stats)},
			loadtest.Side{Name: "B", Targets: targetsB, Metrics: string(metricsB), DSPStats: string(statsB)})
		if c != nil && c.ResultB != nil {
			report = c
		}
		err = cerr
	case *ramp != "":
		r, rerr := loadtest.RunRamp(ctx, cfg, rampCfg, func(s loadtest.Step) {
			if asJSON != "-" {
				_, _ = fmt.Fprintln(stdout, s.Line())
			}
		})
		if r != nil {
			report = r
		}
		err = rerr
	default:
		res, rerr := loadtest.Run(ctx, cfg)
		if res != nil {
			report = res
		}
		err = rerr
	}
	if report != nil {
		if werr := writeLoadtestReport(report, string(asJSON), stdout); werr != nil {
			return werr
		}
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return err
}

func loadtestSource(profiles, corpus string) (loadtest.Source, error) {
	if corpus != "" {
		return loadtest.LoadCorpus(corpus)
	}
	p, err := sim.Load(profiles)
	if err != nil {
		return nil, err
	}
	return loadtest.Profiles{Traffic: p.Traffic}, nil
}

// writeLoadtestReport prints the report as text, or as JSON to stdout (jsonTo "-"), and
// writes it as JSON to the file jsonTo names.
func writeLoadtestReport(report interface{ Print(io.Writer) error }, jsonTo string, stdout io.Writer) error {
	if jsonTo != "-" {
		if err := report.Print(stdout); err != nil {
			return err
		}
	}
	if jsonTo == "" {
		return nil
	}
	if jsonTo == "-" {
		return encodeReport(stdout, report)
	}
	f, err := os.Create(jsonTo)
	if err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	err = encodeReport(f, report)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write the JSON report: %w", cerr)
	}
	return err
}

func encodeReport(w io.Writer, report any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	return nil
}

// progressLine returns a Progress that draws one run at a time on w.
func progressLine(w io.Writer) func(done, total int64) {
	var bar *progressbar.ProgressBar
	return func(done, total int64) {
		if bar == nil {
			bar = newProgressBar(w, total, "loadtest", "req")
		}
		_ = bar.Set64(done)
		if done >= total {
			_ = bar.Finish()
			bar = nil
		}
	}
}
