package hook

import "encoding/binary"

// blockSize is how many bytes of a body classify describes per block.
const blockSize = 64

// The masks classify writes for each block of 64 bytes, in this order:
// bit k of a mask stands for byte k of the block.
const (
	quoteMask     = iota // the quote "
	backslashMask        // the backslash \
	bracketMask          // { } [ and ]
	controlMask          // bytes below 0x20
	quoteParity          // prefixXor of the quote mask: set from each odd quote up to the next
	masksPerBlock
)

// classifyWords is classify for any CPU: it reads each block a word of
// eight bytes at a time, with exact byte comparisons (no borrow runs
// from one byte into the next). At about 1 GB/s it is slower than
// checkJSON, so where it is all there is (blockScan off) scanJSON does not
// classify at all; it is the reference the assembly versions are tested
// against.
func classifyWords(src []byte, out []uint64) (nonASCII bool) {
	var all uint64
	for blk := 0; blk+blockSize <= len(src); blk += blockSize {
		var q, bs, br, ctl uint64
		for w := 0; w < blockSize; w += 8 {
			x := binary.LittleEndian.Uint64(src[blk+w:])
			all |= x
			folded := x | 0x20*ones // { and [, } and ] differ only in bit 0x20
			q |= compress(zeroBytes(x^quotes)) << w
			bs |= compress(zeroBytes(x^backslashs)) << w
			br |= compress(zeroBytes(folded^'{'*ones)|zeroBytes(folded^'}'*ones)) << w
			ctl |= compress(zeroBytes(x&(0xe0*ones))) << w
		}
		m := out[blk/blockSize*masksPerBlock:]
		m[quoteMask], m[backslashMask], m[bracketMask], m[controlMask], m[quoteParity] = q, bs, br, ctl, prefixXor(q)
	}
	return all&highBits != 0
}

// zeroBytes sets the high bit of exactly the bytes of x that are zero.
func zeroBytes(x uint64) uint64 {
	const low7 = 0x7f * ones
	return ^((x&low7 + low7) | x) & highBits
}

// compress gathers the high bits of the eight bytes of m into the low
// eight bits, byte k's into bit k: the multiplication moves byte k's bit
// to bit 56+k, and no two partial products meet.
func compress(m uint64) uint64 { return (m >> 7) * 0x0102040810204080 >> 56 }
