package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FullRun is `make e2e`: shaping end to end at full scale, with the real binary.
//
//  1. simulate the Window (7 days x 150,000 requests/day of the example DSPs, seed 1) and train the model
//     with `bidsieve train` (its defaults: the 1000/500 network), once, and a second model
//     (another seed, one epoch) for the swaps;
//  2. shaping on the same requests: ShapingRequests requests of another seed through the
//     gateway on loopback in front of the simulated DSPs, with shaping off, in shadow mode
//     and filtering (CompareModes); the table per DSP, and the targets checked: bids >= 94%
//     of off, withheld >= 90% of the oracle, shadow = off;
//  3. CPU per auction of `bidsieve serve`, shaping off and on (filter), under the same
//     open-loop load (`bidsieve loadtest`, CPUQPS auctions/s for CPUDuration, Rounds rounds
//     each) against `bidsieve dsp-sim` with its real latencies: process CPU time / auctions,
//     and the paired difference per round (CompareCPU);
//  4. model swaps under SwapQPS auctions/s for SwapDuration: the model file replaced every
//     3 s by the other of two models (the file watcher reloads it), and a reload through
//     the admin API in between; the load tester must see no failure.
//
// Simulated logs and models are reused when Data already holds them. Ports: PortBase to
// PortBase+3 on 127.0.0.1.
type FullRun struct {
	Bin  string // the bidsieve binary
	Data string // where logs, models, configs and results go
	// Window is step 1's training window; its profiles are also those of dsp-sim and of
	// the load tester.
	Window          Window
	TrainFlags      []string // extra flags of bidsieve train (e.g. --max-epochs 2)
	ShapingRequests int      // requests of step 2
	ShapingLatency  float64  // step 2's scale of the DSPs' latencies (0: they answer at once)

	CPUQPS      float64
	CPUDuration time.Duration
	Rounds      int
	// CPUDesign is step 3's design: DesignSideBySide (both gateways up, taking turns) or
	// DesignOneAtATime (each turn a fresh gateway, warmed up, measured, stopped).
	CPUDesign string

	SwapQPS      float64
	SwapDuration time.Duration

	PortBase int
	Steps    string // which of steps 2, 3 and 4 to run ("234"); step 1 makes what is missing
	Out      io.Writer
}

// The designs of step 3.
const (
	DesignSideBySide = "side-by-side"
	DesignOneAtATime = "one-at-a-time"
)

// ErrTargets is returned (wrapped) when a step ran but missed its targets.
var ErrTargets = errors.New("targets missed")

// adminToken is the admin API's token of the run's gateways (loopback only).
const adminToken = "e2e-admin-token"

// fullRun is the state of one FullRun.Run.
type fullRun struct {
	*FullRun
	procs         *Procs
	sim           *Proc
	model, model2 string
	failed        []string
}

func (r *fullRun) addr(offset int) string { return "127.0.0.1:" + strconv.Itoa(r.PortBase+offset) }

// Run runs the steps. Every process it starts is stopped when it returns. A step that
// misses its targets does not stop the later ones; the error then wraps ErrTargets.
func (f *FullRun) Run(ctx context.Context) error {
	if f.CPUDesign != DesignSideBySide && f.CPUDesign != DesignOneAtATime {
		return fmt.Errorf("cpu design %q: want %s or %s", f.CPUDesign, DesignSideBySide, DesignOneAtATime)
	}
	data, err := filepath.Abs(f.Data)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	cp := *f
	cp.Data = data
	r := &fullRun{FullRun: &cp, procs: &Procs{Bin: f.Bin}}
	defer r.procs.StopAll()

	r.section("== machine")
	if err := WriteMachine(r.Out); err != nil {
		return err
	}
	r.section("\n== 1. simulated logs and models")
	if err := r.models(ctx); err != nil {
		return err
	}
	steps := []struct {
		n   string
		run func(context.Context) error
	}{{"2", r.shaping}, {"3", r.cpu}, {"4", r.swaps}}
	for _, s := range steps {
		if !strings.Contains(f.Steps, s.n) {
			continue
		}
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("step %s: %w", s.n, err)
		}
	}
	if len(r.failed) > 0 {
		return fmt.Errorf("%w: %d problems (the MISSED lines above), the first: %s", ErrTargets, len(r.failed), r.failed[0])
	}
	return nil
}

func (r *fullRun) section(title string) { _, _ = fmt.Fprintln(r.Out, title) }

// models makes step 1's logs and the two models, when Data does not hold them yet.
func (r *fullRun) models(ctx context.Context) error {
	train := filepath.Join(r.Data, "train")
	if err := r.Window.Make(ctx, r.procs, train, r.Out); err != nil {
		return err
	}
	r.model, r.model2 = filepath.Join(r.Data, "model.bsm"), filepath.Join(r.Data, "model-swap.bsm")
	if !exists(r.model) {
		out, err := teeFile(filepath.Join(r.Data, "train.txt"), r.Out)
		if err != nil {
			return err
		}
		args := append([]string{"train", "--logs", train, "--out", r.model, "--seed", "1", "--quiet"}, r.TrainFlags...)
		err = r.procs.Run(ctx, out, os.Stderr, args...)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if !exists(r.model2) { // the second model of the swaps: one epoch from another seed
		out, err := os.Create(filepath.Join(r.Data, "train-swap.txt"))
		if err != nil {
			return err
		}
		err = r.procs.Run(ctx, out, os.Stderr, "train", "--logs", train, "--out", r.model2, "--seed", "2", "--max-epochs", "1", "--quiet")
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// teeWriter is a file whose writes also go to w.
type teeWriter struct {
	*os.File
	w io.Writer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	_, _ = t.w.Write(p)
	return t.File.Write(p)
}

// teeFile creates the file at path, its writes also going to w.
func teeFile(path string, w io.Writer) (*teeWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &teeWriter{File: f, w: w}, nil
}
