package hook

import "golang.org/x/sys/cpu"

// classify writes masksPerBlock masks (see quoteMask) into out for each
// whole block of 64 bytes of src, and reports whether any of those bytes
// is not ASCII; with AVX-512 or AVX2 where the CPU has it.
func classify(src []byte, out []uint64) (nonASCII bool) {
	n := len(src) / blockSize
	switch {
	case n == 0:
		return false
	case hasAVX512:
		_ = out[n*masksPerBlock-1]
		return classifyAVX512(&src[0], n, &out[0])
	case hasAVX2:
		_ = out[n*masksPerBlock-1]
		return classifyAVX2(&src[0], n, &out[0])
	}
	return classifyWords(src, out)
}

// What the CPU has for classify: the instructions of each assembly
// version (VPCLMULQDQ is carry-less multiplication in AVX encoding).
var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasPCLMULQDQ
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW
)

// blockScan says whether scanJSON reads bodies a block at a time: only
// with an assembly classify, which reads 64 bytes in a few instructions.
var blockScan = hasAVX2

// classifyAVX512 is classify for n whole blocks at src, a block per
// instruction.
//
//go:noescape
func classifyAVX512(src *byte, n int, out *uint64) (nonASCII bool)

// classifyAVX2 is classify for n whole blocks at src, 32 bytes per
// instruction.
//
//go:noescape
func classifyAVX2(src *byte, n int, out *uint64) (nonASCII bool)
