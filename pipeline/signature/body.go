package signature

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tidwall/gjson"
)

// mailgun signs inside the body: the signature object of a JSON body, or the
// fields of a form body, hold timestamp, token and signature, the hex
// HMAC-SHA256 of "<timestamp><token>" under the signing key. The rest of the
// body is not signed: the token, unique per delivery, guards against replays.
type mailgun struct {
	keys hmacKeys
	tol  tolerance
}

func newMailgun(cfg Config) (scheme, error) {
	return &mailgun{keys: newHMACKeys(sha256.New, cfg.Secrets), tol: tolerance{max: cfg.Tolerance}}, nil
}

func (s *mailgun) verify(r *Request, now time.Time) error {
	ts, token, v, err := mailgunFields(r)
	if err != nil {
		return err
	}
	if v == "" {
		return errorf(ErrMissing, "no signature in the body")
	}
	if ts == "" || token == "" {
		return errorf(ErrInvalid, "the body's signature lacks its timestamp or token")
	}
	sig, err := decodeDigest(v, false, sha256.Size, "the body's signature")
	if err != nil {
		return err
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	if !s.keys.match([][]byte{sig}, nil, ts, token) {
		return errorf(ErrInvalid, "the body's signature does not match")
	}
	return s.tol.check(t, now)
}

func (s *mailgun) sign(*Request, time.Time) (http.Header, error) {
	return nil, errors.New("mailgun signs inside the body (signature.timestamp, .token and .signature): there is no header to produce")
}

// mailgunFields returns the timestamp, token and signature of a Mailgun body.
func mailgunFields(r *Request) (ts, token, sig string, err error) {
	switch mediaType(r.Header) {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		v, err := formValues(r, "timestamp", "token", "signature")
		if err != nil {
			return "", "", "", err
		}
		return v[0], v[1], v[2], nil
	}
	v := gjson.GetManyBytes(r.Body, "signature.timestamp", "signature.token", "signature.signature")
	return v[0].String(), v[1].String(), v[2].String(), nil
}

// mailgunToken is Mailgun's delivery id: the token of its signature.
func mailgunToken(r *Request) string {
	_, token, _, _ := mailgunFields(r)
	return token
}

// mediaType returns the lower-case media type of the Content-Type header.
func mediaType(h http.Header) string {
	t, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return t
}

// formValues returns the first value of each named field of a form body,
// multipart/form-data or else application/x-www-form-urlencoded, "" for the
// fields that are absent. File parts are skipped.
func formValues(r *Request, names ...string) ([]string, error) {
	values := make([]string, len(names))
	t, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if t != "multipart/form-data" {
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return nil, errorf(ErrInvalid, "body is not a form")
		}
		for i, name := range names {
			values[i] = form.Get(name)
		}
		return values, nil
	}
	parts := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		part, err := parts.NextPart()
		if err == io.EOF {
			return values, nil
		}
		if err != nil {
			return nil, errorf(ErrInvalid, "body is not a multipart form")
		}
		i := slices.Index(names, part.FormName())
		if i < 0 || values[i] != "" || part.FileName() != "" {
			continue
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return nil, errorf(ErrInvalid, "body is not a multipart form")
		}
		values[i] = string(value)
	}
}
