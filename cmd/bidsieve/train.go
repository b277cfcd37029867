package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/training"
)

// runTrain trains the bid predictor on a directory of bid logs and writes the model file.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	logs := fs.String("logs", "", "directory of bid-log Parquet files, flat or in bidlog-sink's dt=/hour= folders; every day but the last trains, the last validates (required)")
	out := fs.String("out", "", "model file to write (required)")
	recall := fs.Float64("recall", training.DefaultRecallTarget, "recall target of the per-DSP thresholds")
	seed := fs.Uint64("seed", 1, "seed of initialisation, batch order, dropout and the no-bid sample")
	confidence := fs.Float64("confidence", training.DefaultConfidence, "one-sided confidence of the recall lower bound that chooses each threshold")
	negRate := fs.Float64("neg-rate", 0, "no-bid keep rate for every DSP (0: per DSP, by rule from the counts)")
	negPerBid := fs.Float64("neg-per-bid", training.DefaultNegPerBid, "no-bids kept per bid by the per-DSP rule (when --neg-rate is 0)")
	epochs := fs.Int("max-epochs", training.DefaultMaxEpochs, "most epochs (training stops earlier when the validation loss stops improving)")
	dropout := fs.Float64("dropout", 0, "drop probability after each hidden layer (0: the default, 0.1; negative: none)")
	lr := fs.Float64("learning-rate", 0, "Adam's step size (0: the default, 0.001)")
	batch := fs.Int("batch-size", 0, "rows per mini-batch (0: the default, 256)")
	avg := fs.Float64("average-decay", 0, "decay per step of the moving average of the weights that is shipped (0: by rule, an average over about an eighth of an epoch, at most 1,000 steps; negative: no averaging)")
	quiet := fs.Bool("quiet", false, "no progress output")
	verbose := fs.Bool("v", false, "debug logging (per-DSP validation losses)")
	if err := parseFlags(fs, args, "logs", "out"); err != nil {
		return err
	}
	opts := training.Options{
		LogDir: *logs, RecallTarget: *recall, Confidence: *confidence, Seed: *seed,
		NegativeRate: *negRate, NegPerBid: *negPerBid, MaxEpochs: *epochs, Builder: buildVersion(),
		Net: training.NetConfig{Dropout: *dropout, LearningRate: *lr, BatchSize: *batch, AverageDecay: *avg},
	}
	if !*quiet {
		opts.Logger = textLogger(stderr, *verbose)
		opts.Progress = newProgress(stderr)
	}
	res, err := training.Train(ctx, opts)
	if err != nil {
		return err
	}
	if err := modelfile.WriteFile(*out, res.File); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := res.Report.Write(stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "\nwrote %s\n", *out)
	return err
}

// buildVersion is the module version and VCS revision of this binary, when known.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// newProgress shows a progress bar (examples/s, ETA) on a terminal, and plain lines every
// 15 seconds otherwise (logs, CI).
func newProgress(w io.Writer) training.Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, every: 15 * time.Second}
}

type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(phase string, total int64) {
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-16s", phase)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("examples"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { _, _ = fmt.Fprintln(p.w) }),
	)
}

func (p *barProgress) Add(n int64) {
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// lineProgress prints "phase: done/total (x%), N examples/s, ETA" lines periodically.
type lineProgress struct {
	w         io.Writer
	every     time.Duration
	phase     string
	total     int64
	done      int64
	start     time.Time
	lastPrint time.Time
}

func (p *lineProgress) Start(phase string, total int64) {
	p.phase, p.total, p.done = phase, total, 0
	p.start = time.Now()
	p.lastPrint = p.start
}

func (p *lineProgress) Add(n int64) {
	p.done += n
	if now := time.Now(); now.Sub(p.lastPrint) >= p.every {
		p.lastPrint = now
		p.print(now)
	}
}

func (p *lineProgress) print(now time.Time) {
	el := now.Sub(p.start).Seconds()
	rate := float64(p.done) / max(el, 1e-9)
	line := fmt.Sprintf("%s: %d", p.phase, p.done)
	if p.total > 0 {
		eta := time.Duration(float64(p.total-p.done) / max(rate, 1e-9) * float64(time.Second))
		line += fmt.Sprintf("/%d (%.0f%%), %.0f examples/s, ETA %s", p.total, 100*float64(p.done)/float64(p.total), rate, eta.Round(time.Second))
	} else {
		line += fmt.Sprintf(", %.0f examples/s", rate)
	}
	_, _ = fmt.Fprintln(p.w, line)
}

func (p *lineProgress) Finish() {
	now := time.Now()
	_, _ = fmt.Fprintf(p.w, "%s: done, %d in %s (%.0f examples/s)\n", p.phase, p.done, now.Sub(p.start).Round(time.Second),
		float64(p.done)/max(now.Sub(p.start).Seconds(), 1e-9))
}
