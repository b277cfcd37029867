// Package serving puts a predictor.Model behind the gateway's scoring seam: a Scorer
// satisfies gateway.Model (and so gateway.Scorer), and Load is the gateway's ModelLoader.
// It maps the gateway's (imp, DSP name) pairs to the model's DSP ids, scores the whole
// batch in one call of predictor.Model.Score and hands the calibrated probabilities back.
//
// A Scorer is immutable and safe for concurrent use; scoring allocates nothing (its
// buffers are pooled). Units: probabilities in [0, 1].
package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor"
)

var (
	_ gateway.Model       = (*Scorer)(nil)
	_ gateway.ModelLoader = LoadModel
)

// Scorer scores the gateway's batches with one predictor.Model.
type Scorer struct {
	m    *predictor.Model
	pool sync.Pool // of *buffers
}

// buffers is the working memory of one Score call.
type buffers struct {
	impOf, dsps []int32
	at          []int32 // at[j]: the pair that row j of the batch scores
	p           []float32
	scratch     predictor.Scratch
}

// New returns a Scorer for m, after checking that it scores: every DSP the model knows
// must get a probability in [0, 1] for an imp without features.
func New(m *predictor.Model) (*Scorer, error) {
	s := &Scorer{m: m}
	s.pool.New = func() any { return new(buffers) }
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads, checks and prepares the model file at path (predictor.Load, then New).
func Load(path string) (*Scorer, error) {
	m, err := predictor.Load(path)
	if err != nil {
		return nil, err
	}
	return New(m)
}

// LoadModel is Load as a gateway.ModelLoader.
func LoadModel(path string) (gateway.Model, error) {
	s, err := Load(path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// check scores an imp without features for every DSP of the model.
func (s *Scorer) check() error {
	n := s.m.NumDSPs()
	if n == 0 {
		return errors.New("check model: it knows no DSP")
	}
	imps := []features.Raw{{}}
	impOf, dsps, p := make([]int32, n), make([]int32, n), make([]float32, n)
	for i := range dsps {
		dsps[i] = int32(i)
	}
	s.m.Score(p, imps, impOf, dsps, nil)
	for i, x := range p {
		if !(x >= 0 && x <= 1) {
			return fmt.Errorf("check model: DSP %s scores %v on an empty imp, not a probability", s.m.DSPName(int32(i)), x)
		}
	}
	return nil
}

// Model returns the predictor model.
func (s *Scorer) Model() *predictor.Model { return s.m }

// File returns the model file (gateway.Model).
func (s *Scorer) File() *modelfile.File { return s.m.File() }

// Version is the model version (gateway.Scorer).
func (s *Scorer) Version() string { return s.m.Version() }

// Score implements gateway.Scorer: dst[k] is the calibrated probability that DSP
// in.Pairs[k].DSP bids on imp in.Pairs[k].Imp, NaN for a DSP the model does not know.
// The pairs of every known DSP are scored in one batch. A panic of the model, or a score
// that is not a probability, is an error (the gateway fails open).
func (s *Scorer) Score(_ context.Context, in *gateway.ScoreInput, dst []float64) (err error) {
	if len(dst) < len(in.Pairs) {
		return fmt.Errorf("score: %d scores for %d pairs", len(dst), len(in.Pairs))
	}
	b := s.pool.Get().(*buffers)
	defer s.pool.Put(b)
	n := len(in.Pairs)
	b.impOf, b.dsps, b.at = grow(b.impOf, n), grow(b.dsps, n), grow(b.at, n)
	k := 0
	for i, pr := range in.Pairs {
		id, ok := s.m.DSPID(pr.DSP)
		if !ok || pr.Imp < 0 || pr.Imp >= len(in.Features) {
			dst[i] = math.NaN()
			continue
		}
		b.impOf[k], b.dsps[k], b.at[k] = int32(pr.Imp), id, int32(i)
		k++
	}
	if k == 0 {
		return nil
	}
	b.p = grow(b.p, k)
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("score: model %s panicked: %v", s.m.Version(), v)
		}
	}()
	s.m.Score(b.p, in.Features, b.impOf[:k], b.dsps[:k], &b.scratch)
	for j, x := range b.p[:k] {
		if !(x >= 0 && x <= 1) {
			return fmt.Errorf("score: model %s gave %v for DSP %s", s.m.Version(), x, in.Pairs[b.at[j]].DSP)
		}
		dst[b.at[j]] = float64(x)
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
