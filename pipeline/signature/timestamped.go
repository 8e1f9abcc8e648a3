package signature

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// tolerance bounds how far a signed timestamp may be from now.
type tolerance struct {
	max      time.Duration
	pastOnly bool // accept any future timestamp, as Stripe's SDKs do
}

// check returns ErrStale when ts is more than max before now or, unless
// pastOnly, more than max after it.
func (t tolerance) check(ts, now time.Time) error {
	if ts.Before(now.Add(-t.max)) {
		return errorf(ErrStale, "timestamp is more than %v old", t.max)
	}
	if !t.pastOnly && ts.After(now.Add(t.max)) {
		return errorf(ErrStale, "timestamp is more than %v in the future", t.max)
	}
	return nil
}

// parseUnix parses a decimal Unix timestamp counted in seconds, or in
// milliseconds when ms is set.
func parseUnix(s string, ms bool) (time.Time, error) {
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return time.Time{}, errorf(ErrInvalid, "timestamp is not a decimal number")
	}
	if ms {
		return time.UnixMilli(int64(n)), nil
	}
	return time.Unix(int64(n), 0), nil
}

// parseStamped parses a header of sep-separated key=value items holding one
// timestamp (tsKey) and hex SHA-256 digests (sigKey), as Stripe
// ("t=…,v1=…,v1=…") and Paddle ("ts=…;h1=…") send. Other keys are ignored,
// and so are digests that are not 32 bytes of hex.
func parseStamped(v, sep, tsKey, sigKey string) (ts string, sigs [][]byte, err error) {
	for item := range strings.SplitSeq(v, sep) {
		key, value, _ := strings.Cut(strings.TrimSpace(item), "=")
		switch key {
		case tsKey:
			ts = value
		case sigKey:
			if sig, err := hex.DecodeString(value); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" {
		return "", nil, errorf(ErrInvalid, "no %s= timestamp", tsKey)
	}
	if len(sigs) == 0 {
		return "", nil, errorf(ErrInvalid, "no %s= signature", sigKey)
	}
	return ts, sigs, nil
}

// stripe is Stripe-Signature: "t=<ts>,v1=<hex>[,v1=<hex>…]", each v1 an
// HMAC-SHA256 of "<ts>.<body>" under the secret used verbatim (with its
// "whsec_" prefix). Only old timestamps are stale.
type stripe struct {
	keys hmacKeys
	tol  tolerance
}

func newStripe(cfg Config) (scheme, error) {
	return &stripe{keys: newHMACKeys(sha256.New, cfg.Secrets), tol: tolerance{max: cfg.Tolerance, pastOnly: true}}, nil
}

func (s *stripe) verify(r *Request, now time.Time) error {
	v := r.Header.Get("Stripe-Signature")
	if v == "" {
		return missing("Stripe-Signature")
	}
	ts, sigs, err := parseStamped(v, ",", "t", "v1")
	if err != nil {
		return err
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	if !s.keys.match(sigs, r.Body, ts, ".") {
		return errorf(ErrInvalid, "no v1 signature of Stripe-Signature matches")
	}
	return s.tol.check(t, now)
}

func (s *stripe) sign(r *Request, now time.Time) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Stripe-Signature", "t="+ts+",v1="+s.keys.sign(r.Body, ts, "."))
	return h, nil
}

// paddle is Paddle-Signature: "ts=<ts>;h1=<hex>[;h1=<hex>…]", each h1 an
// HMAC-SHA256 of "<ts>:<body>".
type paddle struct {
	keys hmacKeys
	tol  tolerance
}

func newPaddle(cfg Config) (scheme, error) {
	return &paddle{keys: newHMACKeys(sha256.New, cfg.Secrets), tol: tolerance{max: cfg.Tolerance}}, nil
}

func (s *paddle) verify(r *Request, now time.Time) error {
	v := r.Header.Get("Paddle-Signature")
	if v == "" {
		return missing("Paddle-Signature")
	}
	ts, sigs, err := parseStamped(v, ";", "ts", "h1")
	if err != nil {
		return err
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	if !s.keys.match(sigs, r.Body, ts, ":") {
		return errorf(ErrInvalid, "no h1 signature of Paddle-Signature matches")
	}
	return s.tol.check(t, now)
}

func (s *paddle) sign(r *Request, now time.Time) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Paddle-Signature", "ts="+ts+";h1="+s.keys.sign(r.Body, ts, ":"))
	return h, nil
}

// v0HMAC is Slack's and Zoom's scheme: a timestamp header, and a signature
// header "v0=<hex>" holding an HMAC-SHA256 of "v0:<ts>:<body>".
type v0HMAC struct {
	sigHeader, tsHeader string
	keys                hmacKeys
	tol                 tolerance
}

func newV0HMAC(sigHeader, tsHeader string) func(Config) (scheme, error) {
	return func(cfg Config) (scheme, error) {
		return &v0HMAC{
			sigHeader: sigHeader,
			tsHeader:  tsHeader,
			keys:      newHMACKeys(sha256.New, cfg.Secrets),
			tol:       tolerance{max: cfg.Tolerance},
		}, nil
	}
}

func (s *v0HMAC) verify(r *Request, now time.Time) error {
	v, ts := r.Header.Get(s.sigHeader), r.Header.Get(s.tsHeader)
	if v == "" {
		return missing(s.sigHeader)
	}
	if ts == "" {
		return missing(s.tsHeader)
	}
	digest, ok := strings.CutPrefix(v, "v0=")
	if !ok {
		return errorf(ErrInvalid, "%s lacks the \"v0=\" prefix", s.sigHeader)
	}
	sig, err := decodeDigest(digest, false, sha256.Size, s.sigHeader)
	if err != nil {
		return err
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	if !s.keys.match([][]byte{sig}, r.Body, "v0:", ts, ":") {
		return errorf(ErrInvalid, "%s does not match", s.sigHeader)
	}
	return s.tol.check(t, now)
}

func (s *v0HMAC) sign(r *Request, now time.Time) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(s.tsHeader, ts)
	h.Set(s.sigHeader, "v0="+s.keys.sign(r.Body, "v0:", ts, ":"))
	return h, nil
}

// linear is Linear-Signature: a hex HMAC-SHA256 of the body, with the
// timestamp, in milliseconds, in Linear-Timestamp or else in the body's
// webhookTimestamp.
type linear struct {
	keys hmacKeys
	tol  tolerance
}

func newLinear(cfg Config) (scheme, error) {
	return &linear{keys: newHMACKeys(sha256.New, cfg.Secrets), tol: tolerance{max: cfg.Tolerance}}, nil
}

func (s *linear) verify(r *Request, now time.Time) error {
	v := r.Header.Get("Linear-Signature")
	if v == "" {
		return missing("Linear-Signature")
	}
	sig, err := decodeDigest(v, false, sha256.Size, "Linear-Signature")
	if err != nil {
		return err
	}
	if !s.keys.match([][]byte{sig}, r.Body) {
		return errorf(ErrInvalid, "Linear-Signature does not match the body")
	}
	ts := r.Header.Get("Linear-Timestamp")
	if ts == "" {
		ts = gjson.GetBytes(r.Body, "webhookTimestamp").String()
	}
	if ts == "" {
		return errorf(ErrMissing, "no Linear-Timestamp header nor webhookTimestamp in the body")
	}
	t, err := parseUnix(ts, true)
	if err != nil {
		return err
	}
	return s.tol.check(t, now)
}

func (s *linear) sign(r *Request, now time.Time) (http.Header, error) {
	h := http.Header{}
	h.Set("Linear-Timestamp", strconv.FormatInt(now.UnixMilli(), 10))
	h.Set("Linear-Signature", s.keys.sign(r.Body))
	return h, nil
}

// standardWebhooks is the Standard Webhooks scheme (also Svix's and GitLab's
// signing tokens): <p>-id, <p>-timestamp and <p>-signature headers, the latter
// a space-separated list of "v1,<base64>" HMAC-SHA256 of "<id>.<ts>.<body>"
// under the base64-decoded secret.
type standardWebhooks struct {
	idHeader, tsHeader, sigHeader string
	keys                          hmacKeys
	tol                           tolerance
}

func newStandardWebhooks(prefix string) func(Config) (scheme, error) {
	return func(cfg Config) (scheme, error) {
		s := &standardWebhooks{
			idHeader:  prefix + "-id",
			tsHeader:  prefix + "-timestamp",
			sigHeader: prefix + "-signature",
			keys:      newHMACKeys(sha256.New, nil),
			tol:       tolerance{max: cfg.Tolerance},
		}
		for i, secret := range cfg.Secrets {
			key, err := decodeBase64(strings.TrimPrefix(secret, "whsec_"))
			if err != nil || len(key) == 0 {
				return nil, fmt.Errorf("secret %d is not base64 (whsec_…)", i+1)
			}
			s.keys.keys = append(s.keys.keys, key)
		}
		return s, nil
	}
}

// parseSignatureList returns the v1 digests of a Standard Webhooks signature
// header. Other versions (v1a is asymmetric) and undecodable entries are
// skipped.
func parseSignatureList(v string) ([][]byte, error) {
	var sigs [][]byte
	for _, entry := range strings.Fields(v) {
		version, digest, _ := strings.Cut(entry, ",")
		if version != "v1" {
			continue
		}
		if sig, err := decodeBase64(digest); err == nil && len(sig) == sha256.Size {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return nil, errorf(ErrInvalid, "no v1,<base64> signature")
	}
	return sigs, nil
}

func (s *standardWebhooks) verify(r *Request, now time.Time) error {
	id, ts, v := r.Header.Get(s.idHeader), r.Header.Get(s.tsHeader), r.Header.Get(s.sigHeader)
	if v == "" {
		return missing(s.sigHeader)
	}
	if id == "" {
		return missing(s.idHeader)
	}
	if ts == "" {
		return missing(s.tsHeader)
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	sigs, err := parseSignatureList(v)
	if err != nil {
		return err
	}
	if !s.keys.match(sigs, r.Body, id, ".", ts, ".") {
		return errorf(ErrInvalid, "no v1 signature of %s matches", s.sigHeader)
	}
	return s.tol.check(t, now)
}

// sign keeps the request's id header, or makes one up.
func (s *standardWebhooks) sign(r *Request, now time.Time) (http.Header, error) {
	id := r.Header.Get(s.idHeader)
	if id == "" {
		id = "msg_" + rand.Text()
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := s.keys.sum(0, r.Body, id, ".", ts, ".")
	h := http.Header{}
	h.Set(s.idHeader, id)
	h.Set(s.tsHeader, ts)
	h.Set(s.sigHeader, "v1,"+base64.StdEncoding.EncodeToString(mac))
	return h, nil
}
