package training

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/bidsieve/bidsieve/gemm"
)

// fastBLAS is gonum's BLAS with Sgemm, where gorgonia spends most of its time on float32
// networks, replaced by bidsieve's own AVX2/FMA GEMM (package gemm).
type fastBLAS struct {
	gonum.Implementation
}

// Sgemm computes C = alpha op(A) op(B) + beta C on row-major matrices (gonum's contract).
func (fastBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// UseFastGEMM makes gorgonia (process-wide) multiply float32 matrices with package gemm.
// Train calls it.
func UseFastGEMM() { G.Use(fastBLAS{}) }

// UseDefaultBLAS switches gorgonia back to gonum's pure-Go BLAS (for comparisons).
func UseDefaultBLAS() { G.Use(gonum.Implementation{}) }
