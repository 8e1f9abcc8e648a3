package signature

import (
	"net/http"
	"time"
)

// Sign returns the headers a provider would send with r at time now, signed
// with the first of cfg.Secrets, for `caddy hookgate sign` and for tests:
// Verify accepts r with these headers added. twilio signs r.URL, so set it.
// Sign returns an error for the schemes no header can express: discord and
// sendgrid sign with the provider's private key, dockerhub carries its secret
// as ?token= in the URL, and mailgun signs inside the body.
func Sign(cfg Config, r *Request, now time.Time) (http.Header, error) {
	v, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return v.scheme.sign(r, now)
}
