package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// naive is the reference: C = alpha·op(A)·op(B) + beta·C in float64, C not read when
// beta is 0.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ia, ib := i*lda+p, p*ldb+j
				if transA {
					ia = p*lda + i
				}
				if transB {
					ib = j*ldb + p
				}
				av, bv := a[ia], b[ib]
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// withKernel runs f once with each kernel this CPU can run.
func withKernel(t *testing.T, f func(t *testing.T)) {
	saved := active
	defer func() { active = saved }()
	for i := range kernels {
		active = &kernels[i]
		t.Run(kernels[i].name, f)
	}
}

type shape struct {
	tA, tB  bool
	m, n, k int
	pad     int // extra elements per row of every matrix
	alpha   float32
	beta    float32
}

func shapes(short bool) []shape {
	dims := [][3]int{
		{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {4, 5, 0}, {1, 1, 1}, {1, 17, 1}, {2, 3, 4},
		{5, 7, 9}, {6, 16, 1}, {6, 16, 7}, {7, 17, 33}, {12, 32, 64}, {13, 33, 65},
		{16, 500, 100}, {1, 500, 300}, {31, 29, 257}, {145, 47, 300}, {64, 64, 64},
		{100, 200, 150}, {150, 100, 513},
	}
	if !short {
		dims = append(dims, [3]int{145, 3100, 37}, [3]int{300, 257, 260})
	}
	var out []shape
	for i, d := range dims {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				s := shape{tA: tA, tB: tB, m: d[0], n: d[1], k: d[2], alpha: 1, beta: 0}
				switch i % 4 {
				case 1:
					s.alpha, s.beta = 0.5, 1
				case 2:
					s.alpha, s.beta, s.pad = -1.5, 0.25, 3
				case 3:
					s.alpha, s.beta, s.pad = 1, 1, 1
				}
				out = append(out, s)
			}
		}
	}
	return out
}

func (s shape) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,pad=%d,alpha=%g,beta=%g", s.tA, s.tB, s.m, s.n, s.k, s.pad, s.alpha, s.beta)
}

func checkShape(t *testing.T, rng *rand.Rand, s shape) {
	t.Helper()
	ar, ac := s.m, s.k
	if s.tA {
		ar, ac = s.k, s.m
	}
	br, bc := s.k, s.n
	if s.tB {
		br, bc = s.n, s.k
	}
	lda, ldb, ldc := ac+s.pad, bc+s.pad, s.n+s.pad
	a := randSlice(rng, max(0, ar*lda))
	b := randSlice(rng, max(0, br*ldb))
	c := randSlice(rng, max(0, s.m*ldc))
	if s.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN()) // must not be read
		}
	}
	want := append([]float32(nil), c...)
	naive(s.tA, s.tB, s.m, s.n, s.k, s.alpha, a, max(lda, 1), b, max(ldb, 1), s.beta, want, max(ldc, 1))
	Sgemm(s.tA, s.tB, s.m, s.n, s.k, s.alpha, a, max(lda, 1), b, max(ldb, 1), s.beta, c, max(ldc, 1))
	for i := 0; i < s.m; i++ {
		for j := 0; j < ldc; j++ {
			got, w := c[i*ldc+j], want[i*ldc+j]
			if j >= s.n { // padding is untouched
				if math.Float32bits(got) != math.Float32bits(w) {
					t.Fatalf("%v: padding C[%d,%d] changed from %v to %v", s, i, j, w, got)
				}
				continue
			}
			tol := 1e-5 * float64(s.k+1) * float64(1+abs(s.alpha))
			if d := math.Abs(float64(got - w)); !(d <= tol*(1+math.Abs(float64(w)))) {
				t.Fatalf("%v: C[%d,%d] = %v, want %v", s, i, j, got, w)
			}
		}
	}
}

func abs(x float32) float32 { return float32(math.Abs(float64(x))) }

func TestSgemm(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range shapes(testing.Short()) {
			checkShape(t, rng, s)
		}
	})
}

// TestSgemmParallel runs shapes large enough to be split between goroutines, with more
// goroutines than cores, so that every split path is exercised.
func TestSgemmParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(5))
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, d := range [][3]int{{256, 1000, 30}, {1000, 45, 300}, {97, 301, 200}, {301, 97, 200}} {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					checkShape(t, rng, shape{tA: tA, tB: tB, m: d[0], n: d[1], k: d[2], alpha: 0.5, beta: 2, pad: 1})
				}
			}
		}
	})
}

func TestSgemmAlphaZero(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	// A and B are not read: nil slices of the right "size" are not needed when alpha is 0,
	// but the sizes are still checked, so pass real ones.
	a := []float32{float32(math.NaN()), 0, 0, 0}
	Sgemm(false, false, 2, 2, 2, 0, a, 2, a, 2, 2, c, 2)
	for i, want := range []float32{2, 4, 6, 8} {
		if c[i] != want {
			t.Fatalf("alpha=0: C = %v, want beta·C", c)
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	cases := []func(){
		func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) },
		func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		func() {
			Sgemm(true, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 3, 0, make([]float32, 5), 3)
		},
	}
	for i, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d did not panic", i)
				}
			}()
			f()
		}()
	}
}

func TestPacked(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, d := range [][3]int{{1, 1, 1}, {1, 500, 1000}, {4, 500, 1000}, {16, 500, 1000}, {17, 33, 7}, {64, 50, 20}, {3, 0, 5}, {0, 4, 5}} {
			for _, tB := range []bool{false, true} {
				m, n, k := d[0], d[1], d[2]
				b := randSlice(rng, k*n)
				ldb := n
				if tB {
					ldb = k
				}
				p := Pack(tB, k, n, b, max(ldb, 1))
				a := randSlice(rng, m*k)
				c := randSlice(rng, m*n)
				want := append([]float32(nil), c...)
				naive(false, tB, m, n, k, 1, a, k, b, max(ldb, 1), 1, want, max(n, 1))
				work := make([]float32, p.WorkLen(m))
				p.MulAdd(m, a, k, c, max(n, 1), work)
				for i := range c {
					if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%v m=%d tB=%v: C[%d] = %v, want %v", p, m, tB, i, c[i], want[i])
					}
				}
			}
		}
	})
}

