package signature

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testdata is the shared test data, beside the repository.
var testdata = filepath.Join("..", "..", "..", "shared", "testdata")

// vectorCount is the number of cases of signature-vectors.json: fewer means
// the file is truncated.
const vectorCount = 152

// vector is one case of signature-vectors.json.
type vector struct {
	Provider     string            `json:"provider"`
	Description  string            `json:"description"`
	Secret       string            `json:"secret"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	TimestampNow *int64            `json:"timestamp_now"`
	Expect       string            `json:"expect"`
	Reason       string            `json:"reason"`
	URL          string            `json:"url"`
	Method       string            `json:"method"`
	Config       struct {
		SecretAlgorithm  string `json:"secret_algorithm"`
		SecretHeaderName string `json:"secret_header_name"`
	} `json:"config"`
	ExpectedResponse json.RawMessage `json:"expected_response"`
}

// loadVectors reads the cases of signature-vectors.json.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, "signature-vectors.json"))
	if err != nil {
		t.Fatalf("the shared test vectors are required: %v", err)
	}
	var file struct {
		Cases []vector `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) != vectorCount {
		t.Fatalf("signature-vectors.json has %d cases, want %d", len(file.Cases), vectorCount)
	}
	return file.Cases
}

// config is the receiver's configuration of a case.
func (c vector) config() Config {
	return Config{
		Preset:    c.Provider,
		Secrets:   []string{c.Secret},
		Algorithm: c.Config.SecretAlgorithm,
		Header:    c.Config.SecretHeaderName,
	}
}

// request is the incoming hook of a case; a body "@<path>" is that file.
func (c vector) request(t testing.TB) *Request {
	t.Helper()
	r := &Request{
		Method: c.Method,
		URL:    c.URL,
		Header: http.Header{},
		Body:   []byte(c.Body),
	}
	if r.Method == "" {
		r.Method = http.MethodPost
	}
	if r.URL == "" {
		r.URL = "https://gateway.example.com/hook"
	}
	for name, value := range c.Headers {
		r.Header.Add(name, value)
	}
	if path, ok := strings.CutPrefix(c.Body, "@"); ok {
		body, err := os.ReadFile(filepath.Join(testdata, filepath.FromSlash(path)))
		if err != nil {
			t.Fatal(err)
		}
		r.Body = body
	}
	return r
}

// now is the clock of a case.
func (c vector) now() time.Time {
	if c.TimestampNow == nil {
		return time.Now()
	}
	return time.Unix(*c.TimestampNow, 0)
}

func TestVectors(t *testing.T) {
	for i, c := range loadVectors(t) {
		t.Run(fmt.Sprintf("%03d_%s_%s", i, c.Provider, c.Description), func(t *testing.T) {
			v, err := New(c.config())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			r := c.request(t)
			err = v.Verify(r, c.now())
			switch c.Expect {
			case "valid":
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
			case "invalid":
				if want := sentinelOf(c.Reason); !errors.Is(err, want) {
					t.Fatalf("Verify = %v, want %v (reason %s)", err, want, c.Reason)
				}
			default:
				t.Fatalf("unknown expect %q", c.Expect)
			}
			if c.ExpectedResponse == nil {
				return
			}
			answer, ok := v.Handshake(r)
			if !ok {
				t.Fatal("Handshake = false, want an answer")
			}
			assertJSONEqual(t, answer, c.ExpectedResponse)
		})
	}
}

// sentinelOf is the error Verify returns for the reason of an invalid case.
func sentinelOf(reason string) error {
	switch reason {
	case "missing_header", "missing_token", "missing_signature":
		return ErrMissing
	case "stale_timestamp", "future_timestamp":
		return ErrStale
	}
	return ErrInvalid
}

// isSentinel reports whether err is one of the errors Verify may return.
func isSentinel(err error) bool {
	return errors.Is(err, ErrMissing) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrStale)
}

func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("answer = %s, want %s", got, want)
	}
}

func BenchmarkVerifyGitHubPush(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(testdata, "payloads", "github-push.json"))
	if err != nil {
		b.Fatalf("the shared test payloads are required: %v", err)
	}
	cfg := Config{Preset: "github", Secrets: []string{"s3cr3t-for-tests"}}
	r := &Request{Method: http.MethodPost, URL: "https://gateway.example.com/hook", Body: body}
	now := time.Now()
	if r.Header, err = Sign(cfg, r, now); err != nil {
		b.Fatal(err)
	}
	v, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(r, now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVectorsFailClosed checks that a case's valid request fails under
// another secret, so that the valid cases do not pass by accident.
func TestVectorsFailClosed(t *testing.T) {
	for i, c := range loadVectors(t) {
		if c.Expect != "valid" || c.Provider == "discord" || c.Provider == "sendgrid" {
			continue
		}
		cfg := c.config()
		cfg.Secrets = []string{"whsec_b3RoZXItc2VjcmV0LWZvci10ZXN0cw=="}
		v, err := New(cfg)
		if err != nil {
			t.Fatalf("%03d: New: %v", i, err)
		}
		r := c.request(t)
		if err := v.Verify(r, c.now()); !errors.Is(err, ErrInvalid) {
			t.Errorf("%03d %s %s: Verify under another secret = %v, want ErrInvalid", i, c.Provider, c.Description, err)
		}
		if strings.Contains(fmt.Sprint(err), c.Secret) {
			t.Errorf("%03d: error %q contains the secret", i, err)
		}
	}
}
