package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

type benchShape struct {
	name    string
	tA, tB  bool
	m, n, k int
}

// The products of training the 300 -> 1000 -> 500 -> 2 network at batch 256 (forward,
// then the two backward products of each layer), and square ones.
var benchShapes = []benchShape{
	{"fwd1_256x1000x300", false, false, 256, 1000, 300},
	{"fwd2_256x500x1000", false, false, 256, 500, 1000},
	{"dW2_1000x500x256", true, false, 1000, 500, 256},
	{"dX2_256x1000x500", false, true, 256, 1000, 500},
	{"square_512", false, false, 512, 512, 512},
	{"predict_16x500x1000", false, false, 16, 500, 1000},
}

func benchSgemm(b *testing.B, s benchShape, f func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int)) {
	rng := rand.New(rand.NewPCG(1, 1))
	lda, ldb := s.k, s.n
	if s.tA {
		lda = s.m
	}
	if s.tB {
		ldb = s.k
	}
	a, bb, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), make([]float32, s.m*s.n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
	}
	b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchSgemm(b, s, Sgemm) })
	}
}

func BenchmarkSgemmKernels(b *testing.B) {
	saved := active
	defer func() { active = saved }()
	for i := range kernels {
		active = &kernels[i]
		for _, s := range benchShapes[4:5] {
			b.Run(fmt.Sprintf("%s/%s", kernels[i].name, s.name), func(b *testing.B) { benchSgemm(b, s, Sgemm) })
		}
	}
}

// BenchmarkGonum is the reference: gonum's pure-Go Sgemm on the same shapes.
func BenchmarkGonum(b *testing.B) {
	impl := gonum.Implementation{}
	tr := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			benchSgemm(b, s, func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
				impl.Sgemm(tr(tA), tr(tB), m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
			})
		})
	}
}

// benchMulAdd times p.MulAdd (k x n) on m random rows and reports GFLOP/s.
func benchMulAdd(b *testing.B, p *Packed, rng *rand.Rand, m, k, n int) {
	a, c := randSlice(rng, m*k), make([]float32, m*n)
	work := make([]float32, p.WorkLen(m))
	b.ReportAllocs()
	for b.Loop() {
		p.MulAdd(m, a, k, c, n, work)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkPacked is the predictor's hidden layer: m rows times a packed 1000 x 500 matrix.
func BenchmarkPacked(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	const k, n = 1000, 500
	p := Pack(false, k, n, randSlice(rng, k*n), n)
	for _, m := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("m=%d", m), func(b *testing.B) {
			benchMulAdd(b, p, rng, m, k, n)
		})
	}
}

// BenchmarkPackedKernels is BenchmarkPacked at m=16 with each kernel.
func BenchmarkPackedKernels(b *testing.B) {
	saved := active
	defer func() { active = saved }()
	rng := rand.New(rand.NewPCG(2, 2))
	const m, k, n = 16, 1000, 500
	w := randSlice(rng, k*n)
	for i := range kernels {
		active = &kernels[i]
		p := Pack(false, k, n, w, n)
		if p.kern != active {
			continue // benchmarked under its own name
		}
		b.Run(kernels[i].name, func(b *testing.B) {
			benchMulAdd(b, p, rng, m, k, n)
		})
	}
}