// TestPackedBF16: weights that are bfloat16 numbers give, through PackBF16, exactly the
// products that Pack gives (the kernels widen them exactly and sum in the same order),
// with half the storage where the kernel reads bfloat16; a weight that is not one is
// refused.
func TestPackedBF16(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, d := range [][3]int{{1, 1, 1}, {1, 500, 1000}, {4, 500, 1000}, {6, 500, 1000}, {16, 500, 1000}, {17, 33, 7}, {5, 50, 3}, {3, 0, 5}, {0, 4, 5}} {
			for _, tB := range []bool{false, true} {
				m, n, k := d[0], d[1], d[2]
				b := randSlice(rng, k*n)
				for i := range b {
					b[i] = RoundBF16(b[i])
				}
				ldb := max(n, 1)
				if tB {
					ldb = max(k, 1)
				}
				p, ok := PackBF16(tB, k, n, b, ldb)
				if !ok {
					t.Fatalf("m=%d n=%d k=%d tB=%v: PackBF16 refused bfloat16 weights", m, n, k, tB)
				}
				if want := forPacked(active).fn16 != nil; p.BF16() != want {
					t.Fatalf("%v: stored as bfloat16 = %v, want %v", p, p.BF16(), want)
				}
				f := Pack(tB, k, n, b, ldb)
				a := randSlice(rng, m*k)
				got := randSlice(rng, m*n)
				want := append([]float32(nil), got...)
				p.MulAdd(m, a, k, got, max(n, 1), nil)
				f.MulAdd(m, a, k, want, max(n, 1), nil)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%v m=%d tB=%v: C[%d] = %v, with float32 storage %v", p, m, tB, i, got[i], want[i])
					}
				}
			}
		}
		b := make([]float32, 6*7)
		b[41] = 1 + 1.0/(1<<20) // not a bfloat16 number
		if p, ok := PackBF16(false, 6, 7, b, 7); ok || p != nil {
			t.Fatalf("PackBF16 took a float32 that is not a bfloat16 number: %v", p)
		}
		if p, ok := PackBF16(true, 7, 6, b, 7); ok || p != nil {
			t.Fatalf("PackBF16 (transposed) took a float32 that is not a bfloat16 number: %v", p)
		}
	})
}

func TestRoundBF16(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct{ x, want float32 }{
		{0, 0}, {1, 1}, {-2.5, -2.5},
		{1 + 1.0/(1<<9), 1},              // below half way: down
		{1 + 3.0/(1<<9), 1 + 1.0/(1<<7)}, // above half way: up
		{1 + 1.0/(1<<8), 1},              // half way, 1 is even: down
		{1 + 3.0/(1<<8), 1 + 1.0/(1<<6)}, // half way, 1 + 2^-7 is odd: up
		{-(1 + 3.0/(1<<8)), -(1 + 1.0/(1<<6))},
		{math.MaxFloat32, math.MaxFloat32}, // would round to infinity: kept
		{inf, inf},
	} {
		if got := RoundBF16(c.x); got != c.want {
			t.Errorf("RoundBF16(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if x := RoundBF16(float32(math.NaN())); !math.IsNaN(float64(x)) {
		t.Errorf("RoundBF16(NaN) = %v", x)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		x := float32(rng.NormFloat64())
		r := RoundBF16(x)
		if math.Float32bits(r)&0xffff != 0 || math.Abs(float64(r-x)) > math.Abs(float64(x))/256 {
			t.Fatalf("RoundBF16(%v) = %v", x, r)
		}
	}
}

func TestPackedNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p := Pack(false, 100, 50, randSlice(rng, 5000), 50)
	a, c := randSlice(rng, 13*100), make([]float32, 13*50)
	work := make([]float32, p.WorkLen(13))
	if allocs := testing.AllocsPerRun(10, func() { p.MulAdd(13, a, 100, c, 50, work) }); allocs != 0 {
		t.Fatalf("MulAdd allocates %v times per call", allocs)
	}
}

func TestKernelChoice(t *testing.T) {
	if got := choose("generic").name; got != "generic" {
		t.Fatalf("choose(generic) = %s", got)
	}
	if got := choose("").name; got != kernels[0].name {
		t.Fatalf("default kernel %s, want %s", got, kernels[0].name)
	}
	t.Logf("kernels: %v, in use: %s", Kernels(), Kernel())
}

func TestAddVecMat(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 9))
		for _, d := range [][3]int{{1, 1, 0}, {3, 7, 1}, {4, 8, 0}, {5, 64, 2}, {103, 1000, 0}, {9, 130, 5}, {17, 71, 3}} {
			r, n, pad := d[0], d[1], d[2]
			ldw := n + pad
			x, w, y := randSlice(rng, r), randSlice(rng, r*ldw), randSlice(rng, n)
			want := append([]float32(nil), y...)
			naive(false, false, 1, n, r, 1, x, r, w, ldw, 1, want, n)
			AddVecMat(y, x, w, ldw)
			for j := range y {
				if d := math.Abs(float64(y[j] - want[j])); d > 1e-4*(1+math.Abs(float64(want[j]))) {
					t.Fatalf("r=%d n=%d: y[%d] = %v, want %v", r, n, j, y[j], want[j])
				}
			}
		}
	})
}
