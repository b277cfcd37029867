#include "textflag.h"
#include "kernel_amd64.h"

// AVX2/FMA micro-kernel: C[0:6, 0:16] += Ap·Bp over k steps.
// Ap: 6 floats per step; Bp: 16 floats per step; accumulators Y4..Y15 (row r in
// Y(4+2r), Y(5+2r)); Y0, Y1 hold B; Y2, Y3 alternate as broadcasts of A.

// BROW2(ao, bc, lo, hi) adds one row of a step (A at ao bytes into SI, broadcast into bc)
// times B to its accumulators lo, hi.
#define BROW2(ao, bc, lo, hi) \
	VBROADCASTSS ao(SI), bc; \
	VFMADD231PS Y0, bc, lo; \
	VFMADD231PS Y1, bc, hi

#define STEP6x16(ao, bo) \
	VMOVUPS bo(DI), Y0; \
	VMOVUPS (bo+32)(DI), Y1; \
	BROW2(ao, Y2, Y4, Y5); \
	BROW2((ao+4), Y3, Y6, Y7); \
	BROW2((ao+8), Y2, Y8, Y9); \
	BROW2((ao+12), Y3, Y10, Y11); \
	BROW2((ao+16), Y2, Y12, Y13); \
	BROW2((ao+20), Y3, Y14, Y15)

#define ROW(lo, hi) \
	VADDPS (DX), lo, lo; \
	VMOVUPS lo, (DX); \
	VADDPS 32(DX), hi, hi; \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

// ZEROY12 clears the accumulators Y4..Y15.
#define ZEROY12 \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
	VXORPS Y14, Y14, Y14; \
	VXORPS Y15, Y15, Y15

// func kernelAVX2(k int, a, b, c *float32, ldc int)
TEXT ·kernelAVX2(SB), NOSPLIT, $0-40
	ARGS

	ZEROY12

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   tail

loop4:
	PREFETCHT0 512(DI)
	STEP6x16(0, 0)
	STEP6x16(24, 64)
	PREFETCHT0 576(DI)
	STEP6x16(48, 128)
	STEP6x16(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	STEP6x16(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

store:
	ROW(Y4, Y5)
	ROW(Y6, Y7)
	ROW(Y8, Y9)
	ROW(Y10, Y11)
	ROW(Y12, Y13)
	ROW(Y14, Y15)
	VZEROUPPER
	RET

// AVX2/FMA micro-kernel: C[0:4, 0:24] += Ap·Bp over k steps.
// Ap: 4 floats per step; Bp: 24 floats per step (three ymm); accumulators Y4..Y15 (row r
// in Y(4+3r) .. Y(6+3r)); Y0..Y2 hold B; Y3 the broadcast of A.

#define BROW4(ao, r0, r1, r2) \
	VBROADCASTSS ao(SI), Y3; \
	VFMADD231PS Y0, Y3, r0; \
	VFMADD231PS Y1, Y3, r1; \
	VFMADD231PS Y2, Y3, r2

// FMA4x24(ao) adds the four rows of a step (A at ao bytes into SI) times B (Y0..Y2) to
// their accumulators.
#define FMA4x24(ao) \
	BROW4(ao, Y4, Y5, Y6); \
	BROW4((ao+4), Y7, Y8, Y9); \
	BROW4((ao+8), Y10, Y11, Y12); \
	BROW4((ao+12), Y13, Y14, Y15)

#define STEP4x24(ao, bo) \
	VMOVUPS bo(DI), Y0; \
	VMOVUPS (bo+32)(DI), Y1; \
	VMOVUPS (bo+64)(DI), Y2; \
	FMA4x24(ao)

// STOREY12 adds the accumulators of the 4 x 24 kernels to C (DX, rows R8 bytes apart)
// and returns.
#define STOREY12 \
	ROW3(Y4, Y5, Y6, 32); \
	ROW3(Y7, Y8, Y9, 32); \
	ROW3(Y10, Y11, Y12, 32); \
	ROW3(Y13, Y14, Y15, 32); \
	VZEROUPPER; \
	RET

// KERNEL4x24(STEP, BS, PF) is the body of a 4 x 24 kernel whose STEP reads BS bytes of B:
// four steps a loop (the first three each prefetching a line of B, PF bytes ahead), then
// the last k mod 4 steps one at a time, then STOREY12.
#define KERNEL4x24(STEP, BS, PF) \
	ARGS; \
	ZEROY12; \
	MOVQ CX, BX; \
	SHRQ $2, BX; \
	JZ   tail; \
loop4: \
	PREFETCHT0 PF(DI); \
	STEP(0, 0); \
	PREFETCHT0 (PF+64)(DI); \
	STEP(16, BS); \
	PREFETCHT0 (PF+128)(DI); \
	STEP(32, (2*BS)); \
	STEP(48, (3*BS)); \
	ADDQ $64, SI; \
	ADDQ $(4*BS), DI; \
	DECQ BX; \
	JNZ  loop4; \
tail: \
	ANDQ $3, CX; \
	JZ   store; \
loop1: \
	STEP(0, 0); \
	ADDQ $16, SI; \
	ADDQ $BS, DI; \
	DECQ CX; \
	JNZ  loop1; \
store: \
	STOREY12

// func kernelAVX2x24(k int, a, b, c *float32, ldc int)
TEXT ·kernelAVX2x24(SB), NOSPLIT, $0-40
	KERNEL4x24(STEP4x24, 96, 384)

// The bfloat16 variant of the 4 x 24 kernel: each step's 24 values of B are bfloat16 (48
// bytes), widened to float32 by a zero-extension and a shift of 16 bits (exact).

#define STEP4x24H(ao, bo) \
	VPMOVZXWD bo(DI), Y0; \
	VPMOVZXWD (bo+16)(DI), Y1; \
	VPMOVZXWD (bo+32)(DI), Y2; \
	VPSLLD $16, Y0, Y0; \
	VPSLLD $16, Y1, Y1; \
	VPSLLD $16, Y2, Y2; \
	FMA4x24(ao)

// func kernelAVX2x24BF16(k int, a *float32, b *uint16, c *float32, ldc int)
TEXT ·kernelAVX2x24BF16(SB), NOSPLIT, $0-40
	KERNEL4x24(STEP4x24H, 48, 4096)
