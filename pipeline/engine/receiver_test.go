package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// received is one request a receiver got.
type received struct {
	// ID is the webhook-id header.
	ID string
	// URL is the request's path and query.
	URL string
	// Header holds the request's headers.
	Header http.Header
	// Body is its body.
	Body []byte
	// Envelope is the body decoded, when it is an envelope.
	Envelope struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Sequence int    `json:"sequence"`
		Data     struct {
			Action struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"action"`
		} `json:"data"`
	}
	// SignatureOK is set when a v1 signature matched one of the
	// receiver's secrets, recomputed here by hand.
	SignatureOK bool
	// Answered is the status the receiver answered with.
	Answered int
}

// receiver is a webhook endpoint on 127.0.0.1 that records what it gets
// and answers as its answer function says (200 when nil).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	secrets []string
	answer  func(w http.ResponseWriter, r *http.Request) int
}

// newReceiver starts a receiver, closed when the test ends.
func newReceiver(t testing.TB, secrets ...string) *receiver {
	rc := &receiver{secrets: secrets}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := received{ID: r.Header.Get("webhook-id"), URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
	json.Unmarshal(body, &got.Envelope)
	rc.mu.Lock()
	got.SignatureOK = rc.verify(got)
	answer := rc.answer
	rc.mu.Unlock()
	got.Answered = http.StatusOK
	if answer != nil {
		got.Answered = answer(w, r)
	}
	if got.Answered == 0 {
		return // the answer function hijacked the connection
	}
	rc.mu.Lock()
	rc.got = append(rc.got, got)
	rc.mu.Unlock()
	if answer == nil {
		w.WriteHeader(http.StatusOK)
	}
}

// verify recomputes the Standard Webhooks signature by hand: base64
// HMAC-SHA256 over "id.timestamp.body" with each whsec_ secret.
func (rc *receiver) verify(r received) bool {
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	sigs := strings.Fields(r.Header.Get("webhook-signature"))
	for _, secret := range rc.secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(r.Body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, s := range sigs {
			if hmac.Equal([]byte(s), []byte(want)) {
				return true
			}
		}
	}
	return false
}

// setAnswer changes how the receiver answers.
func (rc *receiver) setAnswer(fn func(w http.ResponseWriter, r *http.Request) int) {
	rc.mu.Lock()
	rc.answer = fn
	rc.mu.Unlock()
}

// setSecrets changes the secrets the receiver checks signatures with.
func (rc *receiver) setSecrets(secrets ...string) {
	rc.mu.Lock()
	rc.secrets = secrets
	rc.mu.Unlock()
}

// accepted are the requests answered 2xx so far.
func (rc *receiver) accepted() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var list []received
	for _, r := range rc.got {
		if r.Answered/100 == 2 {
			list = append(list, r)
		}
	}
	return list
}

// all are every request recorded so far.
func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitAccepted waits until the receiver accepted n requests and returns them.
func (rc *receiver) waitAccepted(t testing.TB, n int) []received {
	t.Helper()
	waitFor(t, "deliveries to arrive", func() bool { return len(rc.accepted()) >= n })
	return rc.accepted()
}

// answerStatus answers every request with a status.
func answerStatus(code int) func(w http.ResponseWriter, r *http.Request) int {
	return func(w http.ResponseWriter, r *http.Request) int {
		w.WriteHeader(code)
		return code
	}
}

// loopback allows deliveries to the test receivers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// testSecret is a whsec_ secret for the tests.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fastPolicy retries quickly, so that tests see a webhook fail in well
// under a second.
var fastPolicy = webhook.Policy{
	Schedule:  []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond},
	FailAfter: 5,
	Timeout:   500 * time.Millisecond,
}

// configureWebhooks configures webhooks, allowing 127.0.0.0/8, with the
// fast policy unless cfg has one, and returns the generated secrets.
func configureWebhooks(t testing.TB, e *Engine, cfg WebhookConfig) map[string]string {
	t.Helper()
	if cfg.AllowTargets == nil {
		cfg.AllowTargets = loopback
	}
	if cfg.Policy.Schedule == nil {
		cfg.Policy = fastPolicy
	}
	generated, err := e.ConfigureWebhooks(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return generated
}

// webhookState is the stored state of a webhook.
func webhookState(t testing.TB, e *Engine, name string) *WebhookInfo {
	t.Helper()
	info, err := e.Webhook(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
