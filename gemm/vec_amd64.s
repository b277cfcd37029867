#include "textflag.h"

// func addVecMatAVX2(y *float32, n int, x *float32, r int, w *float32, ldw int)
// y[0:n] += sum over i < r of x[i]·w[i·ldw : i·ldw+n]. Columns in chunks of 64 (eight
// accumulators), then of 8, then one at a time; for each chunk, every row of w once.
TEXT ·addVecMatAVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ r+24(FP), R9
	MOVQ w+32(FP), DX
	MOVQ ldw+40(FP), R8
	SHLQ $2, R8

chunk64:
	CMPQ CX, $64
	JLT  chunk8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y4
	VMOVUPS 160(DI), Y5
	VMOVUPS 192(DI), Y6
	VMOVUPS 224(DI), Y7
	MOVQ DX, R10 // row pointer
	MOVQ SI, R11 // x pointer
	MOVQ R9, BX  // rows left

rows64:
	VBROADCASTSS (R11), Y8
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS 32(R10), Y8, Y1
	VFMADD231PS 64(R10), Y8, Y2
	VFMADD231PS 96(R10), Y8, Y3
	VFMADD231PS 128(R10), Y8, Y4
	VFMADD231PS 160(R10), Y8, Y5
	VFMADD231PS 192(R10), Y8, Y6
	VFMADD231PS 224(R10), Y8, Y7
	ADDQ $4, R11
	ADDQ R8, R10
	DECQ BX
	JNZ  rows64

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	ADDQ $256, DX
	SUBQ $64, CX
	JMP  chunk64

chunk8:
	CMPQ CX, $8
	JLT  chunk1
	VMOVUPS (DI), Y0
	MOVQ DX, R10
	MOVQ SI, R11
	MOVQ R9, BX

rows8:
	VBROADCASTSS (R11), Y8
	VFMADD231PS (R10), Y8, Y0
	ADDQ $4, R11
	ADDQ R8, R10
	DECQ BX
	JNZ  rows8

	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  chunk8

chunk1:
	TESTQ CX, CX
	JZ    done
	VMOVSS (DI), X0
	MOVQ DX, R10
	MOVQ SI, R11
	MOVQ R9, BX

rows1:
	VMOVSS (R11), X8
	VFMADD231SS (R10), X8, X0
	ADDQ $4, R11
	ADDQ R8, R10
	DECQ BX
	JNZ  rows1

	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ $4, DX
	DECQ CX
	JMP  chunk1

done:
	VZEROUPPER
	RET
