package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

var signNow = time.Unix(1767225600, 0)

// secretFor returns a distinct secret in the form a preset expects.
func secretFor(preset, name string) string {
	switch preset {
	case "standard-webhooks", "svix", "gitlab-signing-token":
		return "whsec_" + base64.StdEncoding.EncodeToString([]byte("key-"+name+"-for-round-trips"))
	}
	return "secret-" + name + "-for-round-trips"
}

// signable returns a request a preset can sign.
func signable(preset string) *Request {
	r := &Request{
		Method: http.MethodPost,
		URL:    "https://gateway.example.com/hooks/x?source=test",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"id":"evt_1","webhookTimestamp":1767225600000,"hello":"world"}`),
	}
	if preset == "twilio" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Body = []byte("From=%2B15550001111&To=%2B15552223333&Body=hi&Body=again&AccountSid=AC1")
	}
	return r
}

// withHeaders returns a copy of r with h added.
func withHeaders(r *Request, h http.Header) *Request {
	signed := *r
	signed.Header = r.Header.Clone()
	maps.Copy(signed.Header, h)
	return &signed
}

// unsignable are the presets Sign refuses, and why.
var unsignable = map[string]string{
	"discord":   "private key",
	"sendgrid":  "private key",
	"dockerhub": "?token=",
	"mailgun":   "inside the body",
}

// roundTripConfigs are the configurations Sign must round-trip: every preset
// that has a shared secret, and "hmac" in all its forms.
func roundTripConfigs() []Config {
	var configs []Config
	for _, p := range Presets() {
		if _, ok := unsignable[p]; !ok {
			configs = append(configs, Config{Preset: p})
		}
	}
	configs = append(configs, Config{Preset: "devopness", Header: "X-Devopness-Signature", Algorithm: "sha512"})
	for _, algorithm := range []string{"sha1", "sha256", "sha512"} {
		for _, encoding := range []string{"hex", "base64"} {
			for _, prefix := range []string{"", algorithm + "="} {
				configs = append(configs, Config{Preset: "hmac", Header: "X-Signature", Algorithm: algorithm, Encoding: encoding, Prefix: prefix})
			}
		}
	}
	return configs
}

func TestSignRoundTrip(t *testing.T) {
	for _, cfg := range roundTripConfigs() {
		name := strings.Join(slices.DeleteFunc([]string{cfg.Preset, cfg.Header, cfg.Algorithm, cfg.Encoding, cfg.Prefix}, func(s string) bool { return s == "" }), "_")
		t.Run(name, func(t *testing.T) {
			current, old, other := secretFor(cfg.Preset, "current"), secretFor(cfg.Preset, "old"), secretFor(cfg.Preset, "other")
			r := signable(cfg.Preset)

			signer := cfg
			signer.Secrets = []string{current}
			h, err := Sign(signer, r, signNow)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			signed := withHeaders(r, h)

			rotating := cfg
			rotating.Secrets = []string{old, current}
			v, err := New(rotating)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := v.Verify(signed, signNow.Add(time.Second)); err != nil {
				t.Fatalf("Verify with the second of two secrets = %v, want nil", err)
			}

			tampered := withHeaders(r, h)
			tampered.Body = append([]byte(nil), r.Body...)
			tampered.Body[len(tampered.Body)-2] ^= 1
			if cfg.Preset != "gitlab" { // a token does not sign the body
				if err := v.Verify(tampered, signNow); !errors.Is(err, ErrInvalid) {
					t.Errorf("Verify of a tampered body = %v, want ErrInvalid", err)
				}
			}

			wrong := cfg
			wrong.Secrets = []string{other}
			w, err := New(wrong)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = w.Verify(signed, signNow)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify under a wrong secret = %v, want ErrInvalid", err)
			}
			if err := v.Verify(signed, signNow); err != nil {
				t.Fatalf("a second verifier of the preset changed the first: Verify = %v", err)
			}
			// What the verifier computed is the signature under the wrong secret.
			expected, err := Sign(wrong, r, signNow)
			if err != nil {
				t.Fatal(err)
			}
			assertNoLeak(t, err, other, current, h, expected)
		})
	}
}

// assertNoLeak fails if err shows a secret or a long token of a signature header.
func assertNoLeak(t *testing.T, err error, secrets ...any) {
	t.Helper()
	msg := fmt.Sprint(err)
	for _, s := range secrets {
		var tokens []string
		switch s := s.(type) {
		case string:
			tokens = []string{s}
		case http.Header:
			for _, values := range s {
				for _, v := range values {
					tokens = append(tokens, strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(",;= ", r) })...)
				}
			}
		}
		for _, token := range tokens {
			if len(token) >= 16 && strings.Contains(msg, token) {
				t.Fatalf("error %q shows %q", msg, token)
			}
		}
	}
}

func TestSignRefuses(t *testing.T) {
	for preset, why := range unsignable {
		secret := secretFor(preset, "current")
		switch preset {
		case "discord":
			secret = strings.Repeat("ab", 32)
		case "sendgrid":
			secret = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
		}
		_, err := Sign(Config{Preset: preset, Secrets: []string{secret}}, signable(preset), signNow)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("Sign(%s) = %v, want an error saying %q", preset, err, why)
		}
	}
}

func TestTwilioJSONBody(t *testing.T) {
	cfg := Config{Preset: "twilio", Secrets: []string{"12345"}}
	body := []byte(`{"property": "value", "boolean": true}`)
	r := &Request{
		Method: http.MethodPost,
		URL:    "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   body,
	}
	h, err := Sign(cfg, r, signNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("X-Twilio-Signature"), "a9nBmqA0ju/hNViExpshrM61xv4="; got != want {
		t.Fatalf("Sign = %s, want %s (the twilio-go vector)", got, want)
	}
}

func TestTwilioPortForms(t *testing.T) {
	cfg := Config{Preset: "twilio", Secrets: []string{"12345"}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for signedURL, publicURL := range map[string]string{
		"https://mycompany.com:443/myapp.php?foo=1": "https://mycompany.com/myapp.php?foo=1",
		"https://mycompany.com/myapp.php?foo=1":     "https://mycompany.com:443/myapp.php?foo=1",
		"http://mycompany.com:80/myapp.php":         "http://mycompany.com/myapp.php",
	} {
		r := signable("twilio")
		r.URL = signedURL
		h, err := Sign(cfg, r, signNow)
		if err != nil {
			t.Fatal(err)
		}
		r = withHeaders(r, h)
		r.URL = publicURL
		if err := v.Verify(r, signNow); err != nil {
			t.Errorf("signed %s, verified at %s: %v", signedURL, publicURL, err)
		}
	}
}

func TestGiteaFormPayload(t *testing.T) {
	json := `{"ref":"refs/heads/main","after":"abc"}`
	for _, preset := range []string{"gitea", "forgejo"} {
		cfg := Config{Preset: preset, Secrets: []string{"s3cr3t"}}
		h, err := Sign(cfg, &Request{Header: http.Header{}, Body: []byte(json)}, signNow)
		if err != nil {
			t.Fatal(err)
		}
		r := &Request{
			Method: http.MethodPost,
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body:   []byte(url.Values{"payload": {json}}.Encode()),
		}
		maps.Copy(r.Header, h)
		v, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(r, signNow); err != nil {
			t.Errorf("%s form delivery signed over its JSON payload: %v", preset, err)
		}
	}
}

func TestMailgunForms(t *testing.T) {
	// The signature of the JSON vector: HMAC-SHA256 of timestamp+token.
	const (
		key   = "key-mailgun-signing-key-for-tests"
		ts    = "1767225600"
		token = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
		sig   = "9941c01181b932db56ed088ae320a0cba90e3495ab49b6de18201bbcdcdb70ad"
	)
	v, err := New(Config{Preset: "mailgun", Secrets: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	multipart := "--B\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"token\"\r\n\r\nnot the token\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"timestamp\"\r\n\r\n" + ts + "\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + token + "\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n" + sig + "\r\n--B--\r\n"
	for contentType, body := range map[string]string{
		"application/x-www-form-urlencoded": "event=delivered&timestamp=" + ts + "&token=" + token + "&signature=" + sig,
		"multipart/form-data; boundary=B":   multipart,
	} {
		r := &Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {contentType}}, Body: []byte(body)}
		if err := v.Verify(r, time.Unix(1767225600, 0)); err != nil {
			t.Errorf("%s: %v", contentType, err)
		}
		if got := v.DeliveryID(r); got != token {
			t.Errorf("%s: DeliveryID = %q, want the token", contentType, got)
		}
	}
}

func TestTolerance(t *testing.T) {
	r := signable("stripe")
	for _, tc := range []struct {
		preset    string
		tolerance time.Duration
		age       time.Duration
		want      error
	}{
		{"stripe", 0, 300 * time.Second, nil},
		{"stripe", 0, 301 * time.Second, ErrStale},
		{"stripe", 0, -time.Hour, nil}, // Stripe: only old timestamps are stale
		{"stripe", 10 * time.Second, 11 * time.Second, ErrStale},
		{"slack", 0, -301 * time.Second, ErrStale},
		{"standard-webhooks", time.Hour, 59 * time.Minute, nil},
		{"paddle", 0, 6 * time.Second, ErrStale},
		{"linear", 0, -61 * time.Second, ErrStale},
		{"standard-webhooks", 0, -time.Duration(1<<62) + 1, ErrStale},
	} {
		cfg := Config{Preset: tc.preset, Secrets: []string{secretFor(tc.preset, "current")}, Tolerance: tc.tolerance}
		signedAt := signNow.Add(-tc.age)
		h, err := Sign(cfg, r, signedAt)
		if err != nil {
			t.Fatal(err)
		}
		v, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(withHeaders(r, h), signNow); !errors.Is(err, tc.want) {
			t.Errorf("%s tolerance %v, signed %v before now: Verify = %v, want %v", tc.preset, tc.tolerance, tc.age, err, tc.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Preset: "gitbub", Secrets: []string{"s"}}, `unknown signature preset "gitbub"; valid: bitbucket-cloud,`},
		{Config{Preset: "github"}, "no secret"},
		{Config{Preset: "github", Secrets: []string{"s", ""}}, "secret 2 is empty"},
		{Config{Preset: "github", Secrets: []string{"s"}, Algorithm: "sha1"}, "only to hmac and devopness"},
		{Config{Preset: "devopness", Secrets: []string{"s"}, Prefix: "sha256="}, "only to hmac"},
		{Config{Preset: "stripe", Secrets: []string{"s"}, Tolerance: -time.Second}, "negative tolerance"},
		{Config{Preset: "hmac", Secrets: []string{"s"}, Algorithm: "sha256"}, "no header"},
		{Config{Preset: "hmac", Secrets: []string{"s"}, Header: "X-Sig", Algorithm: "md5"}, `unknown algorithm "md5"`},
		{Config{Preset: "hmac", Secrets: []string{"s"}, Header: "X-Sig", Encoding: "base32"}, `unknown encoding "base32"`},
		{Config{Preset: "devopness", Secrets: []string{"s"}, Algorithm: "sha384"}, `unknown algorithm "sha384"`},
		{Config{Preset: "svix", Secrets: []string{"whsec_not base64!"}}, "secret 1 is not base64"},
		{Config{Preset: "discord", Secrets: []string{strings.Repeat("ab", 31)}}, "key 1 is not an Ed25519 public key"},
		{Config{Preset: "sendgrid", Secrets: []string{"bm90IGEga2V5"}}, "key 1: not a DER public key"},
		{Config{Preset: "sendgrid", Secrets: []string{"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="}}, "not an ECDSA P-256"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
		for _, s := range tc.cfg.Secrets {
			if len(s) > 8 && err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("New error %q shows a secret", err)
			}
		}
	}
}

func TestDelivery(t *testing.T) {
	for _, tc := range []struct {
		preset      string
		header      http.Header
		body        string
		dedupHeader string
		id          string
	}{
		{"github", http.Header{"X-Github-Delivery": {"d1"}}, "", "X-GitHub-Delivery", "d1"},
		{"gitlab", http.Header{"Idempotency-Key": {"k1"}, "X-Gitlab-Event-Uuid": {"e1"}}, "", "Idempotency-Key", "k1"},
		{"gitlab-signing-token", http.Header{"X-Gitlab-Event-Uuid": {"e1"}}, "", "Idempotency-Key", "e1"},
		{"stripe", nil, `{"id":"evt_1"}`, "", "evt_1"},
		{"paddle", nil, `{"notification_id":"ntf_1"}`, "", "ntf_1"},
		{"mailgun", http.Header{"Content-Type": {"application/json"}}, `{"signature":{"token":"t1"}}`, "", "t1"},
		{"svix", http.Header{"Svix-Id": {"msg_1"}}, "", "Svix-Id", "msg_1"},
		{"zoom", http.Header{"X-Zm-Trackingid": {"z"}}, `{"event":"x"}`, "", ""},
		{"hmac", http.Header{"X-Github-Delivery": {"d1"}}, "", "", ""},
	} {
		cfg := Config{Preset: tc.preset, Secrets: []string{secretFor(tc.preset, "current")}}
		if tc.preset == "hmac" {
			cfg.Header = "X-Sig"
		}
		v, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := &Request{Header: tc.header, Body: []byte(tc.body)}
		if got := v.DeliveryID(r); got != tc.id {
			t.Errorf("%s: DeliveryID = %q, want %q", tc.preset, got, tc.id)
		}
		if got := v.DedupHeader(); got != tc.dedupHeader {
			t.Errorf("%s: DedupHeader = %q, want %q", tc.preset, got, tc.dedupHeader)
		}
		if got := v.Preset(); got != tc.preset {
			t.Errorf("Preset = %q, want %q", got, tc.preset)
		}
	}
}

func TestHandshake(t *testing.T) {
	for _, tc := range []struct {
		preset, body, want string
	}{
		{"slack", `{"token":"x","challenge":"c1","type":"url_verification"}`, `{"challenge":"c1"}`},
		{"slack", `{"type":"event_callback","event_id":"e"}`, ""},
		{"discord", `{"type":1,"id":"1"}`, `{"type":1}`},
		{"discord", `{"type":2}`, ""},
		{"zoom", `{"event":"meeting.started"}`, ""},
		{"github", `{"type":1}`, ""},
	} {
		secret := "secret"
		if tc.preset == "discord" {
			secret = strings.Repeat("ab", 32)
		}
		v, err := New(Config{Preset: tc.preset, Secrets: []string{secret}})
		if err != nil {
			t.Fatal(err)
		}
		answer, ok := v.Handshake(&Request{Body: []byte(tc.body)})
		if ok != (tc.want != "") || string(answer) != tc.want {
			t.Errorf("%s %s: Handshake = %s, %v; want %s", tc.preset, tc.body, answer, ok, tc.want)
		}
	}
}

func TestHMACSeveralSignatures(t *testing.T) {
	body := []byte(`{"a":1}`)
	v, err := New(Config{Preset: "hmac", Secrets: []string{"new"}, Header: "X-Signature", Algorithm: "sha256", Prefix: "sha256="})
	if err != nil {
		t.Fatal(err)
	}
	mac := func(secret string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	now := time.Now()
	for header, want := range map[string]error{
		mac("old") + "," + mac("new"):                   nil,
		mac("new") + ", " + mac("old"):                  nil,
		mac("old") + "," + mac("older"):                 ErrInvalid,
		mac("old") + ",not-hex":                         ErrInvalid,
		strings.Repeat(mac("old")+",", 16) + mac("new"): ErrInvalid,
	} {
		err := v.Verify(&Request{Method: "POST", Header: http.Header{"X-Signature": {header}}, Body: body}, now)
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%.40s...: got %v, want %v", header, err, want)
		}
	}
}
