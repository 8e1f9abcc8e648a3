// Package signature verifies (and, for testing, produces) the signatures of
// incoming webhooks: GitHub, GitLab, Gitea, Bitbucket, Stripe, Slack,
// Standard Webhooks and the other providers listed by Presets, plus any
// sender that puts an HMAC of the body in a header ("hmac").
//
// A Verifier is built once from a Config, when the configuration is loaded:
// secrets are decoded and keys parsed there, so that Verify only hashes and
// compares. Verify works on the raw body bytes, before anything is parsed;
// comparisons are constant-time, and several secrets may be active at once
// (rotation): a request is valid if any of them matches.
//
// Verify fails with ErrMissing, ErrInvalid or ErrStale, possibly wrapped with
// a detail. No error ever contains a secret or an expected signature.
package signature

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// The errors Verify returns, possibly wrapped with a detail: test them with
// errors.Is. Their text is the error code of hookgate's 401 answers.
var (
	// ErrMissing means the signature (header, body field or URL token) is absent or empty.
	ErrMissing = errors.New("signature_missing")
	// ErrInvalid means the signature is malformed or does not match.
	ErrInvalid = errors.New("signature_invalid")
	// ErrStale means the signed timestamp is outside the tolerance.
	ErrStale = errors.New("timestamp_out_of_tolerance")
)

// Request is what a verifier sees of an incoming hook.
type Request struct {
	// Method is the HTTP method, e.g. "POST".
	Method string
	// URL is the full public URL the sender posted to
	// (scheme://host/path?query), as configured, never rebuilt from the
	// Host header: twilio signs it, dockerhub carries its token in the query.
	URL string
	// Header holds the request headers.
	Header http.Header
	// Body is the raw body, exactly as received.
	Body []byte
}

// Config selects and parameterises a scheme.
type Config struct {
	// Preset is one of Presets(), or "hmac" for a custom HMAC of the body
	// carried in a header (see Algorithm, Header, Encoding and Prefix).
	Preset string
	// Secrets are the active secrets: a request is valid if any of them
	// matches, so that a secret can be rotated. For standard-webhooks, svix
	// and gitlab-signing-token they are base64 keys, with or without the
	// "whsec_" prefix; for discord the application's Ed25519 public key in
	// hex; for sendgrid the ECDSA P-256 verification key in base64 DER
	// (SubjectPublicKeyInfo). Every other preset uses the secret as given.
	Secrets []string
	// Tolerance is how far a signed timestamp may be from now, for the
	// schemes that sign one. Zero means the preset's default: 5 minutes,
	// except linear (1 minute) and paddle (5 seconds). Ignored by schemes
	// without a timestamp.
	Tolerance time.Duration
	// Algorithm is the hash of "hmac" and "devopness": sha1, sha256 or
	// sha512. Default: sha256.
	Algorithm string
	// Header is the header carrying the signature, for "hmac" (required)
	// and "devopness" (default: X-Hub-Signature-256).
	Header string
	// Encoding is how "hmac" encodes the digest: hex or base64.
	// Default: hex.
	Encoding string
	// Prefix is the text "hmac" expects before the digest, e.g. "sha256=".
	// When set it is required.
	Prefix string
}

// Verifier checks the signature of one configured scheme. It is safe for
// concurrent use: build it once, when the configuration is loaded, and use
// it for every request.
type Verifier struct {
	name   string
	preset preset
	scheme scheme
	first  string // the first secret, which Zoom's handshake answer is signed with
	// deliveryKeys are the preset's delivery headers in canonical form,
	// looked up directly: Header.Get would canonicalize X-GitHub-Delivery
	// into a new string on every hook.
	deliveryKeys []string
}

// scheme is one way of signing a hook.
type scheme interface {
	// verify returns nil, or ErrMissing, ErrInvalid or ErrStale, possibly wrapped.
	verify(r *Request, now time.Time) error
	// sign returns the headers the provider would send with r, signed with
	// the first secret, or an error when only the provider can sign.
	sign(r *Request, now time.Time) (http.Header, error)
}

