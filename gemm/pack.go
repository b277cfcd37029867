package gemm

// packA copies alpha·op(A)[i0:i0+mc, p0:p0+kc] into dst as panels of mr rows: panel q holds,
// for each step p, the mr values op(A)[i0+q·mr+r, p0+p], zero past row mc. op(A)[i, p] is
// a[i·lda+p], or a[p·lda+i] when transA.
func packA(dst []float32, transA bool, a []float32, lda, i0, p0, mc, kc, mr int, alpha float32) {
	for q := 0; q*mr < mc; q++ {
		panel := dst[q*mr*kc : (q+1)*mr*kc]
		rows := min(mr, mc-q*mr)
		ib := i0 + q*mr
		if transA {
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+ib : (p0+p)*lda+ib+rows]
				d := panel[p*mr : p*mr+mr]
				for r, x := range src {
					d[r] = alpha * x
				}
				for r := rows; r < mr; r++ {
					d[r] = 0
				}
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(ib+r)*lda+p0 : (ib+r)*lda+p0+kc]
			for p, x := range src {
				panel[p*mr+r] = alpha * x
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kc; p++ {
				panel[p*mr+r] = 0
			}
		}
	}
}

// packB copies op(B)[p0:p0+kc, j0:j0+nc] into dst as panels of nr columns: panel q holds,
// for each step p, the nr values op(B)[p0+p, j0+q·nr+c], zero past column nc. op(B)[p, j]
// is b[p·ldb+j], or b[j·ldb+p] when transB.
func packB(dst []float32, transB bool, b []float32, ldb, p0, j0, kc, nc, nr int) {
	for q := 0; q*nr < nc; q++ {
		panel := dst[q*nr*kc : (q+1)*nr*kc]
		cols := min(nr, nc-q*nr)
		jb := j0 + q*nr
		if !transB {
			for p := 0; p < kc; p++ {
				d := panel[p*nr : p*nr+nr]
				copy(d, b[(p0+p)*ldb+jb:(p0+p)*ldb+jb+cols])
				for c := cols; c < nr; c++ {
					d[c] = 0
				}
			}
			continue
		}
		for c := 0; c < cols; c++ {
			src := b[(jb+c)*ldb+p0 : (jb+c)*ldb+p0+kc]
			for p, x := range src {
				panel[p*nr+c] = x
			}
		}
		for c := cols; c < nr; c++ {
			for p := 0; p < kc; p++ {
				panel[p*nr+c] = 0
			}
		}
	}
}
