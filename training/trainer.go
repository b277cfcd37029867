package training

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"github.com/bidsieve/bidsieve/features"
)

// NetConfig holds the network's shape and the optimisation settings. The zero value of a
// field means its default.
type NetConfig struct {
	Hidden       []int   // hidden widths; DefaultHidden
	Dropout      float64 // drop probability after every hidden layer; 0.1 (negative: none)
	BatchSize    int     // rows per mini-batch; 256
	LearningRate float64 // Adam's step size; 1e-3
	// OOVRate is the probability that a categorical input (the DSP excepted) of a training
	// row is replaced by the out-of-vocabulary bucket, so that the bucket's embedding learns
	// what an unseen value looks like (values that only appear after training, such as a
	// day of the week outside the training days, fall in it). 0.01 (negative: none).
	OOVRate float64
	Workers int // goroutines for the optimiser and the GEMM; runtime.GOMAXPROCS(0)
	// AverageDecay, when in (0, 1), keeps an exponential moving average of the weights
	// with this decay per step; the average is what is validated and shipped. Train
	// chooses it when 0 (averageDecayFor); negative: none.
	AverageDecay float64
}

func (c NetConfig) withDefaults() NetConfig {
	if len(c.Hidden) == 0 {
		c.Hidden = DefaultHidden
	}
	if c.Dropout == 0 {
		c.Dropout = 0.1
	}
	if c.Dropout < 0 {
		c.Dropout = 0
	}
	c.BatchSize = positiveOr(c.BatchSize, 256)
	c.LearningRate = positiveOr(c.LearningRate, 1e-3)
	if c.OOVRate == 0 {
		c.OOVRate = 0.01
	}
	if c.OOVRate < 0 {
		c.OOVRate = 0
	}
	c.Workers = positiveOr(c.Workers, runtime.GOMAXPROCS(0))
	if c.AverageDecay < 0 || c.AverageDecay >= 1 {
		c.AverageDecay = 0
	}
	return c
}

// averageDecayFor is the rule for the weight average's decay: an average over about an
// eighth of an epoch, at most 1,000 steps and at least 10.
func averageDecayFor(rows, batch int) float64 {
	steps := float64(rows) / float64(batch)
	h := math.Min(1000, math.Max(10, steps/8))
	return 1 - 1/h
}

// netTrainer runs mini-batch steps: the embedding lookup, the gorgonia graph for the dense
// part, and Adam.
type netTrainer struct {
	cfg   NetConfig
	p     *params
	g     *denseGraph
	opt   *adam
	rng   *rand.Rand
	cats  []int32   // the batch's categorical indices after OOV replacement
	conts []float32 // the batch's continuous values
	nc    int
}

func newNetTrainer(spec *features.Spec, cfg NetConfig, rng *rand.Rand) (*netTrainer, error) {
	cfg = cfg.withDefaults()
	if cfg.Dropout >= 1 {
		return nil, fmt.Errorf("dropout %v must be below 1", cfg.Dropout)
	}
	p := newParams(spec, cfg.Hidden, rng)
	if cfg.AverageDecay > 0 {
		p.enableAverage(cfg.AverageDecay)
	}
	g, err := newDenseGraph(p, cfg.BatchSize, true, true)
	if err != nil {
		return nil, fmt.Errorf("build training graph: %w", err)
	}
	nc := features.NumCategorical()
	return &netTrainer{
		cfg: cfg, p: p, g: g, opt: newAdam(cfg.LearningRate, cfg.Workers), rng: rng, nc: nc,
		cats:  make([]int32, cfg.BatchSize*nc),
		conts: make([]float32, cfg.BatchSize*features.NumContinuous()),
	}, nil
}

func (t *netTrainer) close() { t.g.close() }

// step trains on the rows idx of ds (at most BatchSize; a shorter batch is padded with
// rows of zero weight) and returns the batch's summed weighted loss.
func (t *netTrainer) step(ds *dataset, idx []int) (float64, error) {
	b := t.cfg.BatchSize
	n := len(idx)
	if n == 0 || n > b {
		return 0, fmt.Errorf("batch of %d rows, want 1 to %d", n, b)
	}
	nc, nk := t.nc, features.NumContinuous()
	oovThr := uint64(t.cfg.OOVRate * (1 << 32))
	for r, i := range idx {
		cr := t.cats[r*nc : (r+1)*nc]
		copy(cr, ds.cats[i*nc:(i+1)*nc])
		if oovThr > 0 {
			// Two 32-bit uniforms per draw.
			var u uint64
			for k := 1; k < nc; k++ {
				if k%2 == 1 {
					u = t.rng.Uint64()
				} else {
					u >>= 32
				}
				if u&0xffffffff < oovThr {
					cr[k] = 0
				}
			}
		}
		copy(t.conts[r*nk:(r+1)*nk], ds.conts[i*nk:(i+1)*nk])
	}
	clear(t.cats[n*nc:])
	clear(t.conts[n*nk:])
	t.p.fillInput(t.g.X, t.cats, t.conts, b)
	for _, m := range t.g.Masks {
		fillMask(m, t.cfg.Dropout, t.rng)
	}
	inv := 1 / float32(b)
	clear(t.g.Target)
	for r, i := range idx {
		w := ds.weight[i] * inv
		if ds.label[i] {
			t.g.Target[2*r+1] = w
		} else {
			t.g.Target[2*r] = w
		}
	}
	if err := t.g.run(); err != nil {
		return 0, fmt.Errorf("training step: %w", err)
	}
	loss := float64(t.g.Loss()) * float64(b)
	for l := range t.p.layers {
		t.p.layers[l].gradW = t.g.grad(2 * l)
		t.p.layers[l].gradB = t.g.grad(2*l + 1)
	}
	t.p.scatterGrad(t.g.DX(), t.cats, n) // the padding rows touch nothing
	t.opt.step(t.p)
	t.p.updateAverage()
	return loss, nil
}

// epoch trains once over ds in a fresh random order. progress, when not nil, is called
// after every batch with the number of rows done.
func (t *netTrainer) epoch(ctx context.Context, ds *dataset, progress func(rows int)) (meanLoss float64, err error) {
	n := ds.len()
	if n == 0 {
		return 0, errors.New("no training rows")
	}
	order := t.rng.Perm(n)
	var sum, wsum float64
	for lo := 0; lo < n; lo += t.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hi := min(lo+t.cfg.BatchSize, n)
		l, err := t.step(ds, order[lo:hi])
		if err != nil {
			return 0, err
		}
		sum += l
		for _, i := range order[lo:hi] {
			wsum += float64(ds.weight[i])
		}
		if progress != nil {
			progress(hi - lo)
		}
	}
	return sum / wsum, nil
}
