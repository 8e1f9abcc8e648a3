package caddymodule

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// defaultRequestLog is how many requests the request log keeps when the
// app does not say.
const defaultRequestLog = 1000

// maxLoggedBody is how much of each body the request log keeps.
const maxLoggedBody = 16 << 10

// RequestLog keeps the latest incoming requests of this instance in a
// ring: accepted and rejected, with why. Recording one costs a lock and
// a copy of at most 16 KiB into a buffer the ring reuses; headers are
// kept as the request had them and redacted when read.
type RequestLog struct {
	mu    sync.Mutex
	slots []loggedRequest
	next  uint64 // sequence number of the next request recorded
}

// loggedRequest is a ring slot.
type loggedRequest struct {
	seq      uint64
	at       time.Time
	duration time.Duration
	hook     string
	method   string
	path     string
	remoteIP string
	outcome  Outcome
	header   http.Header
	// handler is the hook's, which tells its credential headers.
	handler  *Handler
	body     []byte
	bodySize int64
}

// Outcome is how a hook was answered, as the handler logs it.
type Outcome struct {
	// Result is the answer's code: an error (signature_invalid, ...) or a
	// status (queued, skipped, duplicate, passed, handshake).
	Result string
	// Status is the HTTP status answered; 0 when the request went on to
	// the next handler, which answered it.
	Status int
	// Detail says why, in words.
	Detail string
	// ActionID is the action the request led to (queued or duplicate).
	ActionID string
	// EventID is the hook.received event a relay hook led to.
	EventID string
}

// outcomeVar is the request variable under which the handler notes its
// answer for the request log.
const outcomeVar = "hookgate.outcome"

// noteOutcome notes the answer to r for the request log.
func noteOutcome(r *http.Request, o Outcome) {
	caddyhttp.SetVar(r.Context(), outcomeVar, o)
}

// newRequestLog is a request log of n requests; nil when n is 0 (off).
func newRequestLog(n int) *RequestLog {
	if n <= 0 {
		return nil
	}
	return &RequestLog{slots: make([]loggedRequest, n)}
}

// lastRequestLog is the request log of the latest config, taken over by
// the next one of the same size, so that a reload keeps the log.
var lastRequestLog atomic.Pointer[RequestLog]

// requestLogOf is the request log of n requests, the previous config's
// when it has that size.
func requestLogOf(n int) *RequestLog {
	if prev := lastRequestLog.Load(); prev != nil && len(prev.slots) == n {
		return prev
	}
	l := newRequestLog(n)
	lastRequestLog.Store(l)
	return l
}

