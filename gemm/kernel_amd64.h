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
