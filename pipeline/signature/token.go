package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// tokenSet holds the SHA-256 of each secret, so that comparing a token with
// them takes the same time whatever its length or content.
type tokenSet [][sha256.Size]byte

func newTokenSet(secrets []string) tokenSet {
	var t tokenSet
	for _, s := range secrets {
		t = append(t, sha256.Sum256([]byte(s)))
	}
	return t
}

// match reports whether token equals one of the secrets.
func (t tokenSet) match(token string) bool {
	sum := sha256.Sum256([]byte(token))
	for _, s := range t {
		if hmac.Equal(sum[:], s[:]) {
			return true
		}
	}
	return false
}

// gitLabToken is X-Gitlab-Token: the secret token itself.
type gitLabToken struct {
	tokens tokenSet
	first  string // for sign
}

func newGitLabToken(cfg Config) (scheme, error) {
	return &gitLabToken{tokens: newTokenSet(cfg.Secrets), first: cfg.Secrets[0]}, nil
}

func (s *gitLabToken) verify(r *Request, _ time.Time) error {
	v := r.Header.Get("X-Gitlab-Token")
	if v == "" {
		return missing("X-Gitlab-Token")
	}
	if !s.tokens.match(v) {
		return errorf(ErrInvalid, "X-Gitlab-Token does not match")
	}
	return nil
}

func (s *gitLabToken) sign(*Request, time.Time) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Gitlab-Token", s.first)
	return h, nil
}

// dockerHubToken is hookgate's convention for Docker Hub, which signs
// nothing: the secret is the token query parameter of the hook's URL.
type dockerHubToken struct {
	tokens tokenSet
}

func newDockerHubToken(cfg Config) (scheme, error) {
	return &dockerHubToken{tokens: newTokenSet(cfg.Secrets)}, nil
}

func (s *dockerHubToken) verify(r *Request, _ time.Time) error {
	u, err := url.Parse(r.URL)
	if err != nil {
		return errorf(ErrInvalid, "the hook's URL does not parse")
	}
	token := u.Query().Get("token")
	if token == "" {
		return errorf(ErrMissing, "no token in the URL query")
	}
	if !s.tokens.match(token) {
		return errorf(ErrInvalid, "the URL's token does not match")
	}
	return nil
}

func (s *dockerHubToken) sign(*Request, time.Time) (http.Header, error) {
	return nil, errors.New("dockerhub carries the secret as ?token= in the URL: there is no header to sign")
}
