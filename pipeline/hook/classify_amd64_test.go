package hook

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The assembly versions of classify that this CPU runs are tested too.
func init() {
	if hasAVX2 {
		classifiers["classifyAVX2"] = func(src []byte, out []uint64) bool {
			if len(src) == 0 {
				return false
			}
			return classifyAVX2(&src[0], len(src)/blockSize, &out[0])
		}
	}
	if hasAVX512 {
		classifiers["classifyAVX512"] = func(src []byte, out []uint64) bool {
			if len(src) == 0 {
				return false
			}
			return classifyAVX512(&src[0], len(src)/blockSize, &out[0])
		}
	}
}

// TestClassifyAssemblyIsVEX keeps legacy-SSE encodings out of the
// assembly: an SSE instruction on an X register (MOVQ AX, X4, say) between
// 256-bit VEX instructions pays for the upper halves on some CPUs; next to
// VPCLMULQDQ it cost about 400 cycles a block on a Zen 3 host, and made
// classifyAVX2 60 times slower than with VMOVQ. Every instruction that
// names an X, Y or Z register must be a VEX or EVEX one (its name starts
// with V).
func TestClassifyAssemblyIsVEX(t *testing.T) {
	src, err := os.ReadFile("classify_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	vector := regexp.MustCompile(`\b[XYZ]\d+\b`)
	for n, line := range strings.Split(string(src), "\n") {
		code, _, _ := strings.Cut(line, "//")
		fields := strings.Fields(code)
		if len(fields) < 2 || !vector.MatchString(code) {
			continue
		}
		if op := fields[0]; !strings.HasPrefix(op, "V") {
			t.Errorf("classify_amd64.s:%d: %s is not a VEX instruction: %s", n+1, op, strings.TrimSpace(code))
		}
	}
}
