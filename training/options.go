package training

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/bidsieve/bidsieve/training/metrics"
	"io"
	"log/slog"
	"time"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/training/baseline"
)

// Defaults of Options.
const (
	DefaultRecallTarget = 0.95
	DefaultConfidence   = 0.95
	DefaultMaxEpochs    = 8
	DefaultPatience     = 2
	// DefaultMinValBids is the fewest validation-day bids with which a DSP gets a threshold;
	// below it the DSP is served unfiltered. (The prediction bound of recall needs about
	// 104 bids to reach 0.95 even when everything is sent; a DSP above this minimum but
	// below that gets no threshold either, by the bound.)
	DefaultMinValBids = 100
	// DefaultMinTrainBids is the fewest training bids with which a DSP gets a threshold.
	DefaultMinTrainBids = 100
)

// Options configures Train. The zero value of a field means its default.
type Options struct {
	LogDir string // directory of bid-log Parquet files (required)
	// Since and Until, when not zero, keep only the rows with Since <= ts < Until: the
	// window `bidsieve retrain` trains on (the last days but the held-out one).
	Since, Until time.Time
	// ValHalf, when not HalfAll, keeps of the validation day only the requests of that
	// half (metrics.Half); the others are not read. `bidsieve retrain` validates on one half
	// of the held-out day and judges the challenger on the other.
	ValHalf      metrics.Half
	RecallTarget float64 // recall the thresholds are chosen for; DefaultRecallTarget
	// Confidence is the one-sided level of the recall lower bounds: a DSP's threshold is
	// the largest whose lower bound of tomorrow's recall (a prediction bound from the
	// validation day, metrics.Sorted.PredictionBound) reaches the target. DefaultConfidence.
	Confidence float64
	Seed       uint64 // seeds initialisation, order, dropout and the no-bid sample

	// NegativeRate, when in (0, 1], is the no-bid keep rate for every DSP; otherwise the
	// rate of each DSP comes from the rule of negativeRate with NegPerBid (default
	// DefaultNegPerBid) and MinNegatives (default DefaultMinNegatives).
	NegativeRate float64
	NegPerBid    float64
	MinNegatives int64

	MaxEpochs int // DefaultMaxEpochs
	// Patience is the number of epochs in a row without a better validation loss after
	// which training stops; after each such epoch but the last, training goes back to the
	// best weights and halves Adam's step size. DefaultPatience.
	Patience int

	MinValBids   int // DefaultMinValBids
	MinTrainBids int // DefaultMinTrainBids

	Net      NetConfig
	Features features.BuildOptions
	FTRL     baseline.FTRLConfig
	// NoFastGEMM keeps gorgonia's default BLAS (for comparisons).
	NoFastGEMM bool

	Logger   *slog.Logger // nil: no logging
	Progress Progress     // nil: no progress
	Builder  string       // the bidsieve build, recorded in the model file
	Now      func() time.Time
}

// positiveOr is v, or def when v is not positive: a count or size left zero (or set
// below its range) takes its default.
func positiveOr[T int | int64 | float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (o Options) withDefaults() Options {
	o.RecallTarget = cmp.Or(o.RecallTarget, DefaultRecallTarget)
	o.Confidence = cmp.Or(o.Confidence, DefaultConfidence)
	o.NegPerBid = positiveOr(o.NegPerBid, DefaultNegPerBid)
	o.MinNegatives = positiveOr(o.MinNegatives, DefaultMinNegatives)
	o.MaxEpochs = positiveOr(o.MaxEpochs, DefaultMaxEpochs)
	o.Patience = positiveOr(o.Patience, DefaultPatience)
	o.MinValBids = positiveOr(o.MinValBids, DefaultMinValBids)
	o.MinTrainBids = positiveOr(o.MinTrainBids, DefaultMinTrainBids)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Net = o.Net.withDefaults()
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.LogDir == "" {
		errs = append(errs, errors.New("log directory: required"))
	}
	if !(o.RecallTarget > 0 && o.RecallTarget < 1) {
		errs = append(errs, fmt.Errorf("recall target %v: must be in (0, 1)", o.RecallTarget))
	}
	if !(o.Confidence >= 0.5 && o.Confidence < 1) {
		errs = append(errs, fmt.Errorf("confidence %v: must be in [0.5, 1)", o.Confidence))
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		errs = append(errs, fmt.Errorf("window %s..%s: since must be before until", o.Since, o.Until))
	}
	if o.NegativeRate < 0 || o.NegativeRate > 1 {
		errs = append(errs, fmt.Errorf("negative rate %v: must be in (0, 1], or 0 for the rule", o.NegativeRate))
	}
	if o.Net.Dropout >= 1 {
		errs = append(errs, fmt.Errorf("dropout %v: must be below 1", o.Net.Dropout))
	}
	return errors.Join(errs...)
}

// Progress receives the progress of the long phases (reading the logs, every epoch,
// validation). Start begins a phase of total units (rows; -1 when unknown), Add reports
// units done, Finish ends the phase. Calls come from one goroutine.
type Progress interface {
	Start(phase string, total int64)
	Add(n int64)
	Finish()
}

type nopProgress struct{}

func (nopProgress) Start(string, int64) {}
func (nopProgress) Add(int64)           {}
func (nopProgress) Finish()             {}
