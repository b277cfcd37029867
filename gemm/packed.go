package gemm

import (
	"fmt"
	"math"
)

// Packed is a k x n matrix B packed once for many products A·B: the weights of a layer at
// inference. It is immutable and safe for concurrent use.
type Packed struct {
	k, n int
	kern *kernel
	data []float32 // ceil(n/nr) panels of k x nr, zero-padded
	// data16, instead of data for a matrix packed by PackBF16 where the kernel can read
	// bfloat16: the same panels, each value's upper 16 bits.
	data16 []uint16
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

// PackBF16 is Pack for a B whose every value is a bfloat16 number (a float32 whose lower
// 16 bits are zero, as training rounds the hidden layers' weights): where the kernel can
// read them, the panels are stored as bfloat16, so that a product reads half the bytes. A
// product through it gives exactly what Pack's gives: only the storage differs. ok is
// false, and p nil, when a value of B is not a bfloat16 number.
//
// On a busy server the weights of a 1000 x 500 layer (2 MB as float32) have left the
// caches between two requests, and reading them from memory, not the multiply-adds, is
// most of a small product's time.
func PackBF16(transB bool, k, n int, b []float32, ldb int) (p *Packed, ok bool) {
	checkArgs(false, transB, 1, n, k, k, max(k, 1), len(b), ldb, n, max(n, 1))
	rows, cols := k, n // of B as stored
	if transB {
		rows, cols = n, k
	}
	for i := 0; i < rows && cols > 0; i++ {
		if !allBF16(b[i*ldb : i*ldb+cols]) {
			return nil, false
		}
	}
	p = Pack(transB, k, n, b, ldb)
	if p.kern.fn16 == nil {
		return p, true
	}
	p.data16 = make([]uint16, len(p.data))
	for i, x := range p.data {
		p.data16[i] = uint16(math.Float32bits(x) >> 16)
	}
	p.data = nil
	return p, true
}

func allBF16(xs []float32) bool {
	for _, x := range xs {
		if math.Float32bits(x)&0xffff != 0 {
			return false
		}
	}
	return true
}

// RoundBF16 rounds x to the nearest bfloat16 number (ties to even), as a float32: the
// weights that PackBF16 takes. A value too large for bfloat16 is returned unchanged.
func RoundBF16(x float32) float32 {
	b := math.Float32bits(x)
	if b&0x7f800000 == 0x7f800000 { // Inf or NaN
		return x
	}
	r := math.Float32frombits((b + 0x7fff + (b >> 16 & 1)) &^ 0xffff)
	if math.IsInf(float64(r), 0) {
		return x
	}
	return r
}

// Dims returns the rows (k) and columns (n) of the packed matrix.
func (p *Packed) Dims() (k, n int) { return p.k, p.n }

// BF16 reports whether the matrix is stored as bfloat16 (see PackBF16).
func (p *Packed) BF16() bool { return p.data16 != nil }

// WorkLen is the length of the scratch that MulAdd needs for an m-row A.
func (p *Packed) WorkLen(m int) int {
	return roundUp(m, p.kern.mr)*p.k + p.kern.mr*p.kern.nr
}

// MulAdd computes C += A·B on the calling goroutine, where A is m x k (row-major, lda >= k)
// and C is m x n (ldc >= n). work is scratch of at least WorkLen(m) elements; with a shorter
// one MulAdd allocates. It does not allocate otherwise.
func (p *Packed) MulAdd(m int, a []float32, lda int, c []float32, ldc int, work []float32) {
	checkArgs(false, false, m, p.n, p.k, len(a), lda, max(len(p.data), len(p.data16)), max(p.n, 1), len(c), ldc)
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
	if p.data16 != nil {
		macro(kern.fn16, kern.half16, kern.mr, kern.nr, p.k, m, p.n, ap, p.data16, c, ldc, tile)
		return
	}
	macro(kern.fn, kern.half, kern.mr, kern.nr, p.k, m, p.n, ap, p.data, c, ldc, tile)
}

func (p *Packed) String() string {
	s := fmt.Sprintf("gemm.Packed(%d x %d, %s", p.k, p.n, p.kern.name)
	if p.BF16() {
		s += ", bf16"
	}
	return s + ")"
}
