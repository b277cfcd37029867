package training

import (
	"math"
	"math/rand/v2"
	"testing"
)

// smallParams is a network of input width in, the given hidden widths and 2 outputs,
// without embeddings (the input is fed directly).
func smallParams(in int, hidden []int, seed uint64) *params {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := &params{in: in}
	widths := append(append([]int{in}, hidden...), 2)
	for l := 0; l+1 < len(widths); l++ {
		ly := newLayer(widths[l], widths[l+1])
		for j := range ly.w {
			ly.w[j] = float32(rng.NormFloat64() * 0.5)
		}
		for j := range ly.b {
			ly.b[j] = float32(rng.NormFloat64() * 0.1)
		}
		p.layers = append(p.layers, ly)
	}
	return p
}

// refLoss is the loss of the dense part in float64, straight from the definition.
func refLoss(p *params, x []float64, masks [][]float64, target []float64, batch int) (float64, [][2]float64) {
	loss := 0.0
	logps := make([][2]float64, batch)
	for r := 0; r < batch; r++ {
		h := x[r*p.in : (r+1)*p.in]
		for l := range p.layers {
			ly := &p.layers[l]
			z := make([]float64, ly.out)
			for o := 0; o < ly.out; o++ {
				s := float64(ly.b[o])
				for i := 0; i < ly.in; i++ {
					s += h[i] * float64(ly.w[i*ly.out+o])
				}
				z[o] = s
			}
			if l < len(p.layers)-1 {
				for o := range z {
					z[o] = math.Max(z[o], 0)
					if masks != nil {
						z[o] *= masks[l][r*ly.out+o]
					}
				}
			}
			h = z
		}
		m := math.Max(h[0], h[1])
		lse := m + math.Log(math.Exp(h[0]-m)+math.Exp(h[1]-m))
		logps[r] = [2]float64{h[0] - lse, h[1] - lse}
		if target != nil {
			loss -= logps[r][0]*target[2*r] + logps[r][1]*target[2*r+1]
		}
	}
	return loss, logps
}

func TestDenseGraphGradientsWithDropoutMask(t *testing.T) {
	for _, fast := range []bool{false, true} {
		name := "gonum"
		if fast {
			name = "gemm"
		}
		t.Run(name, func(t *testing.T) {
			if fast {
				UseFastGEMM()
				defer UseDefaultBLAS()
			}
			testDenseGraphGradients(t)
		})
	}
}

func testDenseGraphGradients(t *testing.T) {
	const batch, in = 5, 7
	hidden := []int{6, 4}
	p := smallParams(in, hidden, 3)
	d, err := newDenseGraph(p, batch, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]float64, batch*in)
	for i := range x {
		x[i] = rng.NormFloat64()
		d.X[i] = float32(x[i])
	}
	// Masks as the trainer draws them, with a small drop probability: the case where
	// gorgonia's own Dropout gets the gradient wrong.
	const pDrop = 0.2
	masks := make([][]float64, len(hidden))
	for l := range hidden {
		masks[l] = make([]float64, batch*hidden[l])
		fillMask(d.Masks[l], pDrop, rng)
		for i, v := range d.Masks[l] {
			masks[l][i] = float64(v)
		}
	}
	target := make([]float64, batch*2)
	for r := 0; r < batch; r++ {
		target[2*r+rng.IntN(2)] = 0.5 + rng.Float64()
		if r == batch-1 {
			target[2*r], target[2*r+1] = 0, 0 // a padding row
		}
	}
	for i, v := range target {
		d.Target[i] = float32(v)
	}
	if err := d.run(); err != nil {
		t.Fatal(err)
	}
	want, _ := refLoss(p, x, masks, target, batch)
	if got := float64(d.Loss()); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Fatalf("loss %v, reference %v", got, want)
	}

	// Central differences in float64 on the reference, against gorgonia's gradients.
	const h = 1e-3
	check := func(name string, got []float32, perturb func(j int, delta float64)) {
		for j := range got {
			perturb(j, h)
			lp, _ := refLoss(p, x, masks, target, batch)
			perturb(j, -2*h)
			lm, _ := refLoss(p, x, masks, target, batch)
			perturb(j, h)
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(got[j])) > 2e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %v, numerical %v", name, j, got[j], num)
			}
		}
	}
	for l := range p.layers {
		ly := &p.layers[l]
		check("W"+string(rune('0'+l)), d.grad(2*l), func(j int, delta float64) { ly.w[j] += float32(delta) })
		check("b"+string(rune('0'+l)), d.grad(2*l+1), func(j int, delta float64) { ly.b[j] += float32(delta) })
	}
	check("x", d.DX(), func(j int, delta float64) { x[j] += delta })
}

func TestDenseGraphSeesInPlaceUpdatesAndDoesNotAccumulate(t *testing.T) {
	const batch, in = 4, 3
	p := smallParams(in, []int{5}, 1)
	d, err := newDenseGraph(p, batch, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	for i := range d.X {
		d.X[i] = float32(i%5) - 2
	}
	for i := range d.Masks[0] {
		d.Masks[0][i] = 1
	}
	for r := 0; r < batch; r++ {
		d.Target[2*r+r%2] = 1
	}
	if err := d.run(); err != nil {
		t.Fatal(err)
	}
	g1 := append([]float32(nil), d.grad(0)...)
	l1 := d.Loss()
	if err := d.run(); err != nil {
		t.Fatal(err)
	}
	for j, v := range d.grad(0) {
		if v != g1[j] {
			t.Fatalf("second run on the same inputs: gradient %v, first %v (accumulating?)", v, g1[j])
		}
	}
	// Change the weights in place: the next run must see them.
	for j := range p.layers[1].b {
		p.layers[1].b[j] += 1
	}
	p.layers[1].b[1] += 2
	if err := d.run(); err != nil {
		t.Fatal(err)
	}
	if d.Loss() == l1 {
		t.Fatal("the graph did not see the in-place weight update")
	}
	x := make([]float64, len(d.X))
	for i, v := range d.X {
		x[i] = float64(v)
	}
	tg := make([]float64, len(d.Target))
	for i, v := range d.Target {
		tg[i] = float64(v)
	}
	want, _ := refLoss(p, x, nil, tg, batch)
	if math.Abs(float64(d.Loss())-want) > 1e-4 {
		t.Fatalf("loss after update %v, reference %v", d.Loss(), want)
	}
}
