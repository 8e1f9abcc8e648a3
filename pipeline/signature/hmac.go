package signature

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// hashes are the algorithms of "hmac" and "devopness".
var hashes = map[string]func() hash.Hash{
	"sha1":   sha1.New,
	"sha256": sha256.New,
	"sha512": sha512.New,
}

// hashNamed returns the hash of an algorithm name, case-insensitively.
func hashNamed(name string) (string, func() hash.Hash, error) {
	name = strings.ToLower(name)
	h, ok := hashes[name]
	if !ok {
		return "", nil, fmt.Errorf("unknown algorithm %q; valid: sha1, sha256, sha512", name)
	}
	return name, h, nil
}

// hmacKeys are the HMAC keys of all active secrets, with their hash.
type hmacKeys struct {
	newHash func() hash.Hash
	size    int // length of a digest
	keys    [][]byte
	// macs recycles the HMAC states of each key, which hmac.New would
	// otherwise allocate and key anew for every hook.
	macs *macPools
}

// macPools holds a pool of keyed HMACs per key, made on first use (once
// every key is known).
type macPools struct {
	once  sync.Once
	pools []sync.Pool
}

// newHMACKeys uses each secret verbatim as a key.
func newHMACKeys(newHash func() hash.Hash, secrets []string) hmacKeys {
	k := hmacKeys{newHash: newHash, size: newHash().Size(), macs: &macPools{}}
	for _, s := range secrets {
		k.keys = append(k.keys, []byte(s))
	}
	return k
}

// keyedMAC is a pooled HMAC state with room for its digest.
type keyedMAC struct {
	hash.Hash
	digest [sha512.Size]byte
}

// sum is the HMAC under key i of the head strings followed by body.
func (k hmacKeys) sum(i int, body []byte, head ...string) []byte {
	var digest []byte
	k.with(i, body, head, func(d []byte) { digest = bytes.Clone(d) })
	return digest
}

// with calls use with the HMAC under key i of the head strings followed by
// body, in a buffer that is reused once use returns.
func (k hmacKeys) with(i int, body []byte, head []string, use func(digest []byte)) {
	k.macs.once.Do(func() {
		k.macs.pools = make([]sync.Pool, len(k.keys))
		for j, key := range k.keys {
			k.macs.pools[j].New = func() any { return &keyedMAC{Hash: hmac.New(k.newHash, key)} }
		}
	})
	mac := k.macs.pools[i].Get().(*keyedMAC)
	defer k.macs.pools[i].Put(mac)
	mac.Reset()
	for _, s := range head {
		io.WriteString(mac, s)
	}
	mac.Write(body)
	use(mac.Sum(mac.digest[:0]))
}

// match reports, in constant time per comparison, whether one of sigs is the
// HMAC of the head strings followed by body under one of the keys.
func (k hmacKeys) match(sigs [][]byte, body []byte, head ...string) bool {
	matched := false
	for i := range k.keys {
		k.with(i, body, head, func(mac []byte) {
			for _, sig := range sigs {
				matched = matched || hmac.Equal(mac, sig)
			}
		})
		if matched {
			return true
		}
	}
	return false
}

// sign is the hex HMAC under the first key.
func (k hmacKeys) sign(body []byte, head ...string) string {
	return hex.EncodeToString(k.sum(0, body, head...))
}

// decodeDigest decodes a hex or base64 digest of the given size; what is
// malformed is ErrInvalid. The message names what, never the value.
func decodeDigest(s string, base64Encoded bool, size int, what string) ([]byte, error) {
	return appendDigest(nil, s, base64Encoded, size, what)
}

// appendDigest is decodeDigest into dst: it appends the digest to dst.
func appendDigest(dst []byte, s string, base64Encoded bool, size int, what string) ([]byte, error) {
	var err error
	n := len(dst)
	if base64Encoded {
		dst, err = appendBase64(dst, s)
	} else {
		dst, err = hex.AppendDecode(dst, readOnly(s))
	}
	switch {
	case err != nil && base64Encoded:
		return nil, errorf(ErrInvalid, "%s is not base64", what)
	case err != nil:
		return nil, errorf(ErrInvalid, "%s is not hex", what)
	case len(dst)-n != size:
		return nil, errorf(ErrInvalid, "%s has %d bytes, want %d", what, len(dst)-n, size)
	}
	return dst, nil
}

