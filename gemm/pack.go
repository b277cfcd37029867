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
		if packRows(panel, a, lda, ib, p0, kc, rows, mr, alpha) {
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

// zeroRow stands for the missing rows of a last, partial panel of A.
var zeroRow [4096]float32

// packRows packs a panel of mr = 8, 6 or 4 rows of a non-transposed A (rows of them
// present, zeros for the rest, when kc <= len(zeroRow)): for each step, mr values gathered
// from the rows, written contiguously. It reports whether it did (false for other shapes,
// which the caller packs value by value).
func packRows(panel, a []float32, lda, ib, p0, kc, rows, mr int, alpha float32) bool {
	if kc > len(zeroRow) || (mr != 8 && mr != 6 && mr != 4) {
		return false
	}
	var r [8][]float32
	for i := range mr {
		if i < rows {
			r[i] = a[(ib+i)*lda+p0:][:kc]
		} else {
			r[i] = zeroRow[:kc]
		}
	}
	switch mr {
	case 8:
		packA8(panel, &r, kc, alpha)
	case 6:
		packA6(panel, &r, kc, alpha)
	default:
		packA4(panel, &r, kc, alpha)
	}
	return true
}

func packA8(panel []float32, r *[8][]float32, kc int, alpha float32) {
	r0, r1, r2, r3 := r[0][:kc], r[1][:kc], r[2][:kc], r[3][:kc]
	r4, r5, r6, r7 := r[4][:kc], r[5][:kc], r[6][:kc], r[7][:kc]
	panel = panel[:8*kc]
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

func packA6(panel []float32, r *[8][]float32, kc int, alpha float32) {
	r0, r1, r2, r3, r4, r5 := r[0][:kc], r[1][:kc], r[2][:kc], r[3][:kc], r[4][:kc], r[5][:kc]
	panel = panel[:6*kc]
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

func packA4(panel []float32, r *[8][]float32, kc int, alpha float32) {
	r0, r1, r2, r3 := r[0][:kc], r[1][:kc], r[2][:kc], r[3][:kc]
	panel = panel[:4*kc]
	if alpha == 1 {
		for p := range r0 {
			d := panel[4*p : 4*p+4 : 4*p+4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
		return
	}
	for p := range r0 {
		d := panel[4*p : 4*p+4 : 4*p+4]
		d[0], d[1], d[2], d[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
	}
}
