package training

import (
	"math"
	"math/rand/v2"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gemm"
	"github.com/bidsieve/bidsieve/modelfile"
)

// DefaultHidden are the hidden layer widths of the network.
var DefaultHidden = []int{1000, 500}

// params are the trainable parameters in the model-file layout, with Adam's moments.
type params struct {
	emb    []table
	layers []layer
	in     int // input width: embeddings then continuous values
	nCont  int
	offs   []int // column offset of each embedding in the input row
	// avg, when not nil, is an exponential moving average of the weights (decay
	// avgDecay per step), the weights that are validated and shipped: it smooths the
	// noise of the last mini-batch steps out of the model.
	avg      *snapshot
	avgDecay float32
}

// table is one embedding table with its lazy-Adam state and a sparse gradient buffer.
type table struct {
	rows, cols int
	w, m, v    []float32 // rows x cols, row-major
	grad       []float32 // rows x cols; only the touched rows are non-zero
	touched    []int32   // rows with a gradient in the current step
	mark       []bool    // mark[r]: r is in touched
}

// layer is y = x W + b with W of in rows and out columns, with Adam's moments.
type layer struct {
	in, out int
	w, b    []float32
	mw, vw  []float32
	mb, vb  []float32
	gradW   []float32 // filled from the graph (or by tests)
	gradB   []float32
}

// newParams draws initial weights from rng: embeddings uniform in [-0.05, 0.05], ReLU
// layers He-normal, the output layer Glorot-normal, biases zero.
func newParams(spec *features.Spec, hidden []int, rng *rand.Rand) *params {
	p := &params{nCont: features.NumContinuous()}
	nc := features.NumCategorical()
	for i := 0; i < nc; i++ {
		f := &spec.Features[i]
		t := newTable(f.Cardinality(), f.EmbDim)
		for j := range t.w {
			t.w[j] = float32(rng.Float64()*0.1 - 0.05)
		}
		p.offs = append(p.offs, p.in)
		p.in += f.EmbDim
		p.emb = append(p.emb, t)
	}
	p.in += p.nCont
	widths := append(append([]int{p.in}, hidden...), 2)
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		ly := newLayer(in, out)
		std := math.Sqrt(2 / float64(in)) // He, for the ReLU that follows
		if l+2 == len(widths) {
			std = math.Sqrt(2 / float64(in+out))
		}
		for j := range ly.w {
			ly.w[j] = float32(rng.NormFloat64() * std)
		}
		p.layers = append(p.layers, ly)
	}
	return p
}

func newTable(rows, cols int) table {
	n := rows * cols
	return table{rows: rows, cols: cols, w: make([]float32, n), m: make([]float32, n),
		v: make([]float32, n), grad: make([]float32, n), mark: make([]bool, rows)}
}

func newLayer(in, out int) layer {
	return layer{in: in, out: out, w: make([]float32, in*out), b: make([]float32, out),
		mw: make([]float32, in*out), vw: make([]float32, in*out), mb: make([]float32, out), vb: make([]float32, out)}
}

// fillInput writes the input rows of a batch into x (n rows of p.in): the embedding rows
// of cats (n rows of NumCategorical) side by side, then conts (n rows of NumContinuous).
func (p *params) fillInput(x []float32, cats []int32, conts []float32, n int) {
	nc := len(p.emb)
	for r := 0; r < n; r++ {
		xr := x[r*p.in : (r+1)*p.in]
		cr := cats[r*nc : (r+1)*nc]
		for i := range p.emb {
			t := &p.emb[i]
			k := int(cr[i])
			copy(xr[p.offs[i]:p.offs[i]+t.cols], t.w[k*t.cols:(k+1)*t.cols])
		}
		copy(xr[p.in-p.nCont:], conts[r*p.nCont:(r+1)*p.nCont])
	}
}

// scatterGrad adds the input gradient dx (n rows of p.in) into the embedding tables'
// gradient buffers and records the touched rows.
func (p *params) scatterGrad(dx []float32, cats []int32, n int) {
	nc := len(p.emb)
	for r := 0; r < n; r++ {
		dr := dx[r*p.in : (r+1)*p.in]
		cr := cats[r*nc : (r+1)*nc]
		for i := range p.emb {
			t := &p.emb[i]
			k := cr[i]
			if !t.mark[k] {
				t.mark[k] = true
				t.touched = append(t.touched, k)
			}
			g := t.grad[int(k)*t.cols : (int(k)+1)*t.cols]
			src := dr[p.offs[i] : p.offs[i]+t.cols]
			for j := range g {
				g[j] += src[j]
			}
		}
	}
}

