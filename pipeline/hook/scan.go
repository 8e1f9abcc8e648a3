package hook

import (
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
)

// maxSpans is how many of the top-level object's members may have an
// object or an array as their value for scanJSON to read the body; a body
// with more is checked whole by checkJSON instead.
const maxSpans = 128

// spans are where the containers that are values of the top-level
// object's members open and close, in the order of the body.
type spans struct {
	n, next     int
	open, close [maxSpans]int32
}

// scanJSON is checkJSON for a body whose values are checked where they
// are read (see Request.ScanPayload). It checks, a block of 64 bytes at a
// time, that the whole body is valid UTF-8, that its strings end and hold
// no control character or invalid escape, and that its brackets match
// and nest at most MaxDepth levels; then it checks the top-level object
// member by member, as checkJSON does, noting in top where each member
// is, and steps over each member's object or array value without
// reading it again: partial reports that, so that what is read is
// checked then. A body that is not an object, or one with more than
// maxSpans container values at the top, is checked whole by checkJSON; so
// is every body where blockScan is not set (no AVX2), where checkJSON is
// the faster of the two.
func scanJSON(b []byte, top *members) (partial bool, err error) {
	i := skipSpace(b, 0)
	if !blockScan || i == len(b) || b[i] != '{' || len(b) > math.MaxInt32 {
		return false, checkJSON(b, top)
	}
	var sp spans
	overflow, nonASCII, err := structure(b, &sp)
	switch {
	case nonASCII && !utf8.Valid(b):
		return true, jsonFail(invalidUTF8At(b), "invalid UTF-8")
	case err != nil:
		return true, err
	case overflow:
		return false, checkJSON(b, top)
	}
	return true, topLevel(b, i, &sp, top)
}