// preset describes one provider.
type preset struct {
	// build makes the scheme; cfg.Tolerance is already defaulted.
	build func(cfg Config) (scheme, error)
	// tolerance is the default tolerance of a timestamped scheme.
	tolerance time.Duration
	// deliveryHeaders carry the provider's unique delivery id, preferred first.
	deliveryHeaders []string
	// deliveryBody reads the delivery id from the body, for providers that put it there.
	deliveryBody func(r *Request) string
}

const defaultTolerance = 5 * time.Minute

var presets = map[string]preset{
	"github": {
		build:           bodyHMAC(headerHMAC{header: "X-Hub-Signature-256", prefix: "sha256="}, "sha256"),
		deliveryHeaders: []string{"X-GitHub-Delivery"},
	},
	"github-sha1-legacy": {
		build:           bodyHMAC(headerHMAC{header: "X-Hub-Signature", prefix: "sha1="}, "sha1"),
		deliveryHeaders: []string{"X-GitHub-Delivery"},
	},
	"gitlab": {
		build:           newGitLabToken,
		deliveryHeaders: []string{"Idempotency-Key", "X-Gitlab-Event-UUID"},
	},
	"gitlab-signing-token": {
		build:           newStandardWebhooks("webhook"),
		tolerance:       defaultTolerance,
		deliveryHeaders: []string{"Idempotency-Key", "X-Gitlab-Event-UUID"},
	},
	"gitea": {
		build:           bodyHMAC(headerHMAC{header: "X-Gitea-Signature", formPayload: true}, "sha256"),
		deliveryHeaders: []string{"X-Gitea-Delivery"},
	},
	"forgejo": {
		build:           bodyHMAC(headerHMAC{header: "X-Forgejo-Signature", formPayload: true}, "sha256"),
		deliveryHeaders: []string{"X-Forgejo-Delivery"},
	},
	"bitbucket-cloud": {
		build:           bodyHMAC(headerHMAC{header: "X-Hub-Signature", prefix: "sha256="}, "sha256"),
		deliveryHeaders: []string{"X-Request-UUID"},
	},
	"bitbucket-server": {
		build:           bodyHMAC(headerHMAC{header: "X-Hub-Signature", prefix: "sha256="}, "sha256"),
		deliveryHeaders: []string{"X-Request-Id"},
	},
	"shopify": {
		build:           bodyHMAC(headerHMAC{header: "X-Shopify-Hmac-Sha256", base64: true}, "sha256"),
		deliveryHeaders: []string{"X-Shopify-Webhook-Id"},
	},
	"devopness": {
		build:           newDevopness,
		deliveryHeaders: []string{"X-GitHub-Delivery"},
	},
	"stripe": {
		build:        newStripe,
		tolerance:    defaultTolerance,
		deliveryBody: jsonField("id"),
	},
	"slack": {
		build:        newV0HMAC("X-Slack-Signature", "X-Slack-Request-Timestamp"),
		tolerance:    defaultTolerance,
		deliveryBody: jsonField("event_id"),
	},
	"zoom": {
		build:     newV0HMAC("X-Zm-Signature", "X-Zm-Request-Timestamp"),
		tolerance: defaultTolerance,
	},
	"standard-webhooks": {
		build:           newStandardWebhooks("webhook"),
		tolerance:       defaultTolerance,
		deliveryHeaders: []string{"Webhook-Id"},
	},
	"svix": {
		build:           newStandardWebhooks("svix"),
		tolerance:       defaultTolerance,
		deliveryHeaders: []string{"Svix-Id"},
	},
	"linear": {
		build:           newLinear,
		tolerance:       time.Minute,
		deliveryHeaders: []string{"Linear-Delivery"},
	},
	"paddle": {
		build:        newPaddle,
		tolerance:    5 * time.Second,
		deliveryBody: jsonField("notification_id"),
	},
	"twilio": {
		build:           newTwilio,
		deliveryHeaders: []string{"I-Twilio-Idempotency-Token"},
	},
	"discord": {
		build:     newDiscord,
		tolerance: defaultTolerance,
	},
	"sendgrid": {
		build:     newSendGrid,
		tolerance: defaultTolerance,
	},
	"mailgun": {
		build:        newMailgun,
		tolerance:    defaultTolerance,
		deliveryBody: mailgunToken,
	},
	"dockerhub": {
		build: newDockerHubToken,
	},
}

