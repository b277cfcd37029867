// Command eval is `make eval`: the full training-quality run (docs/TRAINING.md records
// one) with the bidsieve binary:
//
//  1. simulate --days days x --requests requests/day from --profiles with --seed (the
//     training window: every day but the last trains, the last validates);
//
//  2. simulate the day after with --test-seed (the test day: same publishers, other draws);
//
//  3. bidsieve train, with its wall time, CPU time and peak memory;
//
//  4. bidsieve evaluate on the test day, as a table and as JSON.
//
//     go run ./cmd/eval                                             the defaults (make eval)
//     go run ./cmd/eval --profiles dsp/sim/testdata/unseen.yaml     the same run on other DSPs
//     go run ./cmd/eval --data /tmp/eval --requests 20000           a quick, smaller run
//
// Simulated logs are reused when --data already holds them for the same settings. It is a
// developer's tool, not part of the shipped binary.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bidsieve/bidsieve/e2e"
)

func main() {
	os.Exit(e2e.Command("eval", os.Args[1:], os.Stderr, define))
}

// evalRun is one run's settings.
type evalRun struct {
	bin, data           string
	window              e2e.Window
	testSeed, trainSeed uint64
	recall              float64
	ips                 ipsRun
	runsIPS             bool
}

// define declares the flags of an evalRun.
func define(fs *flag.FlagSet) func() (func(context.Context) error, error) {
	r := &evalRun{}
	window := e2e.WindowFlags(fs, &r.bin, &r.data, &r.window, "data/eval")
	fs.Uint64Var(&r.testSeed, "test-seed", 2, "seed of the test day")
	fs.Uint64Var(&r.trainSeed, "train-seed", 1, "seed of bidsieve train")
	fs.Float64Var(&r.recall, "recall", 0.95, "recall target of the thresholds")
	fs.BoolVar(&r.runsIPS, "ips", false, "run issue 13's unbiased-retraining experiment instead (--days: the days the models train on)")
	fs.IntVar(&r.ips.champDays, "champion-days", 2, "with --ips: days the champion trains on, before the --days")
	fs.Float64Var(&r.ips.explore, "explore", 0.02, "with --ips: exploration rate of the gateway that wrote the filtered log")
	fs.Uint64Var(&r.ips.exploreSeed, "explore-seed", 1, "with --ips: seed of the exploration draws (shaping.seed)")
	return func() (func(context.Context) error, error) {
		if err := window(); err != nil {
			return nil, err
		}
		if r.runsIPS {
			if r.ips.champDays < 2 || r.window.Days < 2 {
				return nil, fmt.Errorf("--champion-days %d and --days %d: each needs at least 2", r.ips.champDays, r.window.Days)
			}
			if !(r.ips.explore > 0 && r.ips.explore <= 0.5) {
				return nil, fmt.Errorf("--explore %v: must be in (0, 0.5]", r.ips.explore)
			}
			return func(ctx context.Context) error { return r.runIPS(ctx, os.Stdout, os.Stderr) }, nil
		}
		return func(ctx context.Context) error { return r.run(ctx, os.Stdout, os.Stderr) }, nil
	}
}

func (r *evalRun) run(ctx context.Context, stdout, stderr io.Writer) error {
	w := r.window
	testDay := w.Next()
	tag := fmt.Sprintf("%s-r%d-d%d-%s-s%d", strings.TrimSuffix(filepath.Base(w.Profiles), ".yaml"), w.RequestsPerDay, w.Days, w.Start.Format(e2e.Day), w.Seed)
	dir := filepath.Join(r.data, tag)
	trainDir := filepath.Join(dir, "train")
	testDir := filepath.Join(dir, fmt.Sprintf("test-%s-s%d", testDay.Format(e2e.Day), r.testSeed))
	model := filepath.Join(dir, fmt.Sprintf("model-s%d.bsm", r.trainSeed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	procs := &e2e.Procs{Bin: r.bin}
	defer procs.StopAll()

	_, _ = fmt.Fprintln(stdout, "== machine")
	if err := e2e.WriteMachine(stdout); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "\n== simulate: training window (%d days from %s, seed %d) and test day (%s, seed %d)\n",
		w.Days, w.Start.Format(e2e.Day), w.Seed, testDay.Format(e2e.Day), r.testSeed)
	if err := w.Make(ctx, procs, trainDir, stdout); err != nil {
		return err
	}
	test := e2e.Window{Profiles: w.Profiles, RequestsPerDay: w.RequestsPerDay, Days: 1, Start: testDay, Seed: r.testSeed}
	if err := test.Make(ctx, procs, testDir, stdout); err != nil {
		return err
	}

	_, _ = fmt.Fprintln(stdout, "\n== train")
	progress := &dropLines{w: stderr, drop: regexp.MustCompile(`^epoch [0-9]+/[0-9]+: [0-9]+/`)}
	started := time.Now()
	p, err := procs.Start(stdout, progress, "train", "--logs", trainDir, "--out", model,
		"--recall", strconv.FormatFloat(r.recall, 'g', -1, 64), "--seed", strconv.FormatUint(r.trainSeed, 10))
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		_ = p.Stop()
		return ctx.Err()
	}
	progress.flush()
	if err := p.Err(); err != nil {
		return fmt.Errorf("bidsieve train: %w", err)
	}
	st := p.State()
	_, _ = fmt.Fprintf(stdout, "wall time %v, user %v, system %v, peak memory %s\n", time.Since(started).Round(time.Second),
		st.UserTime().Round(time.Second), st.SystemTime().Round(time.Second), peakMemory(st))

	_, _ = fmt.Fprintln(stdout, "\n== evaluate on the test day")
	if err := procs.Run(ctx, stdout, stderr, "evaluate", "--model", model, "--logs", testDir); err != nil {
		return err
	}
	jsonPath := filepath.Join(dir, "evaluate.json")
	var js bytes.Buffer
	if err := procs.Run(ctx, &js, stderr, "evaluate", "--model", model, "--logs", testDir, "--json"); err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, js.Bytes(), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "(JSON: %s)\n", jsonPath)
	return err
}

// peakMemory is the process's maximum resident set size (Linux reports it in KiB).
func peakMemory(st *os.ProcessState) string {
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return fmt.Sprintf("%.2f GB", float64(ru.Maxrss)*1024/1e9)
	}
	return "-"
}

// dropLines passes the lines written to it on to w, but those that match drop (the
// training's progress lines, which would flood a log).
type dropLines struct {
	w    io.Writer
	drop *regexp.Regexp
	buf  []byte
}

func (d *dropLines) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	for {
		i := bytes.IndexAny(d.buf, "\r\n")
		if i < 0 {
			return len(p), nil
		}
		line := d.buf[:i+1]
		if !d.drop.Match(bytes.TrimLeft(line, "\r")) {
			if _, err := d.w.Write(line); err != nil {
				return len(p), err
			}
		}
		d.buf = d.buf[i+1:]
	}
}

func (d *dropLines) flush() {
	if len(d.buf) > 0 && !d.drop.Match(d.buf) {
		_, _ = d.w.Write(d.buf)
	}
	d.buf = nil
}