// invalidUTF8At is the offset of the first byte of b that is not part of
// a valid UTF-8 character.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// structure checks the strings and brackets of b (see scanJSON) and
// notes in sp where the top-level object's container members are. It
// reports overflow when there are more of them than sp holds, and whether
// b holds any byte that is not ASCII.
func structure(b []byte, sp *spans) (overflow, nonASCII bool, err error) {
	var masks [16 * masksPerBlock]uint64
	var last [blockSize]byte
	var inString, escaped uint64    // carried from one block to the next
	var stack [MaxDepth / 64]uint64 // a bit per open container, set for an object
	depth := 0
	whole := len(b) / blockSize * blockSize
	for at := 0; at < len(b); {
		var src []byte
		if at < whole {
			src = b[at:min(at+len(masks)/masksPerBlock*blockSize, whole)]
		} else { // the last bytes, padded with spaces to a block
			n := copy(last[:], b[at:])
			for i := n; i < blockSize; i++ {
				last[i] = ' '
			}
			src = last[:]
		}
		if classify(src, masks[:]) {
			nonASCII = true
		}
		for blk, k := 0, 0; blk < len(src); blk, k = blk+blockSize, k+masksPerBlock {
			m := masks[k : k+masksPerBlock : k+masksPerBlock]
			base := at + blk
			// Each quote turns a string on or off: the bits from an
			// opening quote up to its closing quote (excluded) are the
			// string's.
			str := m[quoteParity]
			if m[backslashMask]|escaped != 0 {
				// Each backslash that is not itself escaped escapes the
				// byte after it, which must make a valid escape, and which
				// is not a quote that turns a string on or off.
				for escapes := m[backslashMask] &^ escaped; escapes != 0; escapes &^= 3 << bits.TrailingZeros64(escapes) {
					backslash := base + bits.TrailingZeros64(escapes)
					if i, reason := escape(b, backslash); reason != "" {
						return false, false, jsonFail(i, reason)
					}
					escaped |= 2 << bits.TrailingZeros64(escapes) // lost for the last byte: carried below
				}
				if m[quoteMask]&escaped != 0 {
					str = prefixXor(m[quoteMask] &^ escaped)
				}
				escaped = (m[backslashMask] &^ escaped) >> 63 // a last backslash escapes the next block's first byte
			}
			str ^= inString
			inString = uint64(int64(str) >> 63)
			if ctl := m[controlMask] & str; ctl != 0 {
				return false, false, jsonFail(base+bits.TrailingZeros64(ctl), "control character in a string")
			}
			for brackets := m[bracketMask] &^ str; brackets != 0; brackets &= brackets - 1 {
				i := base + bits.TrailingZeros64(brackets)
				switch ch := b[i]; ch {
				case '{', '[':
					if depth == MaxDepth {
						return false, false, jsonFail(i, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
					}
					if ch == '{' {
						stack[depth/64] |= 1 << (depth % 64)
					} else {
						stack[depth/64] &^= 1 << (depth % 64)
					}
					depth++
					if depth == 2 {
						if sp.n == maxSpans {
							overflow = true
						} else {
							sp.open[sp.n] = int32(i)
						}
					}
				default:
					if depth == 0 {
						return false, false, jsonFail(i, "data after the JSON value")
					}
					depth--
					inObject := stack[depth/64]&(1<<(depth%64)) != 0
					switch {
					case inObject && ch != '}':
						return false, false, jsonFail(i, "want , or } after an object member")
					case !inObject && ch != ']':
						return false, false, jsonFail(i, "want , or ] after an array element")
					}
					if depth == 1 && sp.n < maxSpans {
						sp.close[sp.n] = int32(i)
						sp.n++
					}
				}
			}
		}
		at += len(src)
	}
	switch {
	case inString != 0:
		return false, false, jsonFail(len(b), "unterminated string")
	case depth != 0:
		return false, false, jsonFail(len(b), "unexpected end of the body")
	}
	return overflow, nonASCII, nil
}

// prefixXor sets bit k of its answer to the parity of bits 0 to k of x.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}

// topLevel checks the top-level object of b, which opens at b[i], member
// by member as checkJSON does, noting in top where each member is; a
// member whose value is an object or an array, which structure checked,
// is stepped over to its close as sp found it.
func topLevel(b []byte, i int, sp *spans, top *members) error {
	top.n, top.complete = 0, true // the notes past n are never read
	var reason string
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return afterTop(b, i+1)
	}
	for {
		if i == len(b) || b[i] != '"' {
			return jsonFail(i, "want a string key")
		}
		m := member{key: int32(i + 1)}
		if i = plainEnd(b, i+1); i == len(b) || b[i] != '"' {
			var escaped bool
			if i, reason, escaped = stringEnd(b, i); reason != "" {
				return jsonFail(i, reason)
			}
			if escaped {
				top.complete = false // the key would need unescaping
			}
		}
		m.keyEnd = int32(i)
		i = skipSpace(b, i+1)
		if i == len(b) || b[i] != ':' {
			return jsonFail(i, "want : after a key")
		}
		i = skipSpace(b, i+1)
		m.start = int32(i)
		if i == len(b) {
			return jsonFail(i, "unexpected end of the body")
		}
		switch ch := b[i]; ch {
		case '"':
			if i = plainEnd(b, i+1); i == len(b) || b[i] != '"' {
				if i, reason, _ = stringEnd(b, i); reason != "" {
					return jsonFail(i, reason)
				}
			}
			i++
		case '{', '[':
			if sp.next == sp.n || int(sp.open[sp.next]) != i {
				return jsonFail(i, "invalid value")
			}
			i = int(sp.close[sp.next]) + 1
			sp.next++
		default:
			if i, reason = scalar(b, i); reason != "" {
				return jsonFail(i, reason)
			}
		}
		m.end = int32(i)
		top.add(m)
		i = skipSpace(b, i)
		switch {
		case i == len(b):
			return jsonFail(i, "unexpected end of the body")
		case b[i] == ',':
			i = skipSpace(b, i+1)
		case b[i] == '}':
			return afterTop(b, i+1)
		default:
			return jsonFail(i, "want , or } after an object member")
		}
	}
}

// afterTop checks that nothing but whitespace follows the top-level value,
// which ended before b[i].
func afterTop(b []byte, i int) error {
	if i = skipSpace(b, i); i != len(b) {
		return jsonFail(i, "data after the JSON value")
	}
	return nil
}
