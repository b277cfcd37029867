package predictor

import "github.com/bidsieve/bidsieve/gemm"

// The element-wise helpers of the fast path: AVX2 assembly where the CPU has it
// (vec_amd64.s), Go otherwise.

// add sets dst += x.
func add(dst, x []float32) {
	x = x[:len(dst)]
	if useAVX2 && len(dst) > 0 {
		addAVX2(&dst[0], &x[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] += x[i]
	}
}

// addReLU sets dst = max(a + b, 0).
func addReLU(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if useAVX2 && len(dst) > 0 {
		addReLUAVX2(&dst[0], &a[0], &b[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] = max(a[i]+b[i], 0)
	}
}

// relu sets x = max(x, 0).
func relu(x []float32) {
	if useAVX2 && len(x) > 0 {
		reluAVX2(&x[0], len(x))
		return
	}
	for i, v := range x {
		x[i] = max(v, 0)
	}
}

func addVecMat(y, x, w []float32, ldw int) { gemm.AddVecMat(y, x, w, ldw) }