// record logs the request the handler h answered, begun at start, with
// its body (as far as it was read). The handler's answer was noted with
// noteOutcome; a request without one was triggered (the action's id is
// a placeholder) or passed on to the next handler.
func (l *RequestLog) record(h *Handler, r *http.Request, start time.Time, body []byte) {
	if l == nil {
		return
	}
	end := time.Now()
	o, noted := caddyhttp.GetVar(r.Context(), outcomeVar).(Outcome)
	if !noted {
		o = Outcome{Result: "passed"}
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			actionID, _ := repl.GetString("hookgate.action_id")
			eventID, _ := repl.GetString("hookgate.event_id")
			switch {
			case actionID != "":
				o = Outcome{Result: "queued", Status: http.StatusAccepted, ActionID: actionID, EventID: eventID}
			case eventID != "":
				o = Outcome{Result: "accepted", Status: http.StatusAccepted, EventID: eventID}
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.slots[l.next%uint64(len(l.slots))]
	l.next++
	s.seq, s.at, s.duration = l.next, start, end.Sub(start)
	s.hook, s.method, s.path, s.remoteIP = h.Name, r.Method, r.URL.Path, remoteIP(r)
	s.outcome, s.header, s.handler = o, r.Header, h
	s.bodySize = int64(len(body))
	s.body = append(s.body[:0], body[:min(len(body), maxLoggedBody)]...)
}

// LoggedRequest is one request of the request log, as the API shows it.
type LoggedRequest struct {
	// ID numbers the request on this instance, rising.
	ID uint64 `json:"id"`
	// Time is when it arrived.
	Time time.Time `json:"time"`
	// DurationMs is how long the gateway took to answer it (for a request
	// passed on, with the handlers after it).
	DurationMs float64 `json:"durationMs"`
	// Hook names the hook.
	Hook string `json:"hook"`
	// Method and Path are the request's.
	Method string `json:"method"`
	Path   string `json:"path"`
	// RemoteIP is the client's address.
	RemoteIP string `json:"remoteIp"`
	// Result is the answer's code: signature_invalid, queued, passed, ...
	Result string `json:"result"`
	// Status is the HTTP status answered, null when the request was
	// passed on to the next handler.
	Status *int `json:"status"`
	// Detail says why.
	Detail string `json:"detail,omitempty"`
	// ActionID is the action the request led to.
	ActionID string `json:"actionId,omitempty"`
	// EventID is the hook.received event a relay hook led to.
	EventID string `json:"eventId,omitempty"`
	// Headers are the request's headers, first value each; secrets,
	// signatures, tokens and cookies are "[redacted]".
	Headers map[string]string `json:"headers"`
	// Body is the first 16 KiB of the body, as text.
	Body string `json:"body"`
	// BodySize is the body's whole size in bytes.
	BodySize int64 `json:"bodySize"`
	// BodyTruncated is set when Body is not the whole body.
	BodyTruncated bool `json:"bodyTruncated"`
}

// RequestFilter selects requests of the log.
type RequestFilter struct {
	// Hook keeps the requests of one hook.
	Hook string
	// Result keeps one result; "rejected" keeps every 4xx answer,
	// "accepted" every other one.
	Result string
	// Since keeps the requests that arrived at or after it.
	Since time.Time
}

// keep tells whether f selects s.
func (f RequestFilter) keep(s *loggedRequest) bool {
	switch {
	case f.Hook != "" && s.hook != f.Hook:
		return false
	case !f.Since.IsZero() && s.at.Before(f.Since):
		return false
	case f.Result == "rejected":
		return rejected(s.outcome.Status)
	case f.Result == "accepted":
		return !rejected(s.outcome.Status)
	case f.Result != "" && s.outcome.Result != f.Result:
		return false
	}
	return true
}

// Requests lists the requests f selects, newest first.
func (l *RequestLog) Requests(f RequestFilter) []LoggedRequest {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LoggedRequest
	for s := range l.newestFirst {
		if f.keep(s) {
			out = append(out, s.shown())
		}
	}
	return out
}

// newestFirst yields the requests in the ring, newest first, under the
// log's lock.
func (l *RequestLog) newestFirst(yield func(*loggedRequest) bool) {
	n := uint64(len(l.slots))
	for i := l.next; i > 0 && i+n > l.next; i-- {
		if !yield(&l.slots[(i-1)%n]) {
			return
		}
	}
}

// ResultCount is how many requests of one hook had one result in one
// interval.
type ResultCount struct {
	// Interval is the interval's index from the start of the window, as
	// in the store's buckets.
	Interval int64
	// Hook and Result are what is counted.
	Hook, Result string
	// N is how many.
	N int64
}

// Counts counts the requests since a time by interval, hook and result.
func (l *RequestLog) Counts(since time.Time, interval time.Duration) []ResultCount {
	if l == nil {
		return nil
	}
	type key struct {
		interval     int64
		hook, result string
	}
	counts := make(map[key]int64)
	var order []key
	l.mu.Lock()
	for s := range l.newestFirst {
		if s.at.Before(since) {
			break
		}
		k := key{int64(s.at.Sub(since) / interval), s.hook, s.outcome.Result}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	l.mu.Unlock()
	out := make([]ResultCount, len(order))
	for i, k := range order {
		out[i] = ResultCount{Interval: k.interval, Hook: k.hook, Result: k.result, N: counts[k]}
	}
	return out
}

// shown is the slot as the API shows it, headers redacted, under the
// log's lock.
func (s *loggedRequest) shown() LoggedRequest {
	out := LoggedRequest{
		ID: s.seq, Time: s.at.UTC(), DurationMs: float64(s.duration.Microseconds()) / 1000,
		Hook: s.hook, Method: s.method, Path: s.path, RemoteIP: s.remoteIP,
		Result: s.outcome.Result, Detail: s.outcome.Detail, ActionID: s.outcome.ActionID, EventID: s.outcome.EventID,
		Headers: make(map[string]string, len(s.header)), Body: string(s.body),
		BodySize: s.bodySize, BodyTruncated: int64(len(s.body)) < s.bodySize,
	}
	if s.outcome.Status != 0 {
		status := s.outcome.Status
		out.Status = &status
	}
	for name, values := range s.header {
		if len(values) == 0 {
			continue
		}
		if s.handler.secretHeader(name) {
			out.Headers[name] = "[redacted]"
		} else {
			out.Headers[name] = values[0]
		}
	}
	return out
}
