package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The request log keeps the latest n requests, newest first, with the
// handler's answer, redacted headers and the first 16 KiB of the body.
func TestRequestLog(t *testing.T) {
	l := newRequestLog(3)
	h := &Handler{Name: "gh"}
	for i, result := range []string{"a", "b", "signature_invalid", "queued"} {
		r := httptest.NewRequest(http.MethodPost, "/hooks/gh", nil)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
		r.Header.Set("X-Hub-Signature-256", "sha256=secret")
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("X-GitHub-Event", "push")
		status := 200
		if result == "signature_invalid" {
			status = 401
		}
		noteOutcome(r, Outcome{Result: result, Status: status, ActionID: map[bool]string{true: "act_1"}[result == "queued"]})
		body := []byte(strings.Repeat("x", i*10<<10))
		l.record(h, r, time.Now(), body)
	}
	all := l.Requests(RequestFilter{})
	if len(all) != 3 || all[0].Result != "queued" || all[2].Result != "b" || all[0].ActionID != "act_1" {
		t.Fatalf("log %+v", all)
	}
	if got := all[0]; got.BodySize != 30<<10 || len(got.Body) != maxLoggedBody || !got.BodyTruncated {
		t.Errorf("body kept %d of %d, truncated %v", len(got.Body), got.BodySize, got.BodyTruncated)
	}
	for _, name := range []string{"X-Hub-Signature-256", "Authorization"} {
		if v := all[0].Headers[name]; v != "[redacted]" {
			t.Errorf("%s shown as %q", name, v)
		}
	}
	if v := all[0].Headers["X-Github-Event"]; v != "push" {
		t.Errorf("X-GitHub-Event %q", v)
	}
	if rej := l.Requests(RequestFilter{Result: "rejected"}); len(rej) != 1 || *rej[0].Status != 401 {
		t.Errorf("rejected: %+v", rej)
	}
	if c := l.Counts(time.Now().Add(-time.Minute), time.Minute); len(c) != 3 {
		t.Errorf("counts %+v", c)
	}
	if newRequestLog(0).Requests(RequestFilter{}) != nil {
		t.Error("a log of 0 keeps requests")
	}
}
