package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/tidwall/gjson"
)

// vectorCase is one case of signature-vectors.json.
type vectorCase struct {
	Provider         string            `json:"provider"`
	Description      string            `json:"description"`
	Secret           string            `json:"secret"`
	Headers          map[string]string `json:"headers"`
	Body             string            `json:"body"`
	TimestampNow     *int64            `json:"timestamp_now"`
	Expect           string            `json:"expect"`
	URL              string            `json:"url"`
	Method           string            `json:"method"`
	ExpectedResponse map[string]any    `json:"expected_response"`
	Config           *struct {
		SecretAlgorithm  string `json:"secret_algorithm"`
		SecretHeaderName string `json:"secret_header_name"`
	} `json:"config"`
}

// loadVectors reads every case of the shared signature vectors, with
// '@file' bodies read from their files.
func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(hooktest.SharedTestdata, "signature-vectors.json"))
	if err != nil {
		t.Fatalf("shared testdata: %v", err)
	}
	var file struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for i, c := range file.Cases {
		if name, ok := strings.CutPrefix(c.Body, "@"); ok {
			b, err := os.ReadFile(filepath.Join(hooktest.SharedTestdata, name))
			if err != nil {
				t.Fatal(err)
			}
			file.Cases[i].Body = string(b)
		}
	}
	return file.Cases
}

// TestSignatureVectorsThroughCaddy sends every case of the shared vectors
// as a real request through a real Caddy, each to a route configured (in
// JSON, the first-class config) with the case's preset and secret. Valid
// cases reach the next handler (or get their handshake answer); invalid
// ones are answered 401 and go no further.
func TestSignatureVectorsThroughCaddy(t *testing.T) {
	cases := loadVectors(t)
	if len(cases) != 152 {
		t.Fatalf("%d cases, want 152", len(cases))
	}
	routes := make([]any, 0, len(cases))
	for i, c := range cases {
		sig := map[string]any{"preset": c.Provider}
		if c.Config != nil {
			sig["header"] = c.Config.SecretHeaderName
			sig["algorithm"] = c.Config.SecretAlgorithm
		}
		h := map[string]any{"handler": "hookgate", "name": fmt.Sprintf("v%d", i), "signature": sig, "secrets": []string{c.Secret}}
		if c.Provider == "twilio" {
			h["public_url"] = c.URL
		}
		routes = append(routes, map[string]any{
			"match": []any{map[string]any{"path": []string{fmt.Sprintf("/v/%d", i)}}},
			"handle": []any{h, map[string]any{
				"handler": "static_response", "status_code": 200, "body": "passed",
			}},
		})
	}
	config := map[string]any{
		"admin": map[string]any{"listen": "localhost:2999"},
		"apps": map[string]any{
			"http": map[string]any{
				"http_port": 9080, "https_port": 9443, "grace_period": 1,
				"servers": map[string]any{"vectors": map[string]any{
					"listen": []string{":9080"}, "routes": routes, "automatic_https": map[string]any{"disable": true},
				}},
			},
			"pki": map[string]any{"certificate_authorities": map[string]any{"local": map[string]any{"install_trust": false}}},
		},
	}
	raw, _ := json.Marshal(config)
	tester := caddytest.NewTester(t)
	tester.InitServer(string(raw), "json")
	t.Cleanup(func() { now = time.Now })

	for i, c := range cases {
		t.Run(fmt.Sprintf("%03d-%s-%s", i, c.Provider, c.Description), func(t *testing.T) {
			now = time.Now
			if c.TimestampNow != nil {
				at := time.Unix(*c.TimestampNow, 0)
				now = func() time.Time { return at }
			}
			target := fmt.Sprintf("http://localhost:9080/v/%d", i)
			if u, err := url.Parse(c.URL); err == nil && c.URL != "" && c.Provider == "dockerhub" {
				target += "?" + u.RawQuery
			}
			method := c.Method
			if method == "" {
				method = "POST"
			}
			status, _, body := hooktest.Post(t, tester.Client, method, target, []byte(c.Body), c.Headers)
			switch {
			case c.Expect == "invalid":
				if status != 401 {
					t.Fatalf("invalid case answered %d %q, want 401", status, body)
				}
			case c.ExpectedResponse != nil:
				want, _ := json.Marshal(c.ExpectedResponse)
				if status != 200 {
					t.Fatalf("handshake answered %d %q", status, body)
				}
				hooktest.AssertJSON(t, body, string(want))
			case c.Provider == "slack" && gjson.Get(c.Body, "type").String() == "url_verification":
				if status != 200 {
					t.Fatalf("url_verification answered %d %q", status, body)
				}
				want, _ := json.Marshal(map[string]string{"challenge": gjson.Get(c.Body, "challenge").String()})
				hooktest.AssertJSON(t, body, string(want))
			case c.Provider == "discord" && gjson.Get(c.Body, "type").Int() == 1:
				if status != 200 {
					t.Fatalf("PING answered %d %q", status, body)
				}
				hooktest.AssertJSON(t, body, `{"type":1}`)
			default:
				if status != 200 || body != "passed" {
					t.Fatalf("valid case answered %d %q, want 200 passed", status, body)
				}
			}
		})
	}
}
