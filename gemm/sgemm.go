package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

// Block sizes: a packed block of A (mcBlock x kcBlock) stays in L2, a packed panel of B
// (kcBlock x nr) in L1, a packed block of B (kcBlock x ncBlock) in L3. mcBlock and ncBlock
// are multiples of every kernel's mr and nr.
const (
	mcBlock = 144
	kcBlock = 256
	ncBlock = 3072
)

// minWorkPerGoroutine is the number of multiply-adds below which an extra goroutine costs
// more than it saves.
const minWorkPerGoroutine = 1 << 19

type buffers struct {
	a, b, tile []float32
}

var pool = sync.Pool{New: func() any {
	return &buffers{
		a:    make([]float32, mcBlock*kcBlock),
		b:    make([]float32, kcBlock*ncBlock),
		tile: make([]float32, 16*64),
	}
}}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where op(X) is X or
// its transpose: op(A) is m x k, op(B) is k x n, C is m x n. A is m x k (lda >= k), or
// k x m (lda >= m) when transA; B is k x n (ldb >= n), or n x k (ldb >= k) when transB;
// ldc >= n. As in BLAS, C is not read when beta is 0, and A and B are not read when alpha
// is 0 or k is 0. It panics on inconsistent sizes, like gonum's blas32.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	kern := active
	if alpha == 0 || k == 0 {
		scale(beta, m, n, c, ldc)
		return
	}
	work := m * n * k
	workers := min(runtime.GOMAXPROCS(0), work/minWorkPerGoroutine)
	if workers <= 1 {
		scale(beta, m, n, c, ldc)
		serial(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	// Split the larger of m and n between the goroutines, on kernel tile boundaries; each
	// goroutine packs its own blocks.
	var wg sync.WaitGroup
	if n >= m {
		chunk := roundUp((n+workers-1)/workers, kern.nr)
		for j0 := 0; j0 < n; j0 += chunk {
			nj := min(chunk, n-j0)
			var bj []float32
			if transB {
				bj = b[j0*ldb:]
			} else {
				bj = b[j0:]
			}
			cj := c[j0:]
			run := func() {
				scale(beta, m, nj, cj, ldc)
				serial(kern, transA, transB, m, nj, k, alpha, a, lda, bj, ldb, cj, ldc)
			}
			if j0+chunk >= n {
				run()
			} else {
				wg.Add(1)
				go func() { defer wg.Done(); run() }()
			}
		}
	} else {
		chunk := roundUp((m+workers-1)/workers, kern.mr)
		for i0 := 0; i0 < m; i0 += chunk {
			mi := min(chunk, m-i0)
			var ai []float32
			if transA {
				ai = a[i0:]
			} else {
				ai = a[i0*lda:]
			}
			ci := c[i0*ldc:]
			run := func() {
				scale(beta, mi, n, ci, ldc)
				serial(kern, transA, transB, mi, n, k, alpha, ai, lda, b, ldb, ci, ldc)
			}
			if i0+chunk >= m {
				run()
			} else {
				wg.Add(1)
				go func() { defer wg.Done(); run() }()
			}
		}
	}
	wg.Wait()
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// scale sets C = beta·C, writing zeros (without reading C) when beta is 0.
func scale(beta float32, m, n int, c []float32, ldc int) {
	switch beta {
	case 1:
	case 0:
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	default:
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// serial computes C += alpha·op(A)·op(B) on the calling goroutine.
func serial(kern *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	buf := pool.Get().(*buffers)
	defer pool.Put(buf)
	for jc := 0; jc < n; jc += ncBlock {
		nc := min(ncBlock, n-jc)
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			packB(buf.b, transB, b, ldb, pc, jc, kc, nc, kern.nr)
			for ic := 0; ic < m; ic += mcBlock {
				mc := min(mcBlock, m-ic)
				packA(buf.a, transA, a, lda, ic, pc, mc, kc, kern.mr, alpha)
				macro(kern.fn, kern.half, kern.mr, kern.nr, kc, mc, nc, buf.a, buf.b, c[ic*ldc+jc:], ldc, buf.tile)
			}
		}
	}
}

// macro runs the kernel fn over an mc x nc block of C from packed A and B blocks of depth
// kc, with mr x nr tiles; half, if not nil, computes the first mr/2 rows of a tile (for a
// last panel of at most mr/2 rows). B is float32, or bfloat16 (uint16) for the kernels of
// PackBF16. tile is scratch for the partial tiles at the edges (at least mr·nr).
func macro[E float32 | uint16](fn, half kernelOf[E], mr, nr, kc, mc, nc int, ap []float32, bp []E, c []float32, ldc int, tile []float32) {
	for jr := 0; jr < nc; jr += nr {
		b := &bp[jr*kc]
		cols := min(nr, nc-jr)
		for ir := 0; ir < mc; ir += mr {
			a := &ap[ir*kc]
			rows := min(mr, mc-ir)
			if rows == mr && cols == nr {
				fn(kc, a, b, &c[ir*ldc+jr], ldc)
				continue
			}
			t := tile[:mr*nr]
			clear(t)
			if half != nil && rows <= mr/2 {
				half(kc, a, b, &t[0], nr)
			} else {
				fn(kc, a, b, &t[0], nr)
			}
			for r := 0; r < rows; r++ {
				dst := c[(ir+r)*ldc+jr : (ir+r)*ldc+jr+cols]
				for j, x := range t[r*nr : r*nr+cols] {
					dst[j] += x
				}
			}
		}
	}
}

func checkArgs(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, rows, cols, l, ld int) {
		if ld < max(1, cols) {
			panic(fmt.Sprintf("gemm: ld%s=%d < %d columns", name, ld, cols))
		}
		if rows > 0 && cols > 0 && l < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: %s has %d elements, a %d x %d matrix with stride %d needs %d", name, l, rows, cols, ld, (rows-1)*ld+cols))
		}
	}
	check("a", ar, ac, la, lda)
	check("b", br, bc, lb, ldb)
	check("c", m, n, lc, ldc)
}
