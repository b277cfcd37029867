package predictor

import (
	"fmt"
	"math"

	"github.com/bidsieve/bidsieve/features"
)

// maxRows is the number of (imp, DSP) rows pushed through the layers at once: enough for
// the matrix kernel to run at full speed, few enough to keep the activations in cache.
const maxRows = 96

// Scratch holds the working memory of scoring calls. It grows to the largest call seen
// and is then reused without allocating. A Scratch may serve different models, but only
// one call at a time.
type Scratch struct {
	cats   []int32
	conts  []float32
	x      []float32 // gathered layer-1 inputs
	shared []float32 // per imp: layer 1 before the DSP's part and ReLU
	act    [][]float32
	work   []float32
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// ScoreImp writes to dst[i] the calibrated probability that DSP dsps[i] bids on the imp
// with features raw. dsps are ids from DSPID. s may be nil (a pooled Scratch is used).
// It panics if len(dst) < len(dsps) or an id is out of range.
func (m *Model) ScoreImp(dst []float32, raw *features.Raw, dsps []int32, s *Scratch) {
	if s == nil {
		s = m.pool.Get().(*Scratch)
		defer m.pool.Put(s)
	}
	s.shared = grow(s.shared, m.h1)
	m.sharedL1(s.shared, raw, s)
	m.scoreRowsTo(dst, s.shared, nil, dsps, s, false)
}

// Score scores the (imp, DSP) pairs of a request in one batch: dst[i] is the calibrated
// probability that DSP dsps[i] bids on imp imps[impOf[i]]. Pairs may come in any order;
// each imp's shared work is done once. s may be nil (a pooled Scratch is used). It panics
// when the slices disagree in length or an index is out of range.
func (m *Model) Score(dst []float32, imps []features.Raw, impOf []int32, dsps []int32, s *Scratch) {
	m.score(dst, imps, impOf, dsps, s, false)
}

// ScoreLogits is Score writing calibrated logits, log(p / (1 - p)), instead of
// probabilities: exact where p is too close to 0 or 1 for a float32 probability.
func (m *Model) ScoreLogits(dst []float32, imps []features.Raw, impOf []int32, dsps []int32, s *Scratch) {
	m.score(dst, imps, impOf, dsps, s, true)
}

func (m *Model) score(dst []float32, imps []features.Raw, impOf []int32, dsps []int32, s *Scratch, logits bool) {
	if len(impOf) != len(dsps) {
		panic(fmt.Sprintf("predictor: %d imp indices for %d DSPs", len(impOf), len(dsps)))
	}
	if s == nil {
		s = m.pool.Get().(*Scratch)
		defer m.pool.Put(s)
	}
	h1 := m.h1
	s.shared = grow(s.shared, len(imps)*h1)
	for i := range imps {
		m.sharedL1(s.shared[i*h1:(i+1)*h1], &imps[i], s)
	}
	m.scoreRowsTo(dst, s.shared, impOf, dsps, s, logits)
}

// sharedL1 computes the part of layer 1 that all DSPs share: the bias plus the
// contribution of every input but the DSP.
func (m *Model) sharedL1(dst []float32, raw *features.Raw, s *Scratch) {
	s.cats = grow(s.cats, features.NumCategorical())
	s.conts = grow(s.conts, features.NumContinuous())
	m.enc.EncodeShared(raw, s.cats, s.conts)
	m.sharedFromEncoded(dst, s.cats, s.conts, s)
}

func (m *Model) sharedFromEncoded(dst []float32, cats []int32, conts []float32, s *Scratch) {
	h1 := m.h1
	copy(dst, m.b1)
	for f := 1; f < len(m.tables); f++ {
		if t := m.tables[f]; t != nil {
			v := int(cats[f])
			add(dst, t[v*h1:(v+1)*h1])
		}
	}
	s.x = grow(s.x, m.nx)
	x := s.x
	for _, g := range m.gathered {
		e := &m.file.Net.Embeddings[g.feat]
		v := int(cats[g.feat])
		copy(x[g.off:g.off+e.Cols], e.Data[v*e.Cols:(v+1)*e.Cols])
	}
	copy(x[m.nx-len(conts):], conts)
	addVecMat(dst, x, m.wg, h1)
}

// scoreRowsTo scores the rows (impOf[r] or imp 0 when impOf is nil, dsps[r]) given the
// shared layer-1 part of each imp: calibrated probabilities, or calibrated logits when
// logits is set.
func (m *Model) scoreRowsTo(dst, shared []float32, impOf []int32, dsps []int32, s *Scratch, logits bool) {
	if len(dst) < len(dsps) {
		panic(fmt.Sprintf("predictor: dst has room for %d scores, want %d", len(dst), len(dsps)))
	}
	h1 := m.h1
	if len(s.act) < len(m.layers)+1 {
		s.act = make([][]float32, len(m.layers)+1)
	}
	for start := 0; start < len(dsps); start += maxRows {
		n := min(maxRows, len(dsps)-start)
		in := grow(s.act[0], n*h1)
		s.act[0] = in
		for r := 0; r < n; r++ {
			d := &m.dsps[dsps[start+r]]
			imp := 0
			if impOf != nil {
				imp = int(impOf[start+r])
			}
			v := int(d.vocab)
			row := in[r*h1 : (r+1)*h1]
			if len(m.layers) == 0 { // layer 1 is the output layer: no ReLU
				copy(row, shared[imp*h1:(imp+1)*h1])
				add(row, m.tables[0][v*h1:(v+1)*h1])
				continue
			}
			addReLU(row, shared[imp*h1:(imp+1)*h1], m.tables[0][v*h1:(v+1)*h1])
		}
		width := h1
		for li := range m.layers {
			l := &m.layers[li]
			out := grow(s.act[li+1], n*l.out)
			s.act[li+1] = out
			for r := 0; r < n; r++ {
				copy(out[r*l.out:(r+1)*l.out], l.b)
			}
			s.work = grow(s.work, l.w.WorkLen(n))
			l.w.MulAdd(n, in, width, out, l.out, s.work)
			if li < len(m.layers)-1 {
				relu(out)
			}
			in, width = out, l.out
		}
		// in holds the logits (no-bid, bid) of each row.
		for r := 0; r < n; r++ {
			logit := float64(in[2*r+1]-in[2*r]) + m.dsps[dsps[start+r]].offset
			if logits {
				dst[start+r] = float32(logit)
			} else {
				dst[start+r] = float32(1 / (1 + math.Exp(-logit)))
			}
		}
	}
}
