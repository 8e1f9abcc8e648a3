package signature

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// headerText writes headers one "Name: value" a line, the form the fuzzer mutates.
func headerText(h http.Header) string {
	var b strings.Builder
	for name, values := range h {
		for _, v := range values {
			b.WriteString(name + ": " + v + "\n")
		}
	}
	return b.String()
}

// parseHeaderText reads what headerText writes.
func parseHeaderText(text string) http.Header {
	h := http.Header{}
	for line := range strings.Lines(text) {
		if name, value, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ": "); ok {
			h.Add(name, value)
		}
	}
	return h
}

// FuzzVerify sends arbitrary requests to a verifier of each preset (with the
// secret of the preset's first vector): Verify must not panic and must fail,
// if it fails, with one of the sentinel errors.
func FuzzVerify(f *testing.F) {
	cases := loadVectors(f)
	var names []string
	verifiers := map[string]*Verifier{}
	for _, c := range cases {
		if verifiers[c.Provider] != nil {
			continue
		}
		v, err := New(c.config())
		if err != nil {
			f.Fatal(err)
		}
		names = append(names, c.Provider)
		verifiers[c.Provider] = v
	}
	custom, err := New(Config{Preset: "hmac", Secrets: []string{"s3cr3t"}, Header: "X-Signature", Encoding: "base64", Prefix: "v1="})
	if err != nil {
		f.Fatal(err)
	}
	names = append(names, "hmac")
	verifiers["hmac"] = custom

	for _, c := range cases {
		r := c.request(f)
		f.Add(uint8(slices.Index(names, c.Provider)), headerText(r.Header), r.URL, r.Body, c.now().Unix())
	}
	f.Add(uint8(len(names)-1), "X-Signature: v1=AAAA\nContent-Type: multipart/form-data; boundary=x\n", "::", []byte("--x\r\n"), int64(-1))

	f.Fuzz(func(t *testing.T, preset uint8, headers, url string, body []byte, now int64) {
		v := verifiers[names[int(preset)%len(names)]]
		r := &Request{Method: http.MethodPost, URL: url, Header: parseHeaderText(headers), Body: body}
		if err := v.Verify(r, time.Unix(now, 0)); err != nil && !isSentinel(err) {
			t.Fatalf("%s: Verify = %v, not a sentinel error", v.Preset(), err)
		}
		v.DeliveryID(r)
		v.Handshake(r)
	})
}

// FuzzParseHeader checks the parsers of structured signature headers: Stripe's
// "t=,v1=", Paddle's "ts=;h1=", the Standard Webhooks "v1,<base64>" list, and
// their timestamps.
func FuzzParseHeader(f *testing.F) {
	for _, c := range loadVectors(f) {
		for name, v := range c.Headers {
			switch strings.ToLower(name) {
			case "stripe-signature", "paddle-signature", "webhook-signature", "svix-signature", "webhook-timestamp", "linear-timestamp":
				f.Add(v)
			}
		}
	}
	f.Add("t=1,v1=" + strings.Repeat("0", 64) + ",v1=zz,v0=")
	f.Add("ts=;h1=;;==;h1=" + strings.Repeat("a", 64))
	f.Add("v1, v1,=== v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA v2,x")
	f.Add("99999999999999999999")

	f.Fuzz(func(t *testing.T, v string) {
		for _, format := range [][3]string{{",", "t", "v1"}, {";", "ts", "h1"}} {
			ts, sigs, err := parseStamped(v, format[0], format[1], format[2])
			checkParsed(t, v, ts != "", sigs, err)
		}
		sigs, err := parseSignatureList(v)
		checkParsed(t, v, true, sigs, err)
		for _, ms := range []bool{false, true} {
			if _, err := parseUnix(v, ms); err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseUnix(%q) = %v, not ErrInvalid", v, err)
			}
		}
	})
}

// checkParsed checks a parser's result: an ErrInvalid, or a timestamp and
// SHA-256 digests.
func checkParsed(t *testing.T, v string, hasTimestamp bool, sigs [][]byte, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%q: error %v is not ErrInvalid", v, err)
		}
		return
	}
	if !hasTimestamp || len(sigs) == 0 {
		t.Fatalf("%q: parsed without a timestamp or a digest", v)
	}
	for _, sig := range sigs {
		if len(sig) != 32 {
			t.Fatalf("%q: digest of %d bytes", v, len(sig))
		}
	}
}
