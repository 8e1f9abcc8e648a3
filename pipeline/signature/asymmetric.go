package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// errPrivateKey is Sign's answer for the schemes only the provider can sign.
func errPrivateKey(provider string) error {
	return fmt.Errorf("%s signs with its private key: only %s can produce a signature", provider, provider)
}

// discord is Discord's interactions endpoint: X-Signature-Ed25519, a hex
// Ed25519 signature of "<X-Signature-Timestamp><body>" under the
// application's private key; the secrets are its public keys, in hex.
type discord struct {
	keys []ed25519.PublicKey
	tol  tolerance
}

func newDiscord(cfg Config) (scheme, error) {
	s := &discord{tol: tolerance{max: cfg.Tolerance}}
	for i, secret := range cfg.Secrets {
		key, err := hex.DecodeString(secret)
		if err != nil || len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key %d is not an Ed25519 public key in hex (64 hex digits)", i+1)
		}
		s.keys = append(s.keys, ed25519.PublicKey(key))
	}
	return s, nil
}

func (s *discord) verify(r *Request, now time.Time) error {
	v, ts := r.Header.Get("X-Signature-Ed25519"), r.Header.Get("X-Signature-Timestamp")
	if v == "" {
		return missing("X-Signature-Ed25519")
	}
	if ts == "" {
		return missing("X-Signature-Timestamp")
	}
	sig, err := decodeDigest(v, false, ed25519.SignatureSize, "X-Signature-Ed25519")
	if err != nil {
		return err
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	message := append([]byte(ts), r.Body...)
	if !slices.ContainsFunc(s.keys, func(key ed25519.PublicKey) bool { return ed25519.Verify(key, message, sig) }) {
		return errorf(ErrInvalid, "X-Signature-Ed25519 does not match")
	}
	return s.tol.check(t, now)
}

func (s *discord) sign(*Request, time.Time) (http.Header, error) {
	return nil, errPrivateKey("discord")
}

// sendGrid is SendGrid's signed event webhook:
// X-Twilio-Email-Event-Webhook-Signature, a base64 ASN.1 ECDSA P-256
// signature of SHA-256("<X-Twilio-Email-Event-Webhook-Timestamp><body>"); the
// secrets are verification keys, base64 DER SubjectPublicKeyInfo.
type sendGrid struct {
	keys []*ecdsa.PublicKey
	tol  tolerance
}

const (
	sendGridSignature = "X-Twilio-Email-Event-Webhook-Signature"
	sendGridTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp"
)

func newSendGrid(cfg Config) (scheme, error) {
	s := &sendGrid{tol: tolerance{max: cfg.Tolerance}}
	for i, secret := range cfg.Secrets {
		key, err := parseP256Key(secret)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// parseP256Key parses an ECDSA P-256 public key in base64 DER.
func parseP256Key(b64 string) (*ecdsa.PublicKey, error) {
	der, err := decodeBase64(b64)
	if err != nil {
		return nil, errors.New("not base64")
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER public key: %w", err)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return ec, nil
}

func (s *sendGrid) verify(r *Request, now time.Time) error {
	v, ts := r.Header.Get(sendGridSignature), r.Header.Get(sendGridTimestamp)
	if v == "" {
		return missing(sendGridSignature)
	}
	if ts == "" {
		return missing(sendGridTimestamp)
	}
	sig, err := decodeBase64(v)
	if err != nil {
		return errorf(ErrInvalid, "%s is not base64", sendGridSignature)
	}
	t, err := parseUnix(ts, false)
	if err != nil {
		return err
	}
	digest := sha256.New()
	digest.Write([]byte(ts))
	digest.Write(r.Body)
	sum := digest.Sum(nil)
	if !slices.ContainsFunc(s.keys, func(key *ecdsa.PublicKey) bool { return ecdsa.VerifyASN1(key, sum, sig) }) {
		return errorf(ErrInvalid, "%s does not match", sendGridSignature)
	}
	return s.tol.check(t, now)
}

func (s *sendGrid) sign(*Request, time.Time) (http.Header, error) {
	return nil, errPrivateKey("sendgrid")
}
