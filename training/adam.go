package training

import (
	"math"
	"sync"
)

// adam is the Adam optimiser (Kingma and Ba) over the params: dense updates for the
// layers, lazy (sparse) updates for the embedding tables, where only the rows a batch
// touched move and keep moments (the rows a batch did not touch are left as they are, as
// in TensorFlow's LazyAdam). Updates are split over workers goroutines.
type adam struct {
	lr, beta1, beta2, eps float64
	t                     int
	workers               int
}

func newAdam(lr float64, workers int) *adam {
	if workers < 1 {
		workers = 1
	}
	return &adam{lr: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, workers: workers}
}

// step applies one update from the gradients in the layers' gradW/gradB and the tables'
// sparse gradient buffers, then clears the sparse buffers.
func (a *adam) step(p *params) {
	a.t++
	c1 := 1 - math.Pow(a.beta1, float64(a.t))
	c2 := 1 - math.Pow(a.beta2, float64(a.t))
	lrt := float32(a.lr * math.Sqrt(c2) / c1)
	b1, b2, eps := float32(a.beta1), float32(a.beta2), float32(a.eps)

	var wg sync.WaitGroup
	run := func(w, g, m, v []float32) {
		// Split large vectors into one chunk per worker.
		n := len(w)
		chunks := a.workers
		if n < 1<<14 {
			chunks = 1
		}
		size := (n + chunks - 1) / chunks
		for lo := 0; lo < n; lo += size {
			hi := min(lo+size, n)
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				adamUpdate(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], lrt, b1, b2, eps)
			}(lo, hi)
		}
	}
	for i := range p.layers {
		l := &p.layers[i]
		run(l.w, l.gradW, l.mw, l.vw)
		run(l.b, l.gradB, l.mb, l.vb)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range p.emb {
			t := &p.emb[i]
			for _, r := range t.touched {
				lo, hi := int(r)*t.cols, (int(r)+1)*t.cols
				adamUpdate(t.w[lo:hi], t.grad[lo:hi], t.m[lo:hi], t.v[lo:hi], lrt, b1, b2, eps)
				clear(t.grad[lo:hi])
				t.mark[r] = false
			}
			t.touched = t.touched[:0]
		}
	}()
	wg.Wait()
}

func adamUpdate(w, g, m, v []float32, lrt, b1, b2, eps float32) {
	_ = g[len(w)-1]
	_ = m[len(w)-1]
	_ = v[len(w)-1]
	for j := range w {
		gj := g[j]
		mj := b1*m[j] + (1-b1)*gj
		vj := b2*v[j] + (1-b2)*gj*gj
		m[j], v[j] = mj, vj
		w[j] -= lrt * mj / (float32(math.Sqrt(float64(vj))) + eps)
	}
}