// hmacPreset is "hmac", configured entirely by Config.
var hmacPreset = preset{build: newCustomHMAC}

// Presets returns the sorted names of all presets (not including "hmac").
func Presets() []string {
	names := make([]string, 0, len(presets))
	for name := range presets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// New checks cfg and builds its Verifier: secrets are decoded and public keys
// parsed here, once.
func New(cfg Config) (*Verifier, error) {
	p, ok := presets[cfg.Preset]
	if cfg.Preset == "hmac" {
		p, ok = hmacPreset, true
	}
	if !ok {
		return nil, fmt.Errorf("unknown signature preset %q; valid: %s, hmac", cfg.Preset, strings.Join(Presets(), ", "))
	}
	if len(cfg.Secrets) == 0 {
		return nil, fmt.Errorf("signature %s: no secret", cfg.Preset)
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("signature %s: secret %d is empty", cfg.Preset, i+1)
		}
	}
	if cfg.Preset != "hmac" && cfg.Preset != "devopness" && (cfg.Algorithm != "" || cfg.Header != "") {
		return nil, fmt.Errorf("signature %s: algorithm and header apply only to hmac and devopness", cfg.Preset)
	}
	if cfg.Preset != "hmac" && (cfg.Encoding != "" || cfg.Prefix != "") {
		return nil, fmt.Errorf("signature %s: encoding and prefix apply only to hmac", cfg.Preset)
	}
	if cfg.Tolerance < 0 {
		return nil, fmt.Errorf("signature %s: negative tolerance %v", cfg.Preset, cfg.Tolerance)
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = p.tolerance
	}
	s, err := p.build(cfg)
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w", cfg.Preset, err)
	}
	keys := make([]string, len(p.deliveryHeaders))
	for i, h := range p.deliveryHeaders {
		keys[i] = http.CanonicalHeaderKey(h)
	}
	return &Verifier{name: cfg.Preset, preset: p, scheme: s, first: cfg.Secrets[0], deliveryKeys: keys}, nil
}

// Verify checks the signature of r at time now. It returns nil, or an error
// for which errors.Is matches ErrMissing, ErrInvalid or ErrStale.
func (v *Verifier) Verify(r *Request, now time.Time) error {
	return v.scheme.verify(r, now)
}

// DeliveryID returns the provider's unique id of the delivery, used to drop
// duplicates, or "" if the provider sends none.
func (v *Verifier) DeliveryID(r *Request) string {
	for _, k := range v.deliveryKeys {
		if ids := r.Header[k]; len(ids) > 0 && ids[0] != "" {
			return ids[0]
		}
	}
	if v.preset.deliveryBody != nil {
		return v.preset.deliveryBody(r)
	}
	return ""
}

// DedupHeader returns the name of the header DeliveryID reads, or "" if it
// reads the body or nothing.
func (v *Verifier) DedupHeader() string {
	if len(v.preset.deliveryHeaders) == 0 {
		return ""
	}
	return v.preset.deliveryHeaders[0]
}

// Preset returns the name of the verifier's preset, or "hmac".
func (v *Verifier) Preset() string {
	return v.name
}

// UsesURL reports whether the scheme reads the URL the provider posted to
// (twilio signs it, dockerhub carries its token in it), so that a caller
// builds Request.URL only for those.
func (v *Verifier) UsesURL() bool {
	switch v.scheme.(type) {
	case *twilio, *dockerHubToken:
		return true
	}
	return false
}

// jsonField reads a delivery id at a gjson path of a JSON body.
func jsonField(path string) func(r *Request) string {
	return func(r *Request) string {
		return gjson.GetBytes(r.Body, path).String()
	}
}

// errorf wraps one of the sentinel errors with a detail. The detail must
// never contain a secret or an expected signature.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// missing reports an absent or empty header.
func missing(header string) error {
	return errorf(ErrMissing, "no %s header", header)
}
