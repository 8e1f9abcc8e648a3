package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/signature"
)

// vector is a case of the shared signature-vectors.json.
type vector struct {
	Provider     string            `json:"provider"`
	Description  string            `json:"description"`
	Secret       string            `json:"secret"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	TimestampNow int64             `json:"timestamp_now"`
	Expect       string            `json:"expect"`
}

// signingVectors are the valid Standard Webhooks cases of the shared test
// vectors that carry a single signature: the signer must reproduce them.
func signingVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "signature-vectors.json"))
	if err != nil {
		t.Fatalf("the shared test vectors are required: %v", err)
	}
	var file struct {
		Cases []vector `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var out []vector
	for _, c := range file.Cases {
		if c.Provider == "standard-webhooks" && c.Expect == "valid" && !strings.Contains(c.Headers["webhook-signature"], " ") {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatal("no valid standard-webhooks vector")
	}
	return out
}

func TestSignerReproducesVectors(t *testing.T) {
	for _, c := range signingVectors(t) {
		t.Run(c.Description, func(t *testing.T) {
			s, err := newSigner([]string{c.Secret})
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := strconv.ParseInt(c.Headers["webhook-timestamp"], 10, 64)
			h := http.Header{}
			if err := s.Sign(h, c.Headers["webhook-id"], time.Unix(ts, 0), []byte(c.Body)); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
				if got, want := h.Get(name), c.Headers[name]; got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// handSignature is the Standard Webhooks signature computed by hand,
// independently of the code under test.
func handSignature(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Two active secrets give two space-separated signatures, each checked by
// hand and by the standard-webhooks verifier.
func TestSignRotation(t *testing.T) {
	old, next := GenerateSecret(), GenerateSecret()
	w, err := Compile(Definition{Name: "rot", URL: "https://example.com", Secrets: []string{old, next}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"x":1}`)
	r, err := w.Request("msg_abc", body, nil, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	want := handSignature(t, old, "msg_abc", ts, body) + " " + handSignature(t, next, "msg_abc", ts, body)
	if got := r.Header.Get(HeaderSignature); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	if r.Header.Get(HeaderID) != "msg_abc" || r.Header.Get(HeaderTimestamp) != ts || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.Header)
	}
	for _, secret := range []string{old, next} {
		v, err := signature.New(signature.Config{Preset: "standard-webhooks", Secrets: []string{secret}})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(&signature.Request{Method: "POST", URL: r.URL, Header: r.Header, Body: body}, now); err != nil {
			t.Errorf("verify with one of the secrets: %v", err)
		}
	}
}
