package predictor

import (
	"fmt"
	"math"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gemm"
)

// refBatch is the number of rows LogProbs pushes through the network at once.
const refBatch = 256

// LogProbs is the plain forward pass of the network from encoded inputs, the reference
// for the fast path and for the parity test with training: for n rows, cats holds
// n x features.NumCategorical() vocabulary indices (the DSP included) and conts
// n x features.NumContinuous() normalised values, as written by features.Encoder.Encode.
// It writes to dst (length >= 2n) the network's log-softmax output of each row:
// dst[2i] = log P(no bid), dst[2i+1] = log P(bid), before calibration (without the DSP's
// LogitOffset; see Calibrated).
//
// The operations are those of the training graph, in the same order, in float32: the
// embeddings concatenated with the continuous values, then per layer x·W (gemm.Sgemm,
// the product training uses) plus the bias, ReLU between layers, and log-softmax. It is
// safe for concurrent use, uses up to GOMAXPROCS cores for large n and allocates its
// working memory per call.
func (m *Model) LogProbs(dst []float32, cats []int32, conts []float32, n int) {
	nc, nk := features.NumCategorical(), features.NumContinuous()
	if len(cats) < n*nc || len(conts) < n*nk || len(dst) < 2*n {
		panic(fmt.Sprintf("predictor: LogProbs of %d rows: cats %d (want %d), conts %d (want %d), dst %d (want %d)",
			n, len(cats), n*nc, len(conts), n*nk, len(dst), 2*n))
	}
	net := &m.file.Net
	in := m.file.Spec.InputWidth()
	maxW := in
	for _, l := range net.Layers {
		maxW = max(maxW, l.W.Cols)
	}
	bufA := make([]float32, min(n, refBatch)*maxW)
	bufB := make([]float32, min(n, refBatch)*maxW)
	for start := 0; start < n; start += refBatch {
		rows := min(refBatch, n-start)
		x := bufA[:rows*in]
		for r := 0; r < rows; r++ {
			row := x[r*in : (r+1)*in]
			c := cats[(start+r)*nc : (start+r+1)*nc]
			off := 0
			for f := 0; f < nc; f++ {
				e := &net.Embeddings[f]
				v := int(c[f])
				if v < 0 || v >= e.Rows {
					panic(fmt.Sprintf("predictor: row %d: index %d of %q is out of range [0, %d)", start+r, v, m.file.Spec.Features[f].Name, e.Rows))
				}
				copy(row[off:off+e.Cols], e.Data[v*e.Cols:(v+1)*e.Cols])
				off += e.Cols
			}
			copy(row[off:], conts[(start+r)*nk:(start+r+1)*nk])
		}
		width := in
		for li, l := range net.Layers {
			out := bufB[:rows*l.W.Cols]
			gemm.Sgemm(false, false, rows, l.W.Cols, width, 1, x, width, l.W.Data, l.W.Cols, 0, out, l.W.Cols)
			for r := 0; r < rows; r++ {
				o := out[r*l.W.Cols : (r+1)*l.W.Cols]
				for j := range o {
					o[j] += l.B[j]
				}
				if li < len(net.Layers)-1 {
					relu(o)
				}
			}
			x, width = out, l.W.Cols
			bufA, bufB = bufB, bufA
		}
		for r := 0; r < rows; r++ {
			z0, z1 := x[2*r], x[2*r+1]
			mx := max(z0, z1)
			lse := mx + float32(math.Log(math.Exp(float64(z0-mx))+math.Exp(float64(z1-mx))))
			dst[2*(start+r)] = z0 - lse
			dst[2*(start+r)+1] = z1 - lse
		}
	}
}

// Calibrated turns the network's log-probabilities (from LogProbs) into the calibrated
// probability that the DSP with the given id bids: the logit log P(bid) - log P(no bid)
// plus the DSP's LogitOffset, through the logistic function. It is what Score returns.
func (m *Model) Calibrated(logNoBid, logBid float32, dsp int32) float32 {
	logit := float64(logBid-logNoBid) + m.dsps[dsp].offset
	return float32(1 / (1 + math.Exp(-logit)))
}