// toNetwork copies the weights into the model-file layout: the moving average when
// there is one, else the current weights.
func (p *params) toNetwork() modelfile.Network {
	var n modelfile.Network
	for i, t := range p.emb {
		w := t.w
		if p.avg != nil {
			w = p.avg.emb[i]
		}
		n.Embeddings = append(n.Embeddings, modelfile.Matrix{Rows: t.rows, Cols: t.cols, Data: append([]float32(nil), w...)})
	}
	for i, l := range p.layers {
		w, b := l.w, l.b
		if p.avg != nil {
			w, b = p.avg.layerW[i], p.avg.layerB[i]
		}
		n.Layers = append(n.Layers, modelfile.Dense{
			W: modelfile.Matrix{Rows: l.in, Cols: l.out, Data: append([]float32(nil), w...)},
			B: append([]float32(nil), b...),
		})
	}
	return n
}

// enableAverage starts the moving average of the weights at their current values.
func (p *params) enableAverage(decay float64) {
	p.avg = &snapshot{}
	p.copyTo(p.avg)
	p.avgDecay = float32(decay)
}

// updateAverage moves the average one step towards the current weights.
func (p *params) updateAverage() {
	if p.avg == nil {
		return
	}
	d := p.avgDecay
	mix := func(a, w []float32) {
		_ = a[len(w)-1]
		for j, x := range w {
			a[j] = d*a[j] + (1-d)*x
		}
	}
	for i := range p.emb {
		mix(p.avg.emb[i], p.emb[i].w)
	}
	for i := range p.layers {
		mix(p.avg.layerW[i], p.layers[i].w)
		mix(p.avg.layerB[i], p.layers[i].b)
	}
}

// roundHidden rounds the weights of the hidden layers after the first (1000 x 500 in the
// default network) to the nearest bfloat16 numbers, in the current weights and in the
// average: the predictor then stores that layer as bfloat16 (gemm.PackBF16), which halves
// what scoring reads from memory at every request, with results exactly those of float32
// arithmetic on the rounded weights (so gorgonia and the predictor still agree). A weight
// moves by at most 2^-9 of itself; the validation loss barely moves (training logs it
// before and after). The first layer (precomputed per feature value at load) and the
// output layer (500 x 2) stay float32.
func (p *params) roundHidden() {
	round := func(w []float32) {
		for i, x := range w {
			w[i] = gemm.RoundBF16(x)
		}
	}
	for i := 1; i+1 < len(p.layers); i++ {
		round(p.layers[i].w)
		if p.avg != nil {
			round(p.avg.layerW[i])
		}
	}
}

// snapshot copies the weights (not the optimiser state) for early stopping.
type snapshot struct {
	emb    [][]float32
	layerW [][]float32
	layerB [][]float32
}

// snapshot copies the weights that are validated: the average when there is one.
func (p *params) snapshot(s *snapshot) {
	if p.avg != nil {
		p.avg.copyInto(s)
		return
	}
	p.copyTo(s)
}

// copyTo copies the current weights into s.
func (p *params) copyTo(s *snapshot) { p.current().copyInto(s) }

// current is a snapshot that shares the current weights' arrays (not a copy).
func (p *params) current() *snapshot {
	c := &snapshot{emb: make([][]float32, len(p.emb)), layerW: make([][]float32, len(p.layers)), layerB: make([][]float32, len(p.layers))}
	for i := range p.emb {
		c.emb[i] = p.emb[i].w
	}
	for i := range p.layers {
		c.layerW[i], c.layerB[i] = p.layers[i].w, p.layers[i].b
	}
	return c
}

// restore sets the weights (and the average) to s.
func (p *params) restore(s *snapshot) {
	for i := range p.emb {
		copy(p.emb[i].w, s.emb[i])
	}
	for i := range p.layers {
		copy(p.layers[i].w, s.layerW[i])
		copy(p.layers[i].b, s.layerB[i])
	}
	if p.avg != nil {
		s.copyInto(p.avg)
	}
}

// copyInto copies s into d, reusing d's arrays.
func (s *snapshot) copyInto(d *snapshot) {
	d.emb = copyEach(d.emb, s.emb)
	d.layerW = copyEach(d.layerW, s.layerW)
	d.layerB = copyEach(d.layerB, s.layerB)
}

// copyEach copies each slice of src into the slice of dst at the same index, reusing its
// array, and returns dst (made when nil).
func copyEach(dst, src [][]float32) [][]float32 {
	if dst == nil {
		dst = make([][]float32, len(src))
	}
	for i := range src {
		dst[i] = append(dst[i][:0], src[i]...)
	}
	return dst
}
