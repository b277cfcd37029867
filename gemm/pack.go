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
		if rows == mr && mr == 8 {
			packA8(panel, a, lda, ib, p0, kc, alpha)
			continue
		}
		if rows == mr && mr == 6 {
			packA6(panel, a, lda, ib, p0, kc, alpha)
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

// packA8 packs a full panel of 8 rows of a non-transposed A: for each step, 8 values
// gathered from the 8 rows, written contiguously.
func packA8(panel, a []float32, lda, ib, p0, kc int, alpha float32) {
	r0 := a[ib*lda+p0:][:kc]
	r1 := a[(ib+1)*lda+p0:][:len(r0)]
	r2 := a[(ib+2)*lda+p0:][:len(r0)]
	r3 := a[(ib+3)*lda+p0:][:len(r0)]
	r4 := a[(ib+4)*lda+p0:][:len(r0)]
	r5 := a[(ib+5)*lda+p0:][:len(r0)]
	r6 := a[(ib+6)*lda+p0:][:len(r0)]
	r7 := a[(ib+7)*lda+p0:][:len(r0)]
	panel = panel[:8*len(r0)]
	if alpha == 1 {
		for p := range r0 {
			d := panel[8*p : 8*p+8 : 8*p+8]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
		}
		return
	}
	for p := range r0 {
		d := panel[8*p : 8*p+8 : 8*p+8]
		d[0], d[1], d[2], d[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
		d[4], d[5], d[6], d[7] = alpha*r4[p], alpha*r5[p], alpha*r6[p], alpha*r7[p]
	}
}

// packA6 is packA8 for panels of 6 rows.
func packA6(panel, a []float32, lda, ib, p0, kc int, alpha float32) {
	r0 := a[ib*lda+p0:][:kc]
	r1 := a[(ib+1)*lda+p0:][:len(r0)]
	r2 := a[(ib+2)*lda+p0:][:len(r0)]
	r3 := a[(ib+3)*lda+p0:][:len(r0)]
	r4 := a[(ib+4)*lda+p0:][:len(r0)]
	r5 := a[(ib+5)*lda+p0:][:len(r0)]
	panel = panel[:6*len(r0)]
	if alpha == 1 {
		for p := range r0 {
			d := panel[6*p : 6*p+6 : 6*p+6]
			d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
		return
	}
	for p := range r0 {
		d := panel[6*p : 6*p+6 : 6*p+6]
		d[0], d[1], d[2] = alpha*r0[p], alpha*r1[p], alpha*r2[p]
		d[3], d[4], d[5] = alpha*r3[p], alpha*r4[p], alpha*r5[p]
	}
}
