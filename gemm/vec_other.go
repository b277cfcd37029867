//go:build !amd64

package gemm

func addVecMat(y, x, w []float32, ldw int) { addVecMatGeneric(y, x, w, ldw) }
