package hook

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
