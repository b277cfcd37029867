#include "textflag.h"
#include "kernel_amd64.h"

// PFD is how far ahead (bytes) the kernels prefetch B. B streams from memory when the
// weights of a large layer have left the caches between two requests (a busy gateway):
// the hardware prefetcher alone then leaves the kernel waiting. 8 KiB ahead, every line:
// BenchmarkScore/adapter-cold went from 127 to about 90 µs, the warm products unchanged.
#define PFD 8192

// AVX-512 micro-kernel: C[0:8, 0:48] += Ap·Bp over k steps.
// Ap: 8 floats per step; Bp: 48 floats per step (three zmm); accumulators Z8..Z31 (row r
// in Z(8+3r) .. Z(10+3r)); Z0..Z2 hold B; Z3, Z4 alternate as broadcasts of A.

#define BROW(ao, bc, r0, r1, r2) \
	VBROADCASTSS ao(SI), bc; \
	VFMADD231PS Z0, bc, r0; \
	VFMADD231PS Z1, bc, r1; \
	VFMADD231PS Z2, bc, r2

// LOADB(bo) loads a step's 48 floats of B (bo bytes into DI) into Z0..Z2.
#define LOADB(bo) \
	VMOVUPS bo(DI), Z0; \
	VMOVUPS (bo+64)(DI), Z1; \
	VMOVUPS (bo+128)(DI), Z2

// FMA0TO3(ao) adds rows 0..3 of a step (A at ao bytes into SI) times B to their
// accumulators (Z8..Z19), FMA4TO7(ao) rows 4..7 (Z20..Z31).
#define FMA0TO3(ao) \
	BROW(ao, Z3, Z8, Z9, Z10); \
	BROW((ao+4), Z4, Z11, Z12, Z13); \
	BROW((ao+8), Z3, Z14, Z15, Z16); \
	BROW((ao+12), Z4, Z17, Z18, Z19)

#define FMA4TO7(ao) \
	BROW((ao+16), Z3, Z20, Z21, Z22); \
	BROW((ao+20), Z4, Z23, Z24, Z25); \
	BROW((ao+24), Z3, Z26, Z27, Z28); \
	BROW((ao+28), Z4, Z29, Z30, Z31)

#define STEP8x48(ao, bo) \
	LOADB(bo); \
	FMA0TO3(ao); \
	FMA4TO7(ao)

// ZERO12 clears the accumulators of rows 0..3 (Z8..Z19), ZERO24 those of rows 0..7.
#define ZERO12 \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19

#define ZERO24 \
	ZERO12; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23; \
	VPXORD Z24, Z24, Z24; \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27; \
	VPXORD Z28, Z28, Z28; \
	VPXORD Z29, Z29, Z29; \
	VPXORD Z30, Z30, Z30; \
	VPXORD Z31, Z31, Z31

// ADD12 adds the accumulators of rows 0..3 to C (DX, rows R8 bytes apart). STORE12 does
// that and returns; STORE24 the same for rows 0..7.
#define ADD12 \
	ROW3(Z8, Z9, Z10, 64); \
	ROW3(Z11, Z12, Z13, 64); \
	ROW3(Z14, Z15, Z16, 64); \
	ROW3(Z17, Z18, Z19, 64)

#define STORE12 \
	ADD12; \
	VZEROUPPER; \
	RET

#define STORE24 \
	ADD12; \
	ROW3(Z20, Z21, Z22, 64); \
	ROW3(Z23, Z24, Z25, 64); \
	ROW3(Z26, Z27, Z28, 64); \
	ROW3(Z29, Z30, Z31, 64); \
	VZEROUPPER; \
	RET

// KERNEL512(ZERO, STEP, STORE, BS, PFA, PFB) is the body of an AVX-512 kernel whose STEP
// reads BS bytes of B: ZERO clears its accumulators, two STEPs a loop (PFA and PFB prefetch
// the lines of B that the pair reads, ahead), an odd last STEP, then STORE adds the
// accumulators to C and returns.
#define KERNEL512(ZERO, STEP, STORE, BS, PFA, PFB) \
	ARGS; \
	ZERO; \
	MOVQ CX, BX; \
	SHRQ $1, BX; \
	JZ   tail; \
loop2: \
	PFA; \
	STEP(0, 0); \
	PFB; \
	STEP(32, BS); \
	ADDQ $64, SI; \
	ADDQ $(2*BS), DI; \
	DECQ BX; \
	JNZ  loop2; \
tail: \
	ANDQ $1, CX; \
	JZ   store; \
	STEP(0, 0); \
store: \
	STORE

// A pair of float32 steps reads six lines of B: PF32A and PF32B prefetch them PFD bytes
// ahead.
#define PF32A \
	PREFETCHT0 PFD(DI); \
	PREFETCHT0 (PFD+64)(DI); \
	PREFETCHT0 (PFD+128)(DI)

#define PF32B \
	PREFETCHT0 (PFD+192)(DI); \
	PREFETCHT0 (PFD+256)(DI); \
	PREFETCHT0 (PFD+320)(DI)

// func kernelAVX512(k int, a, b, c *float32, ldc int)
TEXT ·kernelAVX512(SB), NOSPLIT, $0-40
	KERNEL512(ZERO24, STEP8x48, STORE24, 192, PF32A, PF32B)

// The same with only rows 0..3 of the 8-row panel (for a last panel of at most 4 rows):
// C[0:4, 0:48] += Ap[:, 0:4]·Bp, Ap still 8 floats per step. Accumulators Z8..Z19.

#define STEP4of8x48(ao, bo) \
	LOADB(bo); \
	FMA0TO3(ao)

// func kernelAVX512Half(k int, a, b, c *float32, ldc int)
TEXT ·kernelAVX512Half(SB), NOSPLIT, $0-40
	KERNEL512(ZERO12, STEP4of8x48, STORE12, 192, PF32A, PF32B)

// The bfloat16 kernels: the same as the two above, but each step's 48 values of B are
// bfloat16 (96 bytes), widened to float32 by a zero-extension and a shift of 16 bits
// (exact), then multiplied and added exactly as above.

#define LOADB16(bo) \
	VPMOVZXWD bo(DI), Z0; \
	VPMOVZXWD (bo+32)(DI), Z1; \
	VPMOVZXWD (bo+64)(DI), Z2; \
	VPSLLD $16, Z0, Z0; \
	VPSLLD $16, Z1, Z1; \
	VPSLLD $16, Z2, Z2

#define STEP8x48H(ao, bo) \
	LOADB16(bo); \
	FMA0TO3(ao); \
	FMA4TO7(ao)

#define STEP4of8x48H(ao, bo) \
	LOADB16(bo); \
	FMA0TO3(ao)

// A pair of bfloat16 steps reads three lines of B: PF16A and PF16B prefetch them PFD/2
// bytes ahead (the same distance in steps as the float32 kernels).
#define PF16A \
	PREFETCHT0 (PFD/2)(DI); \
	PREFETCHT0 (PFD/2+64)(DI)

#define PF16B \
	PREFETCHT0 (PFD/2+128)(DI)

// func kernelAVX512BF16(k int, a *float32, b *uint16, c *float32, ldc int)
TEXT ·kernelAVX512BF16(SB), NOSPLIT, $0-40
	KERNEL512(ZERO24, STEP8x48H, STORE24, 96, PF16A, PF16B)

// func kernelAVX512HalfBF16(k int, a *float32, b *uint16, c *float32, ldc int)
TEXT ·kernelAVX512HalfBF16(SB), NOSPLIT, $0-40
	KERNEL512(ZERO12, STEP4of8x48H, STORE12, 96, PF16A, PF16B)
