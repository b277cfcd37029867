package gemm

//go:noescape
func addVecMatAVX2(y *float32, n int, x *float32, r int, w *float32, ldw int)

func addVecMat(y, x, w []float32, ldw int) {
	if active.name == "generic" {
		addVecMatGeneric(y, x, w, ldw)
		return
	}
	addVecMatAVX2(&y[0], len(y), &x[0], len(x), &w[0], ldw)
}
