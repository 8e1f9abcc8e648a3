package hook

import (
	"strings"
	"unsafe"
)

// textBlock is the size of the blocks texts copies short strings into.
const textBlock = 256

// texts copies the strings of one request's variables out of its payload,
// whose buffer is reused after the request: short ones share blocks, so
// that a hook's few values take one allocation between them, not one
// each. A block's bytes are never written again once a string is made of
// them.
type texts struct{ block []byte }

// clone is a copy of s.
func (t *texts) clone(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) > textBlock/4:
		return strings.Clone(s)
	case cap(t.block)-len(t.block) < len(s):
		t.block = make([]byte, 0, textBlock)
	}
	t.block = append(t.block, s...)
	return unsafe.String(&t.block[len(t.block)-len(s)], len(s))
}
