package api

import (
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// seedCurl is one curl example of a seed document, as written there.
type seedCurl struct {
	method, url string
	header      map[string]string
	body        string
}

// seedCurls reads the curl examples of a seed document (../shared/seeds),
// so that tests send exactly what the vendor's docs tell users to send.
func seedCurls(t *testing.T, name string) []seedCurl {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hooktest.SharedTestdata, "..", "seeds", name))
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	text := string(b)
	var out []seedCurl
	for {
		i := strings.Index(text, "curl ")
		if i < 0 {
			return out
		}
		args, rest := shellWords(text[i+len("curl "):])
		text = rest
		if len(args) == 0 || (!strings.HasPrefix(args[0], "-") && !strings.HasPrefix(args[0], "http")) {
			continue // "curl" in prose
		}
		c := seedCurl{method: "GET", header: map[string]string{}}
		for j := 0; j < len(args); j++ {
			switch a := args[j]; a {
			case "--location":
			case "--request", "-X":
				j++
				c.method = args[j]
			case "--url":
				j++
				c.url = args[j]
			case "--header", "-H":
				j++
				k, v, _ := strings.Cut(args[j], ":")
				c.header[strings.TrimSpace(k)] = strings.TrimSpace(v)
			case "--data", "--data-raw", "-d":
				j++
				c.body = args[j]
				if end := strings.LastIndexByte(c.body, '}'); end >= 0 {
					c.body = c.body[:end+1] // a flattened page runs the prose on after the quote
				}
				if c.method == "GET" {
					c.method = "POST"
				}
			default:
				if c.url == "" {
					c.url = a // the rest of a flattened page's line is prose
				}
			}
		}
		out = append(out, c)
	}
}

// shellWords splits a command line as a POSIX shell does for the quoting
// the seeds use (single quotes, backslash-newline, and backslash-space
// where a page flattened the lines), up to the end of the command, with
// <placeholders> kept as one word; it returns the words and the text after
// the command.
func shellWords(s string) ([]string, string) {
	var words []string
	var word strings.Builder
	inWord, quoted, angle := false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			word.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == ' '):
			i++
		case angle || c == '<':
			angle = c != '>'
			word.WriteByte(c)
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
			if c == '\n' {
				return words, s[i+1:]
			}
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, ""
}

// send sends a seed's curl example to the test API: its vendor's host is
// apiBase, each placeholder of replace (such as {integrationId}) is
// replaced in the URL and headers, and a request that carries no
// Authorization gets the write token (the vendors' docs leave it out of
// some examples; hookgate's API is never open).
func (c seedCurl) send(t *testing.T, tester *caddytest.Tester, replace map[string]string) (int, http.Header, string) {
	t.Helper()
	u, err := url.Parse(c.url)
	if err != nil {
		t.Fatalf("seed URL %q: %v", c.url, err)
	}
	target := apiBase + u.RequestURI()
	header := map[string]string{}
	for k, v := range c.header {
		header[k] = v
	}
	for placeholder, value := range replace {
		target = strings.ReplaceAll(target, url.PathEscape(placeholder), value)
		target = strings.ReplaceAll(target, placeholder, value)
		for k, v := range header {
			header[k] = strings.ReplaceAll(v, placeholder, value)
		}
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(header)), func(k string) bool { return strings.EqualFold(k, "Authorization") }) {
		header["Authorization"] = "Bearer " + writeToken
	}
	var body []byte
	if c.body != "" {
		body = []byte(c.body)
	}
	return hooktest.Post(t, tester.Client, c.method, target, body, header)
}
