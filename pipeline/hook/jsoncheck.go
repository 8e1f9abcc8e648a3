package hook

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
)

// MaxDepth is how deeply a hook's JSON body may nest objects and arrays.
// GitHub's deepest payloads nest about 10 levels; a body nested deeper
// than this is refused before anything reads it.
const MaxDepth = 128

// JSONError tells why a body is not a JSON document that hookgate reads.
type JSONError struct {
	// Offset is the byte at which the body went wrong.
	Offset int
	// Reason says what was wrong there.
	Reason string
}

// Error implements error.
func (e *JSONError) Error() string { return fmt.Sprintf("at byte %d: %s", e.Offset, e.Reason) }

// CheckJSON checks in one pass, without allocating, that body is exactly
// one JSON value (RFC 8259), in valid UTF-8, whose objects and arrays nest
// at most MaxDepth levels. It is the check a hook's body passes before
// gjson reads variables from it, so that gjson, which reads invalid UTF-8
// and any depth, reads only what the apps behind the gateway read too.
func CheckJSON(body []byte) error {
	return checkJSON(body, nil)
}

// checkJSON is CheckJSON, which also notes in top where the members of
// the body's top-level object are (see members), unless top is nil.
//
// It runs on every hook that reads its body, so it is one loop without
// calls on the common path: four states (a value is due, a key is due, a
// string value, a value has ended) joined by goto, a stack of one bit per
// open container (set for an object), and strings and indentation read a
// word of eight bytes at a time. Only escapes, control characters,
// non-ASCII and numbers leave the loop.
func checkJSON(b []byte, top *members) error {
	if top != nil {
		top.n, top.complete = 0, len(b) <= math.MaxInt32 // the notes past n are never read
	}
	i := 0
	depth := 0
	var stack [MaxDepth / 64]uint64
	var inObject, pending bool
	var ch byte
	var reason string
	var m member
	var keyAt int

value: // a value is due at b[i], maybe after whitespace
	i = skipSpace(b, i)
	if i == len(b) {
		return jsonFail(i, "unexpected end of the body")
	}
	switch ch = b[i]; ch {
	case '"':
		goto str
	case '{', '[':
		if depth == MaxDepth {
			return jsonFail(i, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ch+2 { // '}' is '{'+2, ']' is '['+2
			i++
			goto ended
		}
		if ch == '[' {
			stack[depth/64] &^= 1 << (depth % 64)
			depth++
			goto value
		}
		stack[depth/64] |= 1 << (depth % 64)
		depth++
		goto key
	}
	if i, reason = scalar(b, i); reason != "" {
		return jsonFail(i, reason)
	}
	goto ended

key: // an object's key is due, maybe after whitespace
	i = skipSpace(b, i)
	if i == len(b) || b[i] != '"' {
		return jsonFail(i, "want a string key")
	}
	keyAt = i + 1
	if i = plainEnd(b, i+1); i == len(b) || b[i] != '"' {
		var escaped bool
		if i, reason, escaped = stringEnd(b, i); reason != "" {
			return jsonFail(i, reason)
		}
		if escaped && top != nil {
			top.complete = false // the key would need unescaping
		}
	}
	if depth == 1 && top != nil {
		m.key, m.keyEnd = int32(keyAt), int32(i)
	}
	i = skipSpace(b, i+1)
	if i == len(b) || b[i] != ':' {
		return jsonFail(i, "want : after a key")
	}
	i = skipSpace(b, i+1)
	if depth == 1 && top != nil {
		m.start, pending = int32(i), true
	}
	goto value

str: // b[i] opens a string value
	if i = plainEnd(b, i+1); i == len(b) || b[i] != '"' {
		if i, reason, _ = stringEnd(b, i); reason != "" {
			return jsonFail(i, reason)
		}
	}
	i++

ended: // a value has ended: close containers until one goes on with a comma
	if depth == 1 && pending {
		m.end, pending = int32(i), false
		top.add(m)
	}
	i = skipSpace(b, i)
	if depth == 0 {
		if i != len(b) {
			return jsonFail(i, "data after the JSON value")
		}
		return nil
	}
	if i == len(b) {
		return jsonFail(i, "unexpected end of the body")
	}
	inObject = stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0
	switch ch = b[i]; {
	case ch == ',':
		i++
		if inObject {
			goto key
		}
		goto value
	case inObject && ch == '}', !inObject && ch == ']':
		i++
		depth--
		goto ended
	case inObject:
		return jsonFail(i, "want , or } after an object member")
	}
	return jsonFail(i, "want , or ] after an array element")
}

// jsonFail is the error at byte i.
func jsonFail(i int, reason string) error { return &JSONError{Offset: i, Reason: reason} }

// literals are the words a value starting with t, f or n must be.
var literals = [256]string{'t': "true", 'f': "false", 'n': "null"}

// skipSpace is the first byte from i on that is not whitespace.
// Indentation is skipped a word of eight spaces at a time.
func skipSpace(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // most often, there is none
	}
	for i < len(b) {
		switch b[i] {
		case ' ':
			if len(b)-i < 8 {
				i++
				continue
			}
			// The first byte of the word that is not a space.
			i += bits.TrailingZeros64(binary.LittleEndian.Uint64(b[i:])^spaces) / 8
		case '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainEnd skips, a word of eight bytes at a time, what a string holds
// as it is from b[i] on: it is the first byte that is not (see
// specialBytes), or one of the last seven bytes of the body. Keys and
// string values each have their own copy of it, inlined, so that the
// branch predictor learns their lengths apart.
func plainEnd(b []byte, i int) int {
	for len(b)-i >= 8 {
		if special := specialBytes(binary.LittleEndian.Uint64(b[i:])); special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
		i += 8
	}
	return i
}

// stringEnd reads on from b[i], a byte of a string that plainEnd stopped
// at, to the string's closing quote, and tells where that is and whether
// the string has escapes; or where the string went wrong and why.
func stringEnd(b []byte, i int) (end int, reason string, escaped bool) {
	for i < len(b) {
		switch ch := b[i]; {
		case plain[ch]:
			i++
		case ch == '"':
			return i, "", escaped
		case ch == '\\':
			escaped = true
			if i, reason = escape(b, i); reason != "" {
				return i, reason, escaped
			}
		case ch < 0x20:
			return i, "control character in a string", escaped
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, "invalid UTF-8", escaped
			}
			i += size
		}
		i = plainEnd(b, i)
	}
	return i, "unterminated string", escaped
}

// plain are the bytes a string holds as they are: ASCII but for control
// characters, the quote and the backslash.
var plain = func() (t [256]bool) {
	for ch := 0x20; ch < utf8.RuneSelf; ch++ {
		t[ch] = ch != '"' && ch != '\\'
	}
	return t
}()

// Words of eight equal bytes, for specialBytes and skipSpace.
const (
	ones       = 0x0101010101010101
	highBits   = 0x8080808080808080
	quotes     = '"' * ones
	backslashs = '\\' * ones
	spaces     = ' ' * ones
)

// specialBytes flags (with its high bit) each byte of the word w, read
// little-endian, that a string does not hold as it is: a quote, a
// backslash, a control character (below 0x20) or a byte of a multi-byte
// character (0x80 and above). Zero when there is none. A byte above a
// flagged one may be flagged too (a borrow carries into it), but the
// lowest flagged byte is always the first special one, and that is the
// only one CheckJSON reads.
func specialBytes(w uint64) uint64 {
	q := w ^ quotes
	s := w ^ backslashs
	return ((q-ones)&^q | (s-ones)&^s | (w-0x20*ones)&^w | w) & highBits
}

// escape checks the backslash escape at b[i], and tells the byte after it,
// or where it went wrong and why.
func escape(b []byte, i int) (int, string) {
	i++
	if i == len(b) {
		return i, "unterminated string"
	}
	switch b[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1, ""
	case 'u':
		i++
		for range 4 {
			if i == len(b) || !isHex(b[i]) {
				return i, `invalid \u escape`
			}
			i++
		}
		return i, ""
	}
	return i, "invalid escape"
}

// scalar checks the literal (true, false, null) or number at b[i], and
// tells the byte after it, or where it went wrong and why.
func scalar(b []byte, i int) (int, string) {
	if word := literals[b[i]]; word != "" {
		if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
			return i, "invalid literal, want " + word
		}
		return i + len(word), ""
	}
	return number(b, i)
}

// number checks the number at b[i],
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and tells the byte after
// it, or where it went wrong and why.
func number(b []byte, i int) (int, string) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, "invalid value"
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, "want a digit after the decimal point"
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, "want a digit in the exponent"
		}
		i = j
	}
	return i, ""
}

// digits is the first byte from i on that is not a digit.
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// isHex tells whether ch is a hexadecimal digit.
func isHex(ch byte) bool {
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')
}
