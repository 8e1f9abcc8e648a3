package caddymodule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestExampleAsUserTriesIt serves Caddyfile.example as `make run` does
// (only the admin address moved to caddytest's) and follows the README:
// a signed push reaches the app with its variables, a wrong secret is 401
// and never reaches it, another event is skipped.
func TestExampleAsUserTriesIt(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	config := strings.Replace(string(raw), "admin localhost:2019", "admin localhost:2999\n\tskip_install_trust\n\tgrace_period 1ns", 1)
	if config == string(raw) {
		t.Fatal("Caddyfile.example no longer sets admin localhost:2019")
	}
	tester := caddytest.NewTester(t)
	tester.InitServer(config, "caddyfile")
	push := readPayload(t, "github-push.json")
	url := "http://127.0.0.1:8080/hooks/github"

	status, _, body := post(t, tester, "POST", url, push, signedGitHub("dev-github-secret", push, "push"))
	if status != 200 || !strings.Contains(body, "hook: github-push") || !strings.Contains(body, "ref: refs/heads/master") ||
		!strings.Contains(body, "commit: 6113728f27ae82c7b1a177c8d03f9e96e0adf246") {
		t.Errorf("signed push: %d %q", status, body)
	}
	status, _, body = post(t, tester, "POST", url, push, signedGitHub("wrong", push, "push"))
	if status != 401 || strings.Contains(body, "app received") {
		t.Errorf("wrong secret: %d %q", status, body)
	}
	assertJSON(t, body, `{"error":"signature_invalid"}`)
	status, _, body = post(t, tester, "POST", url, push, signedGitHub("dev-github-secret", push, "issues"))
	if status != 200 {
		t.Errorf("issues event: %d %q", status, body)
	}
	assertJSON(t, body, `{"status":"skipped","reason":"condition"}`)

	reading := []byte(`{"device":{"id":"boiler-1"},"reading":{"celsius":31.5}}`)
	custom := map[string]string{"Content-Type": "application/json", "X-Signature": githubSignature("dev-custom-secret", reading)}
	status, _, body = post(t, tester, "POST", "http://127.0.0.1:8080/hooks/custom", reading, custom)
	if status != 200 || !strings.Contains(body, "device: boiler-1") {
		t.Errorf("custom hmac: %d %q", status, body)
	}
	status, _, body = post(t, tester, "GET", "http://127.0.0.1:8080/elsewhere", nil, nil)
	if status != 200 || !strings.Contains(body, "app received GET /elsewhere") {
		t.Errorf("pass-through: %d %q", status, body)
	}
}
