package action

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The file placeholders of exec arguments: {file:payload},
// {file:vars.<name>} and {file:base64:vars.<name>}.
const (
	fileSource   = "file"
	filePayload  = "payload"
	fileVar      = "vars."
	fileBase64   = "base64:vars."
	filePrefix   = fileSource + ":"
	maxEnvValue  = 32 << 10  // a variable longer than this goes into a file, not the environment
	maxArgLength = 128 << 10 // Linux's MAX_ARG_STRLEN: no argument or environment string may be this long
)

// parseFileKey checks the key of a {file:<key>} placeholder and returns
// the variable it names ("" for the payload).
func parseFileKey(key string) (string, error) {
	name, ok := strings.CutPrefix(key, fileBase64)
	if !ok {
		name, ok = strings.CutPrefix(key, fileVar)
	}
	switch {
	case key == filePayload:
		return "", nil
	case !ok || name == "":
		return "", fmt.Errorf("{file:%s}: want {file:payload}, {file:vars.<name>} or {file:base64:vars.<name>}", key)
	}
	return name, nil
}

// FileVariables returns the variables the plan's steps pass as files
// ({file:vars.<name>}, {file:base64:vars.<name>}), so that a hook that
// triggers the pipeline can check it has them.
func (p *Plan) FileVariables() map[string]string {
	vars := map[string]string{}
	for _, s := range p.steps {
		for _, t := range s.argv {
			for _, seg := range t {
				if seg.source == fileSource && seg.key != filePayload {
					name, _ := parseFileKey(seg.key)
					vars[name] = s.name
				}
			}
		}
	}
	return vars
}

// stepFiles are the private temporary files of one exec step, in a
// directory of their own (mode 0700, each file 0600), removed when the
// step ends, however it ends.
type stepFiles struct {
	dir string
	n   int
	// err is the first error making a file, which fails the step.
	err error
}

// path writes the value a file placeholder stands for to a new file and
// returns its path ("" once an error occurred).
func (f *stepFiles) path(key string, a *Action) string {
	if f.err != nil {
		return ""
	}
	var content []byte
	switch name, _ := parseFileKey(key); {
	case key == filePayload:
		content = a.Payload
	case strings.HasPrefix(key, fileBase64):
		decoded, err := decodeBase64(FormatValue(a.Variables[name]))
		if err != nil {
			f.err = fmt.Errorf("{file:%s}: the value of %s is not valid base64", key, name)
			return ""
		}
		content = decoded
	default:
		content = []byte(FormatValue(a.Variables[name]))
	}
	return f.write(strings.ReplaceAll(key, ":", "-"), content)
}

// write puts content into a new file of the step named after what it
// holds, and returns its path.
func (f *stepFiles) write(what string, content []byte) string {
	if f.dir == "" {
		dir, err := os.MkdirTemp("", "hookgate-step-")
		if err != nil {
			f.err = fmt.Errorf("making the step's temporary directory: %v", err)
			return ""
		}
		f.dir = dir
	}
	f.n++
	path := filepath.Join(f.dir, fmt.Sprintf("%d-%s", f.n, what))
	if err := os.WriteFile(path, content, 0o600); err != nil {
		f.err = fmt.Errorf("writing a temporary file: %v", err)
		return ""
	}
	return path
}

// remove deletes the step's files.
func (f *stepFiles) remove() {
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// decodeBase64 decodes standard or URL-safe base64, padded or not, and
// ignores line breaks (as base64 tools wrap their output).
func decodeBase64(s string) ([]byte, error) {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(strings.TrimSpace(s))
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
