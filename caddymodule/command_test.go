package caddymodule

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs `caddy hookgate <args>` with stdin and returns its output.
func runCLI(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := signCommand()
	if args[0] == "verify" {
		cmd = verifyCommand()
	}
	var out bytes.Buffer
	cmd.SetIn(bytes.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args[1:])
	err := cmd.Execute()
	return out.String(), err
}

func TestSignCommand(t *testing.T) {
	body := []byte("Hello, World!")
	out, err := runCLI(t, body, "sign", "--preset", "github", "--secret", githubSecret, "--delivery-id", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	if err != nil {
		t.Fatal(err)
	}
	// The GitHub docs' own test vector, and the delivery id asked for.
	want := "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\n" +
		"X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	out, err = runCLI(t, body, "sign", "--preset", "github", "--secret", githubSecret)
	if err != nil || !regexp.MustCompile(`^X-GitHub-Delivery: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n`).MatchString(out) {
		t.Errorf("a random delivery id: %q %v", out, err)
	}
	out, err = runCLI(t, body, "sign", "--preset", "standard-webhooks", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil || strings.Count(strings.ToLower(out), "webhook-id:") != 1 {
		t.Errorf("standard-webhooks signs its own id, once: %q %v", out, err)
	}
	if _, err := runCLI(t, body, "sign", "--preset", "discord", "--secret", "00"); err == nil {
		t.Error("signing an asymmetric scheme should fail with a reason")
	}
}

func TestVerifyCommand(t *testing.T) {
	body := "Hello, World!"
	capture := "POST /hooks/github HTTP/1.1\r\nHost: hooks.example.com\r\nContent-Length: 13\r\n" +
		"X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\r\n\r\n" + body
	out, err := runCLI(t, []byte(capture), "verify", "--preset", "github", "--secret", githubSecret)
	if err != nil || !strings.HasPrefix(out, "valid") {
		t.Errorf("valid capture: %q %v", out, err)
	}
	_, err = runCLI(t, []byte(capture), "verify", "--preset", "github", "--secret", "wrong")
	if err == nil || !strings.Contains(err.Error(), "signature_invalid") {
		t.Errorf("wrong secret: %v", err)
	}
}
