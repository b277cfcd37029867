package training

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseGraph is the gorgonia graph of the network's dense part for a fixed batch size:
//
//	h_0 = x;  h_l = relu(h_{l-1} W_l + b_l) ⊙ mask_l;  z = h_L W_out + b_out
//	loss = -Σ_rows Σ_k logsoftmax(z)[row, k] · target[row, k]
//
// x is the batch's input (embeddings and continuous values, looked up outside the graph),
// mask_l the dropout masks (0 or 1/(1-p), from the trainer's RNG; all ones to switch
// dropout off), target[row] = weight · one-hot(label) / normaliser (zero rows pad the last
// batch). The weight nodes are bound to tensors backed by the params' own slices, so the
// optimiser updates them in place. The gradient nodes come from symbolic differentiation
// and are read after each run: nothing accumulates between runs.
type denseGraph struct {
	g      *G.ExprGraph
	vm     G.VM
	batch  int
	x      *G.Node
	masks  []*G.Node
	target *G.Node
	loss   *G.Node
	logp   *G.Node
	grads  G.Nodes // dW_0, db_0, dW_1, db_1, ..., then dx when wantDX

	xT      *tensor.Dense
	maskT   []*tensor.Dense
	targetT *tensor.Dense
	// Buffers behind the input tensors: fill them, then run.
	X      []float32
	Masks  [][]float32
	Target []float32
	wantDX bool
	train  bool
}

// newDenseGraph builds the graph over p's layers. With train, it has dropout masks, a
// loss and gradients (of every weight, and of x when wantDX); without, it only computes
// the log-probabilities (the parity test's reference).
func newDenseGraph(p *params, batch int, train, wantDX bool) (*denseGraph, error) {
	if batch <= 0 {
		return nil, errors.New("batch size must be positive")
	}
	d := &denseGraph{g: G.NewGraph(), batch: batch, wantDX: wantDX, train: train}
	g := d.g
	d.X = make([]float32, batch*p.in)
	d.xT = tensor.New(tensor.WithShape(batch, p.in), tensor.WithBacking(d.X))
	d.x = G.NewMatrix(g, G.Float32, G.WithShape(batch, p.in), G.WithName("x"), G.WithValue(d.xT))

	var wrt G.Nodes
	h := d.x
	for l := range p.layers {
		ly := &p.layers[l]
		wT := tensor.New(tensor.WithShape(ly.in, ly.out), tensor.WithBacking(ly.w))
		bT := tensor.New(tensor.WithShape(1, ly.out), tensor.WithBacking(ly.b))
		w := G.NewMatrix(g, G.Float32, G.WithShape(ly.in, ly.out), G.WithName(fmt.Sprintf("W%d", l)), G.WithValue(wT))
		b := G.NewMatrix(g, G.Float32, G.WithShape(1, ly.out), G.WithName(fmt.Sprintf("b%d", l)), G.WithValue(bT))
		wrt = append(wrt, w, b)
		xw, err := G.Mul(h, w)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		z, err := G.BroadcastAdd(xw, b, nil, []byte{0})
		if err != nil {
			return nil, fmt.Errorf("layer %d bias: %w", l, err)
		}
		if l == len(p.layers)-1 {
			h = z
			break
		}
		a, err := G.Rectify(z)
		if err != nil {
			return nil, fmt.Errorf("layer %d relu: %w", l, err)
		}
		if train {
			buf := make([]float32, batch*ly.out)
			mT := tensor.New(tensor.WithShape(batch, ly.out), tensor.WithBacking(buf))
			m := G.NewMatrix(g, G.Float32, G.WithShape(batch, ly.out), G.WithName(fmt.Sprintf("mask%d", l)), G.WithValue(mT))
			d.Masks = append(d.Masks, buf)
			d.maskT = append(d.maskT, mT)
			d.masks = append(d.masks, m)
			if a, err = G.HadamardProd(a, m); err != nil {
				return nil, fmt.Errorf("layer %d dropout: %w", l, err)
			}
		}
		h = a
	}
	logp, err := G.LogSoftMax(h)
	if err != nil {
		return nil, fmt.Errorf("log-softmax: %w", err)
	}
	d.logp = logp
	if train {
		d.Target = make([]float32, batch*2)
		d.targetT = tensor.New(tensor.WithShape(batch, 2), tensor.WithBacking(d.Target))
		d.target = G.NewMatrix(g, G.Float32, G.WithShape(batch, 2), G.WithName("target"), G.WithValue(d.targetT))
		prod, err := G.HadamardProd(logp, d.target)
		if err != nil {
			return nil, fmt.Errorf("loss: %w", err)
		}
		s, err := G.Sum(prod)
		if err != nil {
			return nil, fmt.Errorf("loss: %w", err)
		}
		if d.loss, err = G.Neg(s); err != nil {
			return nil, fmt.Errorf("loss: %w", err)
		}
		if wantDX {
			wrt = append(wrt, d.x)
		}
		if d.grads, err = G.Grad(d.loss, wrt...); err != nil {
			return nil, fmt.Errorf("gradients: %w", err)
		}
	}
	d.vm = G.NewTapeMachine(g)
	return d, nil
}

// run executes the graph on the current buffers. Afterwards Loss, LogProbs and the
// gradients are valid until the next run.
func (d *denseGraph) run() error {
	d.vm.Reset()
	// Rebind the inputs: the tape machine reads the nodes' bound values.
	if err := G.Let(d.x, d.xT); err != nil {
		return err
	}
	for i, m := range d.masks {
		if err := G.Let(m, d.maskT[i]); err != nil {
			return err
		}
	}
	if d.target != nil {
		if err := G.Let(d.target, d.targetT); err != nil {
			return err
		}
	}
	return d.vm.RunAll()
}

// Loss is the loss of the last run.
func (d *denseGraph) Loss() float32 {
	return d.loss.Value().Data().(float32)
}

// LogProbs is the batch x 2 log-probabilities of the last run (no-bid, bid), row-major.
func (d *denseGraph) LogProbs() []float32 {
	return d.logp.Value().Data().([]float32)
}

// grad returns the gradient of the i-th differentiated node of the last run.
func (d *denseGraph) grad(i int) []float32 {
	return d.grads[i].Value().Data().([]float32)
}

// DX is the gradient of the loss with respect to x (batch x in) of the last run.
func (d *denseGraph) DX() []float32 {
	return d.grad(len(d.grads) - 1)
}

func (d *denseGraph) close() {
	if d.vm != nil {
		_ = d.vm.Close()
	}
}
