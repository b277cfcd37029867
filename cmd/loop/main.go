// Command loop is `make loop`: issue 13's closed loop, unattended, on loopback (e2e.Loop).
// A model trained on simulated logs, then --days simulated days of traffic through the
// gateway in filter mode against the simulated DSPs, `retrain` after every day on the
// gateway's own bid log, two DSPs changing what they buy on --change-day and a DSP joining
// on --add-day; a day-by-day table of each DSP's live and true recall, traffic withheld,
// the model in force and the drift guard. docs/LOOP.md keeps one run.
//
//	go run ./cmd/loop                          the full run (make loop)
//	go run ./cmd/loop --requests 5000 --small  a quick one (its bars may fail)
//
// It exits 1 when a bar is missed, 2 on a bad command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/e2e"
	"github.com/bidsieve/bidsieve/training"
)

func main() {
	os.Exit(e2e.Command("loop", os.Args[1:], os.Stderr, define))
}

func define(fs *flag.FlagSet) func() (func(context.Context) error, error) {
	def := config.Defaults()
	l := &e2e.Loop{Out: os.Stdout}
	dir := fs.String("data", "data/loop", "working folder (emptied first): bidlog/, models/")
	profiles := fs.String("profiles", "dsp/sim/testdata/example.yaml", "profile file of the DSPs and the traffic before the change")
	changes := fs.String("changes", "e2e/testdata/loop/change.yaml", "overlay of --change-day: DSP entries replacing those of the same name")
	added := fs.String("added", "e2e/testdata/loop/add.yaml", "overlay of --add-day: new DSP entries")
	start := fs.String("start", "2024-03-04", "first served day (YYYY-MM-DD, UTC)")
	fs.IntVar(&l.Days, "days", 8, "served days")
	fs.IntVar(&l.WarmDays, "warm-days", 3, "days of unfiltered simulated logs before --start that the first model is trained on")
	fs.IntVar(&l.PerDay, "requests", 40_000, "requests per day")
	phases := fs.String("phases", "1,7,13,19", "hours of the day's stretches of traffic")
	fs.DurationVar(&l.Span, "span", 30*time.Minute, "simulated length of each stretch")
	changeDay := fs.Int("change-day", 4, "the day (1 = the first served) two DSPs change; 0: never")
	addDay := fs.Int("add-day", 5, "the day a DSP joins; 0: never")
	fs.Uint64Var(&l.Seed, "seed", 1, "seed of the traffic, the DSPs, shaping and training")
	fs.Float64Var(&l.RecallTarget, "recall-target", def.Shaping.RecallTarget, "shaping.recall_target of every DSP")
	fs.Float64Var(&l.ExplorationRate, "exploration", 0.1, "shaping.exploration_rate (above the default 0.02: the loop's 15-minute live window holds 5,000 requests, a production gateway's at 1,000 auctions/s 900,000, and the drift guard's interval narrows with the explored bids)")
	fs.DurationVar(&l.DriftAfter, "drift-after", 5*time.Minute, "shaping.drift_after (simulated time), with on_drift shadow")
	fs.IntVar(&l.WindowDays, "window", 3, "retrain --window, in days")
	epochs := fs.Int("max-epochs", training.DefaultMaxEpochs, "retrain --max-epochs")
	small := fs.Bool("small", false, "a small network (32/16) instead of the product's 1000/500, for a quick run")
	minRecall := fs.Float64("min-recall", 0.94, "the bar: true recall of the changed and added DSPs on the last day")
	gap := fs.Float64("max-withheld-gap", 0.05, "the bar: the changed DSPs' withheld share on the last day against the day before the change")
	fs.IntVar(&l.MaxInFlight, "in-flight", 32, "auctions in flight at most")
	return func() (func(context.Context) error, error) {
		var err error
		if l.Start, err = time.Parse(time.DateOnly, *start); err != nil {
			return nil, fmt.Errorf("--start: %w", err)
		}
		for _, h := range strings.Split(*phases, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(h))
			if err != nil || n < 0 || n > 23 {
				return nil, fmt.Errorf("--phases: %q is not an hour", h)
			}
			l.Phases = append(l.Phases, n)
		}
		l.ChangeDay, l.AddDay = *changeDay-1, *addDay-1
		l.Dir = *dir
		l.Train = training.Options{MaxEpochs: *epochs}
		if *small {
			l.Train.Net = training.NetConfig{Hidden: []int{32, 16}, BatchSize: 256, LearningRate: 3e-3}
		}
		for _, f := range []struct {
			dst  *[]byte
			path string
		}{{&l.Profiles, *profiles}, {&l.Changes, *changes}, {&l.Added, *added}} {
			if *f.dst, err = os.ReadFile(f.path); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context) error {
			rep, err := l.Run(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("\n%d days in %s\n", len(rep.Days), rep.Elapsed.Round(time.Second))
			if miss := rep.Check(l.ChangeDay, l.AddDay, *minRecall, *gap); len(miss) > 0 {
				for _, m := range miss {
					fmt.Println("MISSED:", m)
				}
				return fmt.Errorf("%d bars missed", len(miss))
			}
			fmt.Println("all bars met")
			return nil
		}, nil
	}
}