// readOnly is the bytes of s, for a decoder that only reads them: a
// header's digest is decoded on every hook without copying it first.
func readOnly(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// decodeBase64 decodes standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) { return appendBase64(nil, s) }

// appendBase64 is decodeBase64 into dst: it appends the bytes to dst.
func appendBase64(dst []byte, s string) ([]byte, error) {
	return base64.RawStdEncoding.AppendDecode(dst, readOnly(strings.TrimRight(s, "=")))
}

// maxSignatures bounds the comma-separated signatures of one header.
const maxSignatures = 16

// headerHMAC is an HMAC of the raw body, hex or base64, carried in one header
// (GitHub, Gitea, Bitbucket, Shopify, Devopness, "hmac").
type headerHMAC struct {
	header         string
	prefix         string // expected before the digest, e.g. "sha256="
	prefixOptional bool   // the prefix may be left out (devopness)
	base64         bool   // the digest is base64, not hex
	formPayload    bool   // a form body is signed through its "payload" field (Gitea, Forgejo)
	several        bool   // the header may hold several signatures, separated by commas ("hmac")
	keys           hmacKeys
}

// bodyHMAC builds a preset of the headerHMAC family with a fixed algorithm.
func bodyHMAC(h headerHMAC, algorithm string) func(Config) (scheme, error) {
	return func(cfg Config) (scheme, error) {
		s := h
		s.keys = newHMACKeys(hashes[algorithm], cfg.Secrets)
		return &s, nil
	}
}

// newDevopness builds a Devopness incoming hook: its secret_header_name and
// secret_algorithm, a hex digest with an optional "<algorithm>=" prefix.
func newDevopness(cfg Config) (scheme, error) {
	name, newHash, err := hashNamed(cmp.Or(cfg.Algorithm, "sha256"))
	if err != nil {
		return nil, err
	}
	return &headerHMAC{
		header:         cmp.Or(cfg.Header, "X-Hub-Signature-256"),
		prefix:         name + "=",
		prefixOptional: true,
		keys:           newHMACKeys(newHash, cfg.Secrets),
	}, nil
}

// newCustomHMAC builds "hmac": any header, algorithm, encoding and prefix.
func newCustomHMAC(cfg Config) (scheme, error) {
	if cfg.Header == "" {
		return nil, errors.New("no header")
	}
	_, newHash, err := hashNamed(cmp.Or(cfg.Algorithm, "sha256"))
	if err != nil {
		return nil, err
	}
	encoding := strings.ToLower(cmp.Or(cfg.Encoding, "hex"))
	if encoding != "hex" && encoding != "base64" {
		return nil, fmt.Errorf("unknown encoding %q; valid: hex, base64", cfg.Encoding)
	}
	return &headerHMAC{
		header:  cfg.Header,
		prefix:  cfg.Prefix,
		base64:  encoding == "base64",
		several: true,
		keys:    newHMACKeys(newHash, cfg.Secrets),
	}, nil
}

// verify checks the header's signature, or for "hmac" each of the
// comma-separated signatures it holds (adnanh/webhook's senders list one
// per active secret): the hook passes when any of them matches.
func (s *headerHMAC) verify(r *Request, _ time.Time) error {
	v := r.Header.Get(s.header)
	if v == "" {
		return missing(s.header)
	}
	values := []string{v}
	if s.several && strings.Contains(v, ",") {
		values = strings.Split(v, ",")
		if len(values) > maxSignatures {
			return errorf(ErrInvalid, "%s holds more than %d signatures", s.header, maxSignatures)
		}
	}
	var decoded [maxSignatures][]byte // set by index, not appended, to stay on the stack
	var room [2 * sha512.Size]byte    // the digests, for one or two of them
	digests := room[:0]
	for i, value := range values {
		digest, ok := strings.CutPrefix(strings.TrimSpace(value), s.prefix)
		if !ok && !s.prefixOptional {
			return errorf(ErrInvalid, "%s lacks the %q prefix", s.header, s.prefix)
		}
		var err error
		if digests, err = appendDigest(digests, digest, s.base64, s.keys.size, s.header); err != nil {
			return err
		}
		decoded[i] = digests[len(digests)-s.keys.size:]
	}
	sigs := decoded[:len(values)]
	signed, err := s.signed(r)
	if err != nil {
		return err
	}
	if !s.keys.match(sigs, signed) {
		return errorf(ErrInvalid, "%s does not match the body", s.header)
	}
	return nil
}

func (s *headerHMAC) sign(r *Request, _ time.Time) (http.Header, error) {
	signed, err := s.signed(r)
	if err != nil {
		return nil, err
	}
	mac := s.keys.sum(0, signed)
	digest := hex.EncodeToString(mac)
	if s.base64 {
		digest = base64.StdEncoding.EncodeToString(mac)
	}
	h := http.Header{}
	h.Set(s.header, s.prefix+digest)
	return h, nil
}

// signed is the content the sender signs: the raw body, or for Gitea and
// Forgejo form deliveries the JSON of the "payload" field.
func (s *headerHMAC) signed(r *Request) ([]byte, error) {
	if !s.formPayload || mediaType(r.Header) != "application/x-www-form-urlencoded" {
		return r.Body, nil
	}
	v, err := formValues(r, "payload")
	if err != nil {
		return nil, err
	}
	return []byte(v[0]), nil
}
