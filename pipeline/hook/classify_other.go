//go:build !amd64

package hook

// blockScan says whether scanJSON reads bodies a block at a time: not
// here, where classify has no assembly version and checkJSON is faster.
const blockScan = false

// classify writes masksPerBlock masks (see quoteMask) into out for each
// whole block of 64 bytes of src, and reports whether any of those bytes
// is not ASCII.
func classify(src []byte, out []uint64) (nonASCII bool) { return classifyWords(src, out) }
