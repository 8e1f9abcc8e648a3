package hook

import (
	"encoding/json"
	"mime"
	"net/url"
)

// Payload returns the JSON document of a hook's body. JSON bodies are
// returned as they are (no copy). Form bodies
// (application/x-www-form-urlencoded) are handled as providers send them:
// the JSON in the "payload" field (GitHub, Slack interactivity), or else
// the form fields themselves as a JSON object of strings (Slack slash
// commands, Twilio). The signature has already been checked over the raw
// body; this only decides what variables and conditions read.
func Payload(contentType string, body []byte) []byte {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType != "application/x-www-form-urlencoded" {
		return body
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return body
	}
	if p, ok := form["payload"]; ok && len(p) > 0 {
		return []byte(p[0])
	}
	fields := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			fields[k] = v[0]
		}
	}
	doc, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return doc
}
