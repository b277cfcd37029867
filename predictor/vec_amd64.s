#include "textflag.h"

// The loops take 32 floats at a time in Y0..Y3, then 8 in Y0, then one in X0. Y15 (X15)
// holds zeros for the ReLU. LOAD4(p) loads the 32 floats at p (a register) into Y0..Y3;
// ADD4(p) adds the 32 floats at p to them; RELU4 clamps them at 0; STORE4(p) writes them
// back to p.
#define LOAD4(p) \
	VMOVUPS (p), Y0; \
	VMOVUPS 32(p), Y1; \
	VMOVUPS 64(p), Y2; \
	VMOVUPS 96(p), Y3

#define ADD4(p) \
	VADDPS (p), Y0, Y0; \
	VADDPS 32(p), Y1, Y1; \
	VADDPS 64(p), Y2, Y2; \
	VADDPS 96(p), Y3, Y3

#define RELU4 \
	VMAXPS Y15, Y0, Y0; \
	VMAXPS Y15, Y1, Y1; \
	VMAXPS Y15, Y2, Y2; \
	VMAXPS Y15, Y3, Y3

#define STORE4(p) \
	VMOVUPS Y0, (p); \
	VMOVUPS Y1, 32(p); \
	VMOVUPS Y2, 64(p); \
	VMOVUPS Y3, 96(p)

// func addAVX2(dst, x *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

add32:
	CMPQ CX, $32
	JLT  add8
	LOAD4(DI)
	ADD4(SI)
	STORE4(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  add32

add8:
	CMPQ CX, $8
	JLT  add1
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  add8

add1:
	TESTQ CX, CX
	JZ    adddone
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	DECQ CX
	JMP  add1

adddone:
	VZEROUPPER
	RET

// func addReLUAVX2(dst, a, b *float32, n int)
TEXT ·addReLUAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y15, Y15, Y15

ar32:
	CMPQ CX, $32
	JLT  ar8
	LOAD4(SI)
	ADD4(DX)
	RELU4
	STORE4(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	ADDQ $128, DX
	SUBQ $32, CX
	JMP  ar32

ar8:
	CMPQ CX, $8
	JLT  ar1
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMAXPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  ar8

ar1:
	TESTQ CX, CX
	JZ    ardone
	VMOVSS (SI), X0
	VADDSS (DX), X0, X0
	VMAXSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	ADDQ $4, DX
	DECQ CX
	JMP  ar1

ardone:
	VZEROUPPER
	RET

// func reluAVX2(x *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VXORPS Y15, Y15, Y15

r32:
	CMPQ CX, $32
	JLT  r8
	VMAXPS (DI), Y15, Y0
	VMAXPS 32(DI), Y15, Y1
	VMAXPS 64(DI), Y15, Y2
	VMAXPS 96(DI), Y15, Y3
	STORE4(DI)
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  r32

r8:
	CMPQ CX, $8
	JLT  r1
	VMAXPS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  r8

r1:
	TESTQ CX, CX
	JZ    rdone
	VMOVSS (DI), X0
	VMAXSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ CX
	JMP  r1

rdone:
	VZEROUPPER
	RET
