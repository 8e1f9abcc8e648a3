package action

// cappedBuffer keeps the first outputLimit bytes written to it and counts
// the rest away.
type cappedBuffer struct {
	buf       []byte
	truncated bool
}

// Write implements io.Writer; it never fails, so a chatty command is not
// killed by a broken pipe.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := outputLimit - len(b.buf)
	if len(p) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:room]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}
