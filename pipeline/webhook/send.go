package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxResponse is how much of an answer's body an attempt keeps.
const MaxResponse = 16 << 10

// drainLimit is how much more of an answer is read, and dropped, so that
// its connection can be reused.
const drainLimit = 64 << 10

// Request is one delivery, ready to send.
type Request struct {
	// URL is the URL, placeholders expanded.
	URL string
	// Header holds the webhook's headers, placeholders expanded, and the
	// signature headers.
	Header http.Header
	// Body is the body, as rendered when the event happened.
	Body []byte
}

// Request makes the request delivering body, the rendered event id, at
// time now: placeholders of the URL and headers are expanded with values
// (Event.Values), URL-escaped in the URL and stripped of line breaks in
// headers, and the request is signed with every secret. extra are the
// delivery's own headers (Headers): the webhook's headers and the
// signature headers win over them.
func (w *Webhook) Request(id string, body []byte, values, extra map[string]string, now time.Time) (*Request, error) {
	u := Expand(w.URL, w.names, values, escapeURL)
	if _, err := url.Parse(u); err != nil {
		return nil, fmt.Errorf("url: %v", err)
	}
	h := make(http.Header, len(w.Headers)+5)
	h.Set("User-Agent", "hookgate")
	switch {
	case extra["Content-Type"] != "":
		// A raw payload's own, set below: no need to look at the body.
	case json.Valid(body):
		h.Set("Content-Type", "application/json")
	default:
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	for name, value := range extra {
		h.Set(name, value)
	}
	for name, value := range w.Headers {
		h.Set(name, Expand(value, w.names, values, escapeHeader))
	}
	if err := w.signer.Sign(h, id, now, body); err != nil {
		return nil, err
	}
	return &Request{URL: u, Header: h, Body: body}, nil
}

// Result is what one attempt got.
type Result struct {
	// StatusCode is the answer's status; 0 without an answer.
	StatusCode int
	// Duration is how long the attempt took.
	Duration time.Duration
	// Error says why the attempt failed; empty when it succeeded.
	Error string
	// Response is the first 16 KiB of the answer's body.
	Response []byte
	// RetryAfter is the answer's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Refused is set when the guard refused the target address.
	Refused bool
}

// OK reports whether the attempt succeeded: a 2xx answer.
func (r Result) OK() bool { return r.Error == "" }

// Client sends deliveries: no proxy, no redirect followed, each attempt
// bounded by a timeout, every dialed address checked by a Guard.
type Client struct {
	http    *http.Client
	timeout time.Duration
}

// NewClient is a client whose connections guard checks, with a timeout
// per attempt, for up to parallel attempts at once: it keeps as many
// connections open to a receiver, so that a backlog drained to one
// receiver reuses its connections rather than dialing anew for most
// attempts (and filling the machine's ports with closed ones).
func NewClient(guard Guard, timeout time.Duration, parallel int) *Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: guard.control}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          parallel,
		MaxIdleConnsPerHost:   parallel,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{timeout: timeout, http: &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// CloseIdle closes the client's idle connections.
func (c *Client) CloseIdle() { c.http.CloseIdleConnections() }

// Send makes one attempt: POST r and read the first 16 KiB of the answer.
// Only a 2xx answer succeeds; a redirect is not followed and fails.
func (c *Client) Send(ctx context.Context, r *Request) Result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Result{Error: err.Error(), Duration: time.Since(start)}
	}
	req.Header = r.Header.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		res := Result{Duration: time.Since(start), Error: c.describe(err)}
		var refused *RefusedError
		res.Refused = errors.As(err, &refused)
		return res
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	io.CopyN(io.Discard, resp.Body, drainLimit)
	res := Result{StatusCode: resp.StatusCode, Response: body, Duration: time.Since(start)}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Error = fmt.Sprintf("answered %s: redirect to %q not followed", resp.Status, resp.Header.Get("Location"))
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		res.Error = "answered " + resp.Status
	case err != nil:
		res.Error = "reading the answer: " + c.describe(err)
	}
	if res.Error != "" {
		res.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return res
}

// describe is an attempt's error without Go's "Post <url>:" wrapping.
func (c *Client) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("timeout: no complete answer within %v", c.timeout)
		}
		err = ue.Err
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused.Error()
	}
	return err.Error()
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
