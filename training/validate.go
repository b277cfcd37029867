package training

import (
	"fmt"
	"math"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor"
)

// netScorer computes the network's bid logits (log P(bid) - log P(no bid), before the
// sampling correction) with the serving forward pass (predictor.Model.LogProbs), never
// with the training machine (GORGONIA.md: gradients accumulate and train/eval mode lives
// on the graph). Call refresh after the weights change.
type netScorer struct {
	spec *features.Spec
	p    *params
	m    *predictor.Model
	lp   []float32
	cats []int32
	cont []float32
}

// scoreChunk is the number of rows gathered and scored at once.
const scoreChunk = 8192

func newNetScorer(spec *features.Spec, p *params) *netScorer {
	return &netScorer{spec: spec, p: p, lp: make([]float32, 2*scoreChunk),
		cats: make([]int32, scoreChunk*features.NumCategorical()),
		cont: make([]float32, scoreChunk*features.NumContinuous())}
}

// netFile is a model file holding the spec and the current weights (no calibration).
func netFile(spec *features.Spec, p *params) *modelfile.File {
	return &modelfile.File{FormatVersion: modelfile.FormatVersion, Spec: *spec, SpecHash: spec.Hash(), Net: p.toNetwork()}
}

// refresh loads the current weights into the serving model.
func (s *netScorer) refresh() error {
	m, err := predictor.New(netFile(s.spec, s.p))
	if err != nil {
		return fmt.Errorf("serving model from the trained weights: %w", err)
	}
	s.m = m
	return nil
}

// logits scores the rows idx of ds (all rows when idx is nil) into dst (len(idx) or
// ds.len()).
func (s *netScorer) logits(ds *dataset, idx []int, dst []float64) error {
	if s.m == nil {
		if err := s.refresh(); err != nil {
			return err
		}
	}
	nc, nk := features.NumCategorical(), features.NumContinuous()
	n := ds.len()
	if idx != nil {
		n = len(idx)
	}
	for lo := 0; lo < n; lo += scoreChunk {
		hi := min(lo+scoreChunk, n)
		cats, conts := ds.cats[lo*nc:hi*nc], ds.conts[lo*nk:hi*nk]
		if idx != nil {
			for r := lo; r < hi; r++ {
				i := idx[r]
				copy(s.cats[(r-lo)*nc:(r-lo+1)*nc], ds.cats[i*nc:(i+1)*nc])
				copy(s.cont[(r-lo)*nk:(r-lo+1)*nk], ds.conts[i*nk:(i+1)*nk])
			}
			cats, conts = s.cats[:(hi-lo)*nc], s.cont[:(hi-lo)*nk]
		}
		s.m.LogProbs(s.lp, cats, conts, hi-lo)
		for r := lo; r < hi; r++ {
			k := r - lo
			dst[r] = float64(s.lp[2*k+1] - s.lp[2*k])
		}
	}
	return nil
}

// logLoss is the weighted log loss of calibrated probabilities sigmoid(logit + offset).
func logLoss(logits []float64, offsets func(i int) float64, label func(i int) bool, weight func(i int) float64) float64 {
	var sum, wsum float64
	for i, z := range logits {
		x := z + offsets(i)
		// -log sigmoid(x) = log1p(exp(-x)), computed stably.
		var l float64
		if label(i) {
			l = softplus(-x)
		} else {
			l = softplus(x)
		}
		w := weight(i)
		sum += w * l
		wsum += w
	}
	if wsum == 0 {
		return math.NaN()
	}
	return sum / wsum
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}
