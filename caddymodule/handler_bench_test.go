package caddymodule

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"go.uber.org/zap"
)

// The handler benchmarks share one harness: the same request, replacer and
// recorder for every iteration of each, so that what differs between
// BenchmarkHandlerGitHubPush and BenchmarkHMACFloor is the handler's own
// cost beyond reading and hashing the body. Compare them in one run:
//
//	go test -run=NONE -bench='HandlerGitHubPush|HMACFloor' -benchmem ./caddymodule/

// middleware is a function as a caddyhttp.MiddlewareHandler.
type middleware func(http.ResponseWriter, *http.Request, caddyhttp.Handler) error

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (m middleware) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return m(w, r, next)
}

// deadlineRecorder is a recorder that takes read deadlines, as Caddy's
// response writers do: without it, the handler's SetReadDeadline would
// build a "not supported" error on every hook, which no real server pays.
type deadlineRecorder struct{ *httptest.ResponseRecorder }

// SetReadDeadline implements what http.ResponseController looks for.
func (deadlineRecorder) SetReadDeadline(time.Time) error { return nil }

// benchHandler runs h on the signed 8.8 KB GitHub push, b.N times.
func benchHandler(b *testing.B, h caddyhttp.MiddlewareHandler) {
	push := hooktest.Payload(b, "github-push.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(push)))
	sig := hooktest.GitHubSignature(githubSecret, push)
	for b.Loop() {
		servePush(b, h, push, sig)
	}
}

// servePush has h serve the push signed with sig, with a replacer as
// Caddy gives it and a next handler that answers 200.
func servePush(b *testing.B, h caddyhttp.MiddlewareHandler, push []byte, sig string) {
	req := httptest.NewRequest(http.MethodPost, "http://localhost/hooks/github", bytes.NewReader(push))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sig)
	repl := caddy.NewReplacer()
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
	w := deadlineRecorder{httptest.NewRecorder()}
	if err := h.ServeHTTP(w, req, answerOK); err != nil || w.Code != http.StatusOK {
		b.Fatalf("answered %d: %v %s", w.Code, err, w.Body)
	}
}

// answerOK is the handler after the hook in the benchmarks.
var answerOK = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusOK)
	return nil
})

// BenchmarkHandlerBeyondHMAC is the figure of the handler's own cost: it
// serves the push through BenchmarkHandlerGitHubPush's handler and through
// BenchmarkHMACFloor's in turn, timing each, and reports the handler's
// ns/op beyond the floor's, so that drift of a shared machine falls on
// both alike:
//
//	go test -run=NONE -bench=BeyondHMAC -benchtime=200000x ./caddymodule/
func BenchmarkHandlerBeyondHMAC(b *testing.B) {
	push := hooktest.Payload(b, "github-push.json")
	sig := hooktest.GitHubSignature(githubSecret, push)
	handler, floor := pushHandler(b, nil), hmacFloor()
	var inHandler, inFloor time.Duration
	for b.Loop() {
		start := time.Now()
		servePush(b, handler, push, sig)
		mid := time.Now()
		servePush(b, floor, push, sig)
		inHandler, inFloor = inHandler+mid.Sub(start), inFloor+time.Since(mid)
	}
	n := float64(b.N)
	b.ReportMetric(float64(inHandler.Nanoseconds())/n, "handler-ns/op")
	b.ReportMetric(float64(inFloor.Nanoseconds())/n, "floor-ns/op")
	b.ReportMetric(float64((inHandler-inFloor).Nanoseconds())/n, "beyond-hmac-ns/op")
	// The same, as a share of the floor's time.
	b.ReportMetric(float64(inHandler-inFloor)/float64(inFloor), "beyond/floor")
}

// BenchmarkHandlerGitHubPush is the handler's whole hot path for one
// hook: read the 8.8 KB GitHub push body, verify its signature, check
// and extract three variables with gjson, set the placeholders and pass on.
func BenchmarkHandlerGitHubPush(b *testing.B) {
	benchHandler(b, pushHandler(b, nil))
}

// BenchmarkHandlerRequestLog is BenchmarkHandlerGitHubPush without and
// with the request log (SPEC 8), in one run: what logging costs the
// pass-through path.
func BenchmarkHandlerRequestLog(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchHandler(b, pushHandler(b, &App{})) })
	b.Run("on", func(b *testing.B) {
		benchHandler(b, pushHandler(b, &App{requests: newRequestLog(defaultRequestLog)}))
	})
}

// pushHandler is the GitHub push hook of the benchmarks, with three
// variables, its app set to app (nil: a hook without the hookgate app).
func pushHandler(b *testing.B, app *App) *Handler {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	h := &Handler{
		Name:      "bench",
		Signature: &Signature{Preset: "github"},
		Secrets:   []string{githubSecret},
		Vars: []Var{
			{Name: "ref", Path: "ref", Required: true},
			{Name: "commit_hash", Path: "head_commit.id"},
			{Name: "repo", Path: "repository.full_name"},
		},
	}
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	h.logger = zap.NewNop() // measure the handler, not the test's debug log
	h.app = app
	return h
}

// BenchmarkHandlerGitHubPushCondition adds a condition on a header and a
// variable to BenchmarkHandlerGitHubPush.
func BenchmarkHandlerGitHubPushCondition(b *testing.B) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h := &Handler{
		Name:      "bench",
		Signature: &Signature{Preset: "github"},
		Secrets:   []string{githubSecret},
		Vars: []Var{
			{Name: "ref", Path: "ref", Required: true},
			{Name: "commit_hash", Path: "head_commit.id"},
			{Name: "event", Path: "header:Content-Type"},
		},
		When: `ref startsWith "refs/heads/" && event == "application/json"`,
	}
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	h.logger = zap.NewNop()
	benchHandler(b, h)
}

// BenchmarkHMACFloor is the floor under the handler: read the body into a
// reused buffer and check its HMAC-SHA-256 with a reused HMAC state, in
// the same harness, and nothing else.
func BenchmarkHMACFloor(b *testing.B) {
	benchHandler(b, hmacFloor())
}

// hmacFloor is the middleware of BenchmarkHMACFloor.
func hmacFloor() middleware {
	var buf bytes.Buffer
	mac := hmac.New(sha256.New, []byte(githubSecret))
	return middleware(func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
		buf.Reset()
		if _, err := buf.ReadFrom(r.Body); err != nil {
			return err
		}
		mac.Reset()
		mac.Write(buf.Bytes())
		var sig [sha256.Size]byte
		hex.Decode(sig[:], []byte(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")))
		if !hmac.Equal(mac.Sum(nil), sig[:]) {
			w.WriteHeader(http.StatusUnauthorized)
			return nil
		}
		return next.ServeHTTP(w, r)
	})
}
