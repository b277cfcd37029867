// Shared by the amd64 kernels (kernel_amd64.s, kernel512_amd64.s).

// ARGS loads the kernels' arguments k, a, b, c and ldc into CX, SI, DI, DX and R8 (ldc in
// bytes).
#define ARGS \
	MOVQ k+0(FP), CX; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ ldc+32(FP), R8; \
	SHLQ $2, R8

// ROW3(r0, r1, r2, w) adds the accumulators r0, r1, r2 (vectors of w bytes) to the row of C
// at DX and moves DX to the next row, R8 bytes on.
#define ROW3(r0, r1, r2, w) \
	VADDPS (DX), r0, r0; \
	VMOVUPS r0, (DX); \
	VADDPS w(DX), r1, r1; \
	VMOVUPS r1, w(DX); \
	VADDPS (2*w)(DX), r2, r2; \
	VMOVUPS r2, (2*w)(DX); \
	ADDQ R8, DX
