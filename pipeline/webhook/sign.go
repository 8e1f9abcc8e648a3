package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/pipeline/signature"
)

// The Standard Webhooks headers of a delivery.
const (
	// HeaderID is the event's ID, the same on every attempt.
	HeaderID = "webhook-id"
	// HeaderTimestamp is the attempt's time, in Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature holds "v1,<base64>" per active secret, separated by
	// spaces.
	HeaderSignature = "webhook-signature"
)

// signer signs deliveries with every active secret, through the
// standard-webhooks preset of package signature.
type signer struct {
	configs []signature.Config
}

// newSigner checks the secrets (whsec_ and base64).
func newSigner(secrets []string) (*signer, error) {
	s := &signer{}
	for i, secret := range secrets {
		cfg := signature.Config{Preset: "standard-webhooks", Secrets: []string{secret}}
		if _, err := signature.New(cfg); err != nil {
			return nil, fmt.Errorf("secret %d is not a Standard Webhooks secret (whsec_ and base64)", i+1)
		}
		s.configs = append(s.configs, cfg)
	}
	return s, nil
}

// Sign sets the Standard Webhooks headers of a delivery of body with the
// event ID id, at time ts, signed with every secret of s.
func (s *signer) Sign(h http.Header, id string, ts time.Time, body []byte) error {
	sigs := make([]string, 0, len(s.configs))
	for _, cfg := range s.configs {
		signed, err := signature.Sign(cfg, &signature.Request{Header: http.Header{"Webhook-Id": {id}}, Body: body}, ts)
		if err != nil {
			return err
		}
		sigs = append(sigs, signed.Get(HeaderSignature))
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if len(sigs) > 0 {
		h.Set(HeaderSignature, strings.Join(sigs, " "))
	}
	return nil
}

// GenerateSecret is a new random secret: "whsec_" and 32 random bytes in
// base64.
func GenerateSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}
