package hook

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
)

// maxFormFields bounds the text fields read from a multipart body.
const maxFormFields = 1000

// Payload returns the JSON document of a hook's body. JSON bodies are
// returned as they are (no copy). Form bodies
// (application/x-www-form-urlencoded and multipart/form-data) are handled
// as providers send them: the JSON in the "payload" field (GitHub, Slack
// interactivity), or else the text fields themselves as a JSON object of
// strings (Slack slash commands, Twilio); file parts are not variables.
// The signature has already been checked over the raw body; this only
// decides what variables and conditions read.
func Payload(contentType string, body []byte) []byte {
	if !mentionsForm(contentType) {
		return body // JSON, or anything else that is not a form: no parsing
	}
	mediaType, params, _ := mime.ParseMediaType(contentType)
	var form url.Values
	switch mediaType {
	case "application/x-www-form-urlencoded":
		var err error
		if form, err = url.ParseQuery(string(body)); err != nil {
			return body
		}
	case "multipart/form-data":
		var ok bool
		if form, ok = multipartFields(body, params["boundary"]); !ok {
			return body
		}
	default:
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

// mentionsForm reports, without allocating, whether a content type holds
// "form" in any case: every form media type does, and most hooks are JSON.
func mentionsForm(contentType string) bool {
	if contentType == "application/json" {
		return false // most hooks
	}
	for i := 0; i+4 <= len(contentType); i++ {
		if strings.EqualFold(contentType[i:i+4], "form") {
			return true
		}
	}
	return false
}

// multipartFields reads the text fields of a multipart/form-data body
// (parts with a form name and no file name). It reports false for a body
// that is not well-formed multipart.
func multipartFields(body []byte, boundary string) (url.Values, bool) {
	if boundary == "" {
		return nil, false
	}
	form := url.Values{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for range maxFormFields {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, true
		}
		if err != nil {
			return nil, false
		}
		name := part.FormName()
		if name == "" || part.FileName() != "" {
			continue
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return nil, false
		}
		form.Add(name, string(value))
	}
	return form, true
}
