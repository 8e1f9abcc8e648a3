package api

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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/pipeline/action"
)

// The API's tests run a real Caddy of their own, beside the one of the
// caddymodule tests (go test runs packages at once), so they use other
// fixed ports: admin localhost:2998, HTTP 9180, HTTPS 9543. Run them under
// the port lock like the caddymodule tests.
const adminPort = 2998

// sharedTestdata is ../shared/testdata beside the repository.
var sharedTestdata = filepath.Join("..", "..", "..", "shared", "testdata")

// TestMain keeps Caddy's data and config out of the home directory, and
// points caddytest at this package's admin port.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookgate-api-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	caddytest.Default.AdminPort = adminPort
	code := m.Run()
	closeBrowser()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stopAtEnd unloads the config when the test ends, before its temporary
// directory goes, so that the engine stops while its database is there.
func stopAtEnd(t *testing.T) {
	t.Cleanup(func() {
		if err := caddy.Load([]byte(fmt.Sprintf(`{"admin":{"listen":"localhost:%d"}}`, adminPort)), true); err != nil {
			t.Errorf("unloading the config: %v", err)
		}
	})
}

// githubSecret is the secret of the Caddyfile's GitHub hook.
const githubSecret = "It's a Secret to Everybody"

// readPayload reads a provider payload from the shared testdata.
func readPayload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedTestdata, "payloads", name))
	if err != nil {
		t.Fatalf("shared testdata: %v", err)
	}
	return b
}

// githubSignature computes X-Hub-Signature-256 independently of the
// signature package.
func githubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a body with headers and returns status, headers and body.
func post(t *testing.T, tester *caddytest.Tester, method, url string, body []byte, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := tester.Client.Do(req)
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
		// Right after a config load, the previous config's server may
		// still accept a connection before it shuts down, then close it
		// (caddyhttp's Stop does not wait for Shutdown to begin): that
		// request was never handled, so it is sent again, once.
		req.Body, _ = req.GetBody()
		resp, err = tester.Client.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// assertJSON compares two JSON documents by value.
func assertJSON(t *testing.T, got, want string) {
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

// waitForAction polls the API until the action has finished, or fails.
func waitForAction(t *testing.T, tester *caddytest.Tester, id string) *action.Action {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var a action.Action
		status, answer := api(t, tester, "GET", "/actions/"+id, "", &a)
		if status == 200 && a.Status.Finished() {
			return &a
		}
		if time.Now().After(deadline) {
			t.Fatalf("action %s has not finished: %d %s", id, status, answer)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receiverSecret signs the deliveries to the test receiver: whsec_ and the
// base64 of the key.
const receiverSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// delivery is one request the receiver got.
type delivery struct {
	uri    string
	header http.Header
	body   []byte
}

// receiver is a real HTTP endpoint on 127.0.0.1 that outgoing webhooks
// deliver to; it answers status (200 unless set otherwise).
type receiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []delivery
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(200)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{uri: req.URL.RequestURI(), header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the deliveries to paths starting with prefix once there
// are at least n, or fails.
func (r *receiver) wait(t *testing.T, prefix string, n int) []delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		var out []delivery
		for _, d := range r.got {
			if strings.HasPrefix(d.uri, prefix) {
				out = append(out, d)
			}
		}
		r.mu.Unlock()
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d deliveries, want %d", prefix, len(out), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSignature verifies a Standard Webhooks signature by hand, apart
// from the signing code.
func checkSignature(t *testing.T, d delivery, secret string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	id, ts := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, d.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || ts == "" || !strings.Contains(" "+d.header.Get("webhook-signature")+" ", " "+want+" ") {
		t.Errorf("delivery %s: webhook-signature %q, want %q (id %q, timestamp %q)", d.uri, d.header.Get("webhook-signature"), want, id, ts)
	}
}
