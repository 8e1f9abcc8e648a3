package hook

import (
	"fmt"
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

func (e *JSONError) Error() string { return fmt.Sprintf("at byte %d: %s", e.Offset, e.Reason) }

// CheckJSON checks in one pass, without allocating, that body is exactly
// one JSON value (RFC 8259), in valid UTF-8, whose objects and arrays nest
// at most MaxDepth levels. It is the check a hook's body passes before
// gjson reads variables from it, so that gjson, which reads invalid UTF-8
// and any depth, reads only what the apps behind the gateway read too.
func CheckJSON(body []byte) error {
	c := jsonChecker{b: body}
	return c.document()
}

// jsonChecker walks a body once. Its stack is a bit per open container,
// set for an object, so depth costs no allocation.
type jsonChecker struct {
	b     []byte
	i     int
	depth int
	stack [MaxDepth / 64]uint64
}

// fail is the error at the current byte.
func (c *jsonChecker) fail(reason string) error { return &JSONError{Offset: c.i, Reason: reason} }

// document checks the whole body: a value, then only whitespace.
func (c *jsonChecker) document() error {
	for {
		c.space()
		if err := c.value(); err != nil {
			return err
		}
		// After a value: close containers until one goes on with a comma.
		for {
			c.space()
			if c.depth == 0 {
				if c.i != len(c.b) {
					return c.fail("data after the JSON value")
				}
				return nil
			}
			if c.i == len(c.b) {
				return c.fail("unexpected end of the body")
			}
			inObject := c.stack[(c.depth-1)/64]&(1<<((c.depth-1)%64)) != 0
			ch := c.b[c.i]
			if ch == ',' {
				c.i++
				if inObject {
					if err := c.key(); err != nil {
						return err
					}
				}
				break
			}
			if (inObject && ch == '}') || (!inObject && ch == ']') {
				c.i++
				c.depth--
				continue
			}
			if inObject {
				return c.fail("want , or } after an object member")
			}
			return c.fail("want , or ] after an array element")
		}
	}
}

// value checks one value at the current byte. An object or array is only
// opened (its first key read), or read whole when empty; document reads
// the rest.
func (c *jsonChecker) value() error {
	if c.i == len(c.b) {
		return c.fail("unexpected end of the body")
	}
	switch ch := c.b[c.i]; ch {
	case '{', '[':
		if c.depth == MaxDepth {
			return c.fail(fmt.Sprintf("nested deeper than %d levels", MaxDepth))
		}
		c.i++
		c.space()
		if c.i < len(c.b) && c.b[c.i] == ch+2 { // '}' is '{'+2, ']' is '['+2
			c.i++
			return nil
		}
		if ch == '[' {
			c.stack[c.depth/64] &^= 1 << (c.depth % 64)
			c.depth++
			c.space()
			return c.value()
		}
		c.stack[c.depth/64] |= 1 << (c.depth % 64)
		c.depth++
		if err := c.key(); err != nil {
			return err
		}
		return c.value()
	case '"':
		return c.str()
	case 't':
		return c.literal("true")
	case 'f':
		return c.literal("false")
	case 'n':
		return c.literal("null")
	}
	return c.number()
}

// key checks an object's key and its colon, and the space after.
func (c *jsonChecker) key() error {
	c.space()
	if c.i == len(c.b) || c.b[c.i] != '"' {
		return c.fail("want a string key")
	}
	if err := c.str(); err != nil {
		return err
	}
	c.space()
	if c.i == len(c.b) || c.b[c.i] != ':' {
		return c.fail("want : after a key")
	}
	c.i++
	c.space()
	return nil
}

// space skips whitespace.
func (c *jsonChecker) space() {
	b, i := c.b, c.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	c.i = i
}

// literal checks true, false or null.
func (c *jsonChecker) literal(word string) error {
	if len(c.b)-c.i < len(word) || string(c.b[c.i:c.i+len(word)]) != word {
		return c.fail("invalid literal, want " + word)
	}
	c.i += len(word)
	return nil
}

// str checks a string: escapes, no control characters, valid UTF-8.
func (c *jsonChecker) str() error {
	b, i := c.b, c.i+1 // after the opening quote
	for i < len(b) {
		ch := b[i]
		if plain[ch] {
			i++
			continue
		}
		c.i = i
		switch {
		case ch == '"':
			c.i++
			return nil
		case ch == '\\':
			if err := c.escape(); err != nil {
				return err
			}
			i = c.i
		case ch < 0x20:
			return c.fail("control character in a string")
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return c.fail("invalid UTF-8")
			}
			i += size
		}
	}
	c.i = i
	return c.fail("unterminated string")
}

// plain are the bytes a string holds as they are: ASCII but for control
// characters, the quote and the backslash.
var plain = func() (t [256]bool) {
	for ch := 0x20; ch < utf8.RuneSelf; ch++ {
		t[ch] = ch != '"' && ch != '\\'
	}
	return t
}()

// escape checks a backslash escape.
func (c *jsonChecker) escape() error {
	c.i++
	if c.i == len(c.b) {
		return c.fail("unterminated string")
	}
	switch c.b[c.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		c.i++
		return nil
	case 'u':
		c.i++
		for range 4 {
			if c.i == len(c.b) || !isHex(c.b[c.i]) {
				return c.fail(`invalid \u escape`)
			}
			c.i++
		}
		return nil
	}
	return c.fail("invalid escape")
}

// number checks a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *jsonChecker) number() error {
	if c.b[c.i] == '-' {
		c.i++
	}
	switch {
	case c.i < len(c.b) && c.b[c.i] == '0':
		c.i++
	case c.i < len(c.b) && c.b[c.i] >= '1' && c.b[c.i] <= '9':
		c.digits()
	default:
		return c.fail("invalid value")
	}
	if c.i < len(c.b) && c.b[c.i] == '.' {
		c.i++
		if c.digits() == 0 {
			return c.fail("want a digit after the decimal point")
		}
	}
	if c.i < len(c.b) && (c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		c.i++
		if c.i < len(c.b) && (c.b[c.i] == '+' || c.b[c.i] == '-') {
			c.i++
		}
		if c.digits() == 0 {
			return c.fail("want a digit in the exponent")
		}
	}
	return nil
}

// digits skips digits and tells how many.
func (c *jsonChecker) digits() int {
	b, start := c.b, c.i
	i := start
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	c.i = i
	return i - start
}

// isHex tells whether ch is a hexadecimal digit.
func isHex(ch byte) bool {
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')
}
