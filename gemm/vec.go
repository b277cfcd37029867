package gemm

import "fmt"

// AddVecMat computes y += x·W for the row vector x of length r and the r x n matrix W
// (row-major, ldw >= n), where n = len(y): a matrix-vector product, for one input row.
func AddVecMat(y, x, w []float32, ldw int) {
	r, n := len(x), len(y)
	if r == 0 || n == 0 {
		return
	}
	if ldw < n || len(w) < (r-1)*ldw+n {
		panic(fmt.Sprintf("gemm: AddVecMat: w has %d elements, a %d x %d matrix with stride %d needs %d", len(w), r, n, ldw, (r-1)*ldw+n))
	}
	addVecMat(y, x, w, ldw)
}

func addVecMatGeneric(y, x, w []float32, ldw int) {
	n := len(y)
	for i := 0; i < len(x); i += 4 {
		if i+4 > len(x) {
			for ; i < len(x); i++ {
				xi, row := x[i], w[i*ldw:i*ldw+n]
				for j := range y {
					y[j] += xi * row[j]
				}
			}
			return
		}
		x0, x1, x2, x3 := x[i], x[i+1], x[i+2], x[i+3]
		r0 := w[i*ldw : i*ldw+n]
		r1 := w[(i+1)*ldw : (i+1)*ldw+n]
		r2 := w[(i+2)*ldw : (i+2)*ldw+n]
		r3 := w[(i+3)*ldw : (i+3)*ldw+n]
		for j := range y {
			y[j] += x0*r0[j] + x1*r1[j] + x2*r2[j] + x3*r3[j]
		}
	}
}
