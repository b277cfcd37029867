package predictor

import "github.com/bidsieve/bidsieve/gemm"

// add sets dst += x.
func add(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

// addReLU sets dst = max(a + b, 0).
func addReLU(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = max(a[i]+b[i], 0)
	}
}

// relu sets x = max(x, 0).
func relu(x []float32) {
	for i, v := range x {
		x[i] = max(v, 0)
	}
}

func addVecMat(y, x, w []float32, ldw int) { gemm.AddVecMat(y, x, w, ldw) }
