package gemm

import "fmt"

// Packed is a k x n matrix B packed once for many products A·B: the weights of a layer at
// inference. It is immutable and safe for concurrent use.
type Packed struct {
	k, n int
	kern *kernel
	data []float32 // ceil(n/nr) panels of k x nr, zero-padded
}

// Pack packs op(B), where B is k x n (ldb >= n), or n x k (ldb >= k) when transB. It uses
// the kernel in use at the time of the call (or its variant for few rows).
func Pack(transB bool, k, n int, b []float32, ldb int) *Packed {
	// Check B as the B of a 1 x n x k product.
	checkArgs(false, transB, 1, n, k, k, max(k, 1), len(b), ldb, n, max(n, 1))
	kern := forPacked(active)
	p := &Packed{k: k, n: n, kern: kern, data: make([]float32, roundUp(n, kern.nr)*k)}
	if k > 0 && n > 0 {
		packB(p.data, transB, b, ldb, 0, 0, k, n, kern.nr)
	}
	return p
}

// Dims returns the rows (k) and columns (n) of the packed matrix.
func (p *Packed) Dims() (k, n int) { return p.k, p.n }

// WorkLen is the length of the scratch that MulAdd needs for an m-row A.
func (p *Packed) WorkLen(m int) int {
	return roundUp(m, p.kern.mr)*p.k + p.kern.mr*p.kern.nr
}

// MulAdd computes C += A·B on the calling goroutine, where A is m x k (row-major, lda >= k)
// and C is m x n (ldc >= n). work is scratch of at least WorkLen(m) elements; with a shorter
// one MulAdd allocates. It does not allocate otherwise.
func (p *Packed) MulAdd(m int, a []float32, lda int, c []float32, ldc int, work []float32) {
	checkArgs(false, false, m, p.n, p.k, len(a), lda, len(p.data), max(p.n, 1), len(c), ldc)
	if m == 0 || p.n == 0 || p.k == 0 {
		return
	}
	kern := p.kern
	need := p.WorkLen(m)
	if len(work) < need {
		work = make([]float32, need)
	}
	mp := roundUp(m, kern.mr) * p.k
	ap, tile := work[:mp], work[mp:need]
	packA(ap, false, a, lda, 0, 0, m, p.k, kern.mr, 1)
	macro(kern, p.k, m, p.n, ap, p.data, c, ldc, tile)
}

func (p *Packed) String() string {
	return fmt.Sprintf("gemm.Packed(%d x %d, %s)", p.k, p.n, p.kern.name)
}
