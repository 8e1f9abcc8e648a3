package caddymodule

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// BenchmarkHandlerGitHubPush is the handler's whole hot path for one
// hook: read the 8.8 KB GitHub push body, verify its signature, extract
// three variables with gjson, set the placeholders and pass on.
func BenchmarkHandlerGitHubPush(b *testing.B) {
	benchmarkGitHubPush(b, nil)
}

// BenchmarkHandlerRequestLog is BenchmarkHandlerGitHubPush without and
// with the request log (SPEC 8), in one run: what logging costs the
// pass-through path.
func BenchmarkHandlerRequestLog(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchmarkGitHubPush(b, &App{}) })
	b.Run("on", func(b *testing.B) { benchmarkGitHubPush(b, &App{requests: newRequestLog(defaultRequestLog)}) })
}

// benchmarkGitHubPush runs the hot path with the handler's app set to
// app (nil: a hook without the hookgate app).
func benchmarkGitHubPush(b *testing.B, app *App) {
	push := readPayload(b, "github-push.json")
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
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

	sig := githubSignature(githubSecret, push)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	b.ReportAllocs()
	b.SetBytes(int64(len(push)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/hooks/github", bytes.NewReader(push))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sig)
		repl := caddy.NewReplacer()
		req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
		w := httptest.NewRecorder()
		if err := h.ServeHTTP(w, req, next); err != nil || w.Code != http.StatusOK {
			b.Fatalf("answered %d: %v %s", w.Code, err, w.Body)
		}
	}
}
