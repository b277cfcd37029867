// Package gemm is a fast float32 matrix product for bidsieve: training hands Sgemm to
// gorgonia, and the predictor multiplies activations by weights packed once at load.
//
// Sgemm has BLAS semantics on row-major matrices (C = alpha op(A) op(B) + beta C, the four
// transpose cases). It packs A and B into cache-sized blocks and runs a register-blocked
// micro-kernel: AVX2/FMA or AVX-512 assembly on amd64 when the CPU has it, a portable Go
// kernel otherwise, chosen once at start-up (Kernel names the choice; the environment
// variable BIDSIEVE_GEMM=generic|avx2|avx512 overrides it, for comparisons). Large products
// run on up to GOMAXPROCS goroutines.
//
// PackBF16 packs weights that are bfloat16 numbers (bidsieve train rounds the hidden
// layer's weights so) as bfloat16 for the assembly kernels, which widen them exactly in
// registers: the same products as float32 storage, bit for bit, from half the bytes, which
// is what a product of a few rows by a large layer waits for once the weights have left
// the caches.
//
// Every function but UseKernel (for tests) is safe for concurrent use: a Packed matrix
// is immutable after Pack.
// Results may differ from a naive triple loop in the last bits, because the sums are
// accumulated in a different order (and with fused multiply-adds).
package gemm
