package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// twilio is X-Twilio-Signature: a base64 HMAC-SHA1, under the auth token, of
// the public URL followed by the POST parameters sorted by name, each as
// name+value. A JSON body is bound instead by the URL's bodySHA256 query
// parameter, the hex SHA-256 of the body.
type twilio struct {
	keys hmacKeys
}

func newTwilio(cfg Config) (scheme, error) {
	return &twilio{keys: newHMACKeys(sha1.New, cfg.Secrets)}, nil
}

func (s *twilio) verify(r *Request, _ time.Time) error {
	v := r.Header.Get("X-Twilio-Signature")
	if v == "" {
		return missing("X-Twilio-Signature")
	}
	sig, err := decodeDigest(v, true, sha1.Size, "X-Twilio-Signature")
	if err != nil {
		return err
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return errorf(ErrInvalid, "the hook's public URL does not parse")
	}
	params, err := twilioParams(r, u)
	if err != nil {
		return err
	}
	for _, signedURL := range []string{r.URL, otherPortForm(u)} {
		if signedURL != "" && s.keys.match([][]byte{sig}, nil, signedURL, params) {
			return nil
		}
	}
	return errorf(ErrInvalid, "X-Twilio-Signature does not match the URL and parameters")
}

func (s *twilio) sign(r *Request, _ time.Time) (http.Header, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, err
	}
	params, err := twilioParams(r, u)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(s.keys.sum(0, nil, r.URL, params)))
	return h, nil
}

// twilioParams returns the signed parameters of the body: "" for a body bound
// by bodySHA256 (after checking it), otherwise the form parameters sorted by
// name (byte-wise, values of a repeated name sorted too) as name+value.
func twilioParams(r *Request, u *url.URL) (string, error) {
	if bodySHA256 := u.Query().Get("bodySHA256"); bodySHA256 != "" {
		want, err := hex.DecodeString(bodySHA256)
		sum := sha256.Sum256(r.Body)
		if err != nil || !hmac.Equal(sum[:], want) {
			return "", errorf(ErrInvalid, "body does not match the URL's bodySHA256")
		}
		return "", nil
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return "", errorf(ErrInvalid, "body is not a form")
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(form)) {
		values := slices.Clone(form[name])
		slices.Sort(values)
		for _, value := range values {
			b.WriteString(name)
			b.WriteString(value)
		}
	}
	return b.String(), nil
}

// otherPortForm returns u with the scheme's default port added, or with its
// port removed: Twilio's SDKs accept both forms, since Twilio signs either.
// It returns "" when there is no other form.
func otherPortForm(u *url.URL) string {
	other := *u
	switch {
	case u.Port() != "":
		other.Host = strings.TrimSuffix(u.Host, ":"+u.Port())
	case u.Scheme == "https":
		other.Host += ":443"
	case u.Scheme == "http":
		other.Host += ":80"
	default:
		return ""
	}
	return other.String()
}
