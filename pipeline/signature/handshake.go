package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tidwall/gjson"
)

// Handshake answers a provider's check of the endpoint: Slack's
// url_verification, Zoom's endpoint.url_validation and Discord's PING. Call it
// only after Verify accepted r. It returns the JSON to answer with 200, or
// false when r is an ordinary hook.
func (v *Verifier) Handshake(r *Request) (answer []byte, ok bool) {
	switch v.name {
	case "slack":
		f := gjson.GetManyBytes(r.Body, "type", "challenge")
		if f[0].String() != "url_verification" || !f[1].Exists() {
			return nil, false
		}
		return marshal(struct {
			Challenge string `json:"challenge"`
		}{f[1].String()})
	case "zoom":
		f := gjson.GetManyBytes(r.Body, "event", "payload.plainToken")
		if f[0].String() != "endpoint.url_validation" || f[1].String() == "" {
			return nil, false
		}
		mac := hmac.New(sha256.New, []byte(v.first))
		mac.Write([]byte(f[1].String()))
		return marshal(struct {
			PlainToken     string `json:"plainToken"`
			EncryptedToken string `json:"encryptedToken"`
		}{f[1].String(), hex.EncodeToString(mac.Sum(nil))})
	case "discord":
		if gjson.GetBytes(r.Body, "type").Raw != "1" {
			return nil, false
		}
		return marshal(struct {
			Type int `json:"type"`
		}{1})
	}
	return nil, false
}

// marshal encodes an answer; the answers are structs of strings and ints,
// which always encode.
func marshal(answer any) ([]byte, bool) {
	b, err := json.Marshal(answer)
	return b, err == nil
}
