//go:build !amd64

package hook

// classify writes masksPerBlock masks (see quoteMask) into out for each
// whole block of 64 bytes of src, and reports whether any of those bytes
// is not ASCII.
func classify(src []byte, out []uint64) (nonASCII bool) { return classifyWords(src, out) }
