package caddymodule

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/signature"
)

// Defaults of the body limits: the bytes buffered across all hooks, and
// how long a hook's body may take to arrive.
const (
	defaultMaxBuffered = 256 << 20
	defaultReadTimeout = 30 * time.Second
)

// bodyBudget bounds the memory held by hook bodies being read and
// handled, across all hooks of an app: a buffer takes its capacity from
// the budget as it grows, and gives it back when its request ends.
type bodyBudget struct {
	limit int64
	used  atomic.Int64
}

// defaultBudget is the budget of hooks served without a hookgate app in
// the config (pass-through hooks only).
var defaultBudget = &bodyBudget{limit: defaultMaxBuffered}

// take reserves n bytes, or tells that they would pass the limit.
func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n bytes taken before.
func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// Errors of reading a body, besides http.MaxBytesError.
var (
	// errBuffersFull: the budget of buffered bytes is spent.
	errBuffersFull = errors.New("the gateway is holding as many hook bodies as it may")
	// errReadTimeout: the body did not arrive within the read timeout.
	errReadTimeout = errors.New("the body did not arrive in time")
)

// hookScratch is what a hook holds while it is handled, recycled as a
// whole once the handlers after this one return: the buffer its body is
// read into, and the requests its signature and its variables read.
type hookScratch struct {
	buf  bytes.Buffer
	sig  signature.Request
	hook hook.Request
}

// scratches recycles the hookScratch of finished hooks.
var scratches = sync.Pool{New: func() any { return new(hookScratch) }}

// maxPooledBody is the largest buffer kept for reuse, so that one large
// hook does not pin its memory.
const maxPooledBody = 1 << 20

// minBodyRead is how much free room the buffer has before each read. The
// buffer doubles from there, so it holds at most about twice the bytes
// that arrived, whatever Content-Length announced.
const minBodyRead = 512

// hookBody is a hook's body being read: a pooled buffer (with the rest
// of the hook's scratch), and the bytes of the budget it holds.
type hookBody struct {
	scratch *hookScratch
	budget  *bodyBudget
	held    int64
}

// newHookBody takes a scratch from the pool; release gives it back.
func newHookBody(budget *bodyBudget) hookBody {
	return hookBody{scratch: scratches.Get().(*hookScratch), budget: budget}
}

// readBody reads the request's whole body, at most MaxBody bytes, within
// the read timeout: a body announced as too large is refused before a
// byte is read, and the buffer grows only with the bytes that arrive.
func (h *Handler) readBody(b *hookBody, w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.MaxBody {
		return nil, &http.MaxBytesError{Limit: h.MaxBody}
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(time.Duration(h.ReadTimeout))) == nil {
		defer rc.SetReadDeadline(time.Time{})
	}
	if !b.grow(0) {
		return nil, errBuffersFull
	}
	body := http.MaxBytesReader(w, r.Body, h.MaxBody)
	for {
		if b.scratch.buf.Available() < minBodyRead && !b.grow(minBodyRead) {
			return nil, errBuffersFull
		}
		room := b.scratch.buf.AvailableBuffer()[:b.scratch.buf.Available()]
		n, err := body.Read(room)
		b.scratch.buf.Write(room[:n])
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, errReadTimeout
		case errors.Is(err, io.EOF):
			return b.scratch.buf.Bytes(), nil
		default:
			return nil, err
		}
	}
}

// grow makes room for n more bytes in the buffer, taking its new capacity
// from the budget; false when the budget has no room for it.
func (b *hookBody) grow(n int) bool {
	if n > 0 {
		b.scratch.buf.Grow(n)
	}
	more := int64(b.scratch.buf.Cap()) - b.held
	if more <= 0 {
		return true
	}
	if !b.budget.take(more) {
		return false
	}
	b.held += more
	return true
}

// release gives the budget back and the scratch to the pool, unless its
// buffer grew too large to keep. The scratch's requests are cleared so
// that the pool holds on to no request's headers.
func (b *hookBody) release() {
	b.budget.give(b.held)
	b.held = 0
	if b.scratch.buf.Cap() > maxPooledBody {
		return
	}
	b.scratch.buf.Reset()
	b.scratch.sig = signature.Request{}
	b.scratch.hook = hook.Request{}
	scratches.Put(b.scratch)
}

// replayBody is a body read already, given again to the next handler.
type replayBody struct{ bytes.Reader }

// Close implements io.Closer.
func (*replayBody) Close() error { return nil }
