package caddymodule

import (
	"context"
	"net/http"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/store"
)

// What the management API (package api) reads of the hookgate app.

// RetryAfterQueueFull is the Retry-After, in seconds, of a 429 queue_full.
const RetryAfterQueueFull = retryAfterQueueFull

// RunningEngine is the app's engine once it runs; it waits a moment for
// an app that is starting, and is nil when none runs.
func (a *App) RunningEngine(ctx context.Context) *engine.Engine { return a.runningEngine(ctx) }

// HasPipeline tells whether the config defines the pipeline.
func (a *App) HasPipeline(name string) bool { return a.plans[name] }

// CheckStoredHook compiles an API-created hook as `hookgate dynamic` will
// serve it; an error is an *engine.InvalidError naming the API field.
func CheckStoredHook(rec *store.HookRecord) error {
	_, err := compileStoredHook(rec, nil, nil)
	return err
}

// RemoteIP is the client's address as Caddy resolved it (trusted proxies
// honoured), without the port.
func RemoteIP(r *http.Request) string { return remoteIP(r) }
