#include "textflag.h"

// func classifyAVX2(src *byte, n int, out *uint64) (nonASCII bool)
//
// For each block of 64 bytes: the masks of quotes, backslashes, brackets
// ((b|0x20) is '{' or '}') and control bytes (min(b, 0x1f) == b), each
// two VPMOVMSKB of 32 bytes joined into one word, and the quotes' parity;
// and the OR of every byte in Y9, whose high bits tell whether any is not
// ASCII.
TEXT ·classifyAVX2(SB), NOSPLIT, $0-25
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	VPXOR Y9, Y9, Y9
	TESTQ CX, CX
	JZ   done

	MOVQ $0x22, AX
	VMOVQ AX, X10
	VPBROADCASTB X10, Y10 // "
	MOVQ $0x5c, AX
	VMOVQ AX, X11
	VPBROADCASTB X11, Y11 // \
	MOVQ $0x20, AX
	VMOVQ AX, X12
	VPBROADCASTB X12, Y12 // the bit that folds [ into { and ] into }
	MOVQ $0x7b, AX
	VMOVQ AX, X13
	VPBROADCASTB X13, Y13 // {
	MOVQ $0x7d, AX
	VMOVQ AX, X14
	VPBROADCASTB X14, Y14 // }
	MOVQ $0x1f, AX
	VMOVQ AX, X15
	VPBROADCASTB X15, Y15 // the highest control byte
	MOVQ $-1, AX
	VMOVQ AX, X8           // all ones: carry-less multiplication by it is prefixXor

loop:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VPOR    Y0, Y9, Y9
	VPOR    Y1, Y9, Y9

	VPCMPEQB Y0, Y10, Y2
	VPCMPEQB Y1, Y10, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, 0(DI)
	VMOVQ AX, X4
	VPCLMULQDQ $0, X8, X4, X4
	VMOVQ X4, 32(DI)

	VPCMPEQB Y0, Y11, Y2
	VPCMPEQB Y1, Y11, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, 8(DI)

	VPOR     Y0, Y12, Y2
	VPOR     Y1, Y12, Y3
	VPCMPEQB Y2, Y13, Y4
	VPCMPEQB Y2, Y14, Y5
	VPOR     Y4, Y5, Y4
	VPCMPEQB Y3, Y13, Y6
	VPCMPEQB Y3, Y14, Y7
	VPOR     Y6, Y7, Y6
	VPMOVMSKB Y4, AX
	VPMOVMSKB Y6, BX
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, 16(DI)

	VPMINUB  Y0, Y15, Y2
	VPCMPEQB Y0, Y2, Y2
	VPMINUB  Y1, Y15, Y3
	VPCMPEQB Y1, Y3, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, BX
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, 24(DI)

	ADDQ $64, SI
	ADDQ $40, DI
	DECQ CX
	JNZ  loop

done:
	VPMOVMSKB Y9, AX
	TESTL AX, AX
	SETNE nonASCII+24(FP)
	VZEROUPPER
	RET

// func classifyAVX512(src *byte, n int, out *uint64) (nonASCII bool)
//
// classifyAVX2 with a block in one register and its masks in K registers.
TEXT ·classifyAVX512(SB), NOSPLIT, $0-25
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	VPXORQ Z9, Z9, Z9
	TESTQ CX, CX
	JZ   done512

	MOVL $0x22, AX
	VPBROADCASTB AX, Z10 // "
	MOVL $0x5c, AX
	VPBROADCASTB AX, Z11 // \
	MOVL $0x20, AX
	VPBROADCASTB AX, Z12 // the bit that folds [ into { and ] into }
	MOVL $0x7b, AX
	VPBROADCASTB AX, Z13 // {
	MOVL $0x7d, AX
	VPBROADCASTB AX, Z14 // }
	MOVL $0x1f, AX
	VPBROADCASTB AX, Z15 // the highest control byte
	MOVQ $-1, AX
	VMOVQ AX, X8          // all ones: carry-less multiplication by it is prefixXor

loop512:
	VMOVDQU64 0(SI), Z0
	VPORQ     Z0, Z9, Z9

	VPCMPEQB Z0, Z10, K1
	KMOVQ    K1, AX
	MOVQ     AX, 0(DI)
	VMOVQ     AX, X4
	VPCLMULQDQ $0, X8, X4, X4
	VMOVQ     X4, 32(DI)

	VPCMPEQB Z0, Z11, K2
	KMOVQ    K2, BX
	MOVQ     BX, 8(DI)

	VPORQ    Z0, Z12, Z2
	VPCMPEQB Z2, Z13, K3
	VPCMPEQB Z2, Z14, K4
	KORQ     K3, K4, K3
	KMOVQ    K3, AX
	MOVQ     AX, 16(DI)

	VPCMPUB  $2, Z15, Z0, K5
	KMOVQ    K5, BX
	MOVQ     BX, 24(DI)

	ADDQ $64, SI
	ADDQ $40, DI
	DECQ CX
	JNZ  loop512

done512:
	VPMOVB2M Z9, K1
	KORTESTQ K1, K1
	SETNE    nonASCII+24(FP)
	VZEROUPPER
	RET
