package gemm

import (
	"fmt"
	"os"
	"unsafe"
)

// A kernel computes the mr x nr tile C += Ap·Bp for k steps, where Ap holds mr values per
// step (a packed panel of A) and Bp holds nr values per step (a packed panel of B); C's rows
// are ldc elements apart. Bp is float32, or bfloat16 (the upper half of a float32's bits)
// for the weights of PackBF16.
type kernelOf[E float32 | uint16] func(k int, a *float32, b *E, c *float32, ldc int)

type kernelFunc = kernelOf[float32]

type kernel struct {
	name   string
	mr, nr int
	fn     kernelFunc
	// half, if set, computes only the first mr/2 rows of a tile from the same packed
	// panels: macro uses it for a last panel of at most mr/2 rows.
	half kernelFunc
	// fn16 and half16, if set, are fn and half for a B of bfloat16 values, widened to
	// float32 in registers: the same products, the same sums, half the bytes to read.
	fn16, half16 kernelOf[uint16]
	// packed names the kernel that Pack uses when this one is active, if another: a
	// shape that suits the few rows of inference better.
	packed string
}

// generic is the portable kernel, used where no assembly kernel applies.
var generic = kernel{name: "generic", mr: 4, nr: 8, fn: kernelGeneric}

// kernels lists the kernels this CPU can run, best first; the generic one is always last.
var kernels = append(archKernels(), generic)

// active is the kernel in use, chosen at start-up.
var active = choose(os.Getenv("BIDSIEVE_GEMM"))

func choose(name string) *kernel {
	for i := range kernels {
		if kernels[i].name == name {
			return &kernels[i]
		}
	}
	return &kernels[0]
}

// forPacked is the kernel Pack uses when k is active.
func forPacked(k *kernel) *kernel {
	if k.packed == "" {
		return k
	}
	return choose(k.packed)
}

// Kernel names the micro-kernel in use: "avx512", "avx2" or "generic" (or a variant
// forced with UseKernel).
func Kernel() string { return active.name }

// UseKernel makes the named kernel (one of Kernels) the one in use and returns the name of
// the previous one. It is for tests and benchmarks: call it while no product runs, and
// note that a Packed matrix keeps the kernel it was packed for.
func UseKernel(name string) (previous string, err error) {
	previous = active.name
	for i := range kernels {
		if kernels[i].name == name {
			active = &kernels[i]
			return previous, nil
		}
	}
	return previous, fmt.Errorf("gemm: no kernel %q on this CPU (have %v)", name, Kernels())
}

// Kernels names the micro-kernels this CPU can run, best first.
func Kernels() []string {
	names := make([]string, len(kernels))
	for i, k := range kernels {
		names[i] = k.name
	}
	return names
}

// kernelGeneric is the 4 x 8 kernel in Go: two rows by four columns at a time, in
// registers.
func kernelGeneric(k int, ap, bp, cp *float32, ldc int) {
	const mr, nr = 4, 8
	if k == 0 {
		return
	}
	a := unsafe.Slice(ap, k*mr)
	b := unsafe.Slice(bp, k*nr)
	c := unsafe.Slice(cp, (mr-1)*ldc+nr)
	for i := 0; i < mr; i += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for p := 0; p < k; p++ {
				aa := a[p*mr+i : p*mr+i+2 : p*mr+i+2]
				bb := b[p*nr+j : p*nr+j+4 : p*nr+j+4]
				a0, a1 := aa[0], aa[1]
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
			}
			r0 := c[i*ldc+j : i*ldc+j+4 : i*ldc+j+4]
			r0[0] += c00
			r0[1] += c01
			r0[2] += c02
			r0[3] += c03
			r1 := c[(i+1)*ldc+j : (i+1)*ldc+j+4 : (i+1)*ldc+j+4]
			r1[0] += c10
			r1[1] += c11
			r1[2] += c12
			r1[3] += c13
		}
	}
}
