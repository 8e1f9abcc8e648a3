// Package hooktest holds what the tests of caddymodule and of its API
// package share: a receiver for outgoing webhooks, a client call and
// config loads that survive a config switch, the shared provider
// payloads, and signatures computed apart from the code under test. It is
// imported by tests only.
package hooktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ReceiverSecret signs the deliveries to a test receiver: whsec_ and the
// base64 of the key.
const ReceiverSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Delivery is one request a Receiver got.
type Delivery struct {
	// URI is the request's path and query.
	URI string
	// Header is the request's header.
	Header http.Header
	// Body is the request's body.
	Body []byte
	// Answered is the status the receiver answered.
	Answered int
}

// Receiver is a real HTTP endpoint on 127.0.0.1 that outgoing webhooks
// deliver to; it answers Status (200 unless set otherwise).
type Receiver struct {
	*httptest.Server
	// Status is the status of the receiver's answers.
	Status atomic.Int32
	mu     sync.Mutex
	got    []Delivery
}

// NewReceiver starts a Receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{}
	r.Status.Store(http.StatusOK)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		status := int(r.Status.Load())
		r.mu.Lock()
		r.got = append(r.got, Delivery{URI: req.URL.RequestURI(), Header: req.Header.Clone(), Body: body, Answered: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// Wait returns the deliveries to paths starting with prefix once there
// are at least n, or fails the test after 30 s.
func (r *Receiver) Wait(t testing.TB, prefix string, n int) []Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := r.Got(prefix)
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d deliveries, want %d", prefix, len(out), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Got is the deliveries so far to paths starting with prefix.
func (r *Receiver) Got(prefix string) []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Delivery
	for _, d := range r.got {
		if strings.HasPrefix(d.URI, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// CheckSignature verifies a delivery's Standard Webhooks signature by
// hand, apart from the signing code.
func CheckSignature(t testing.TB, d Delivery, secret string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	id, ts := d.Header.Get("webhook-id"), d.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, d.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || ts == "" || !strings.Contains(" "+d.Header.Get("webhook-signature")+" ", " "+want+" ") {
		t.Errorf("delivery %s: webhook-signature %q, want %q (id %q, timestamp %q)", d.URI, d.Header.Get("webhook-signature"), want, id, ts)
	}
}

// FreshAdminConnections makes every request of the process's default
// HTTP transport open a connection of its own. caddytest loads each
// config with a POST to Caddy's admin endpoint through that transport,
// and every load replaces the admin server: a POST sent on a connection
// the old server closed while it sat idle fails with EOF, and Go retries
// only idempotent requests. Call it from TestMain.
func FreshAdminConnections() {
	http.DefaultTransport.(*http.Transport).DisableKeepAlives = true
}

// Post sends a body with headers and returns the answer's status,
// headers and body.
func Post(t testing.TB, client *http.Client, method, url string, body []byte, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
		// Right after a config load, the previous config's server may
		// still accept a connection before it shuts down, then close it
		// (caddyhttp's Stop does not wait for Shutdown to begin): that
		// request was never handled, so it is sent again, once.
		req.Body, _ = req.GetBody()
		resp, err = client.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// SharedTestdata is ../shared/testdata beside the repository.
var SharedTestdata = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "testdata")
}()

// Payload reads a provider payload from the shared testdata.
func Payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(SharedTestdata, "payloads", name))
	if err != nil {
		t.Fatalf("shared testdata: %v", err)
	}
	return b
}

// GitHubSignature computes X-Hub-Signature-256 apart from the signature
// package.
func GitHubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// AssertJSON compares two JSON documents by value.
func AssertJSON(t testing.TB, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("answer is not JSON: %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q", want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("answer %s, want %s", gb, wb)
	}
}
