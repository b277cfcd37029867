// Package servingtest builds small, valid model files with random weights for the tests of
// the packages that serve models (the gateway's wiring, reloads, benchmarks). Their scores
// mean nothing; their shapes, calibration and thresholds are what the tests set.
package servingtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gemm"
	"github.com/bidsieve/bidsieve/modelfile"
)

// Options describe a test model file.
type Options struct {
	Seed   uint64
	DSPs   []string // calibrated DSPs, in the DSP vocabulary
	Hidden []int    // hidden layer widths; {16, 8} when empty
	// Threshold is every DSP's threshold for the recall target 0.95: the curve has one
	// point there, with a recall lower bound of 0.96. 0 leaves the DSPs without a
	// threshold (not OK): served unfiltered.
	Threshold float64
	Version   string    // "test-SEED" when empty
	CreatedAt time.Time // 2026-01-01 when zero
	// Values is the vocabulary size of every categorical feature but the DSP; 4 when 0.
	Values int
	// BF16 rounds the weights of the hidden layers after the first to bfloat16, as
	// bidsieve train does (the predictor then stores them as bfloat16).
	BF16 bool
}

// File returns a valid model file with random weights (He initialisation).
func File(o Options) *modelfile.File {
	if len(o.Hidden) == 0 {
		o.Hidden = []int{16, 8}
	}
	if o.Version == "" {
		o.Version = fmt.Sprintf("test-%d", o.Seed)
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Values <= 0 {
		o.Values = 4
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	spec := features.Spec{Version: features.SpecVersion}
	for f, name := range features.CategoricalNames {
		ft := features.Feature{Name: name, Kind: features.Categorical}
		switch {
		case f == 0:
			ft.Vocab = append([]string(nil), o.DSPs...)
		case name == "user_id":
			ft.Vocab = []string{"false", "true"}
		default:
			for j := range o.Values {
				ft.Vocab = append(ft.Vocab, fmt.Sprintf("%s-%d", name, j))
			}
		}
		ft.EmbDim = features.DefaultEmbDim(ft.Cardinality())
		spec.Features = append(spec.Features, ft)
	}
	for _, name := range features.ContinuousNames {
		spec.Features = append(spec.Features, features.Feature{Name: name, Kind: features.Continuous, Mean: 1, Std: 2})
	}
	f := &modelfile.File{FormatVersion: modelfile.FormatVersion, Spec: spec, SpecHash: spec.Hash(),
		Net: Network(rng, &spec, o.Hidden)}
	if o.BF16 {
		RoundHidden(&f.Net)
	}
	for _, name := range o.DSPs {
		d := modelfile.DSP{Name: name, LogitOffset: -1, NegativeRate: math.Exp(-1), Target: 0.95}
		if o.Threshold > 0 {
			d.OK, d.Threshold = true, o.Threshold
			d.Curve = []modelfile.CurvePoint{{Threshold: o.Threshold, Recall: 0.97, RecallLower: 0.96, FilteredShare: 0.5}}
			d.Recall, d.RecallLower, d.FilteredShare = 0.97, 0.96, 0.5
		} else {
			d.Reason = "test model without a threshold"
		}
		f.DSPs = append(f.DSPs, d)
	}
	f.Meta = modelfile.Metadata{Version: o.Version, CreatedAt: o.CreatedAt, Hidden: o.Hidden, NegativeRate: math.Exp(-1),
		RecallTarget: 0.95, Confidence: 0.95}
	return f
}

// RoundHidden rounds the weights of the hidden layers after the first to bfloat16, as
// bidsieve train ships them.
func RoundHidden(n *modelfile.Network) {
	for _, l := range n.Layers[1 : len(n.Layers)-1] {
		for i, x := range l.W.Data {
			l.W.Data[i] = gemm.RoundBF16(x)
		}
	}
}

// Network draws random weights from rng for a network on spec with the given hidden
// layer widths: an embedding table per categorical feature (normal, standard deviation
// 0.5), then the dense layers and the final 2-wide one (weights He-initialised, biases
// normal with standard deviation 0.1), in that order.
func Network(rng *rand.Rand, spec *features.Spec, hidden []int) modelfile.Network {
	randm := func(r, c int, std float64) modelfile.Matrix {
		m := modelfile.Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
		for i := range m.Data {
			m.Data[i] = float32(rng.NormFloat64() * std)
		}
		return m
	}
	var n modelfile.Network
	for i := range features.CategoricalNames {
		ft := &spec.Features[i]
		n.Embeddings = append(n.Embeddings, randm(ft.Cardinality(), ft.EmbDim, 0.5))
	}
	in := spec.InputWidth()
	for _, out := range append(append([]int(nil), hidden...), 2) {
		n.Layers = append(n.Layers, modelfile.Dense{W: randm(in, out, math.Sqrt(2/float64(in))), B: randm(1, out, 0.1).Data})
		in = out
	}
	return n
}
