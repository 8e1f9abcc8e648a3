package hook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// sharedPayloads is ../shared/testdata/payloads beside the repository.
var sharedPayloads = filepath.Join("..", "..", "..", "shared", "testdata", "payloads")

// payloadFile is one of the real provider payloads.
type payloadFile struct {
	name string
	body []byte
}

// providerPayloads are the real provider payloads, by name; without them
// beside the repository the test is skipped, saying why.
func providerPayloads(tb testing.TB) []payloadFile {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(sharedPayloads, "*.json"))
	if len(files) == 0 {
		tb.Skip("no shared payloads beside the repository")
	}
	var out []payloadFile
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, payloadFile{filepath.Base(f), body})
	}
	return out
}

// githubPush is GitHub's 8.8 KB push payload, the body of the benchmarks;
// without it beside the repository the benchmark is skipped, saying why.
func githubPush(tb testing.TB) []byte {
	tb.Helper()
	body, err := os.ReadFile(filepath.Join(sharedPayloads, "github-push.json"))
	if err != nil {
		tb.Skip("no shared payloads beside the repository")
	}
	return body
}

func TestCheckJSON(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObject := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	valid := []string{
		`{}`, `[]`, ` {"a": [1, -2.5e+3, 0, 0.1E-2, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} `,
		`"text"`, `0`, `-0`, `1e5`, `"héllo wörld ✓ 🚀"`, `{"a":{},"b":[],"c":[{}]}`,
		deep(MaxDepth), deepObject(MaxDepth), `[` + deep(MaxDepth-1) + `,` + deep(MaxDepth-1) + `]`,
	}
	for _, s := range valid {
		if err := CheckJSON([]byte(s)); err != nil {
			t.Errorf("CheckJSON(%.40q) = %v, want nil", s, err)
		}
	}
	invalid := []struct{ body, reason string }{
		{``, "end"}, {` `, "end"}, {`{`, "key"}, {`[`, "end"}, {`[1,]`, "invalid value"}, {`{"a":1,}`, "key"},
		{`{"a" 1}`, ":"}, {`{1:2}`, "key"}, {`[1 2]`, "]"}, {`{"a":1]`, "}"}, {`[1}`, "]"},
		{`01`, "after"}, {`1.`, "decimal"}, {`1e`, "exponent"}, {`-`, "invalid value"}, {`+1`, "invalid value"},
		{`tru`, "true"}, {`nul`, "null"}, {`"abc`, "unterminated"}, {`"a\x"`, "escape"}, {`"\u12g4"`, `\u`},
		{"\"a\tb\"", "control"}, {"\"a\x00b\"", "control"},
		{"\"\xff\"", "UTF-8"}, {"{\"a\xc3\": 1}", "UTF-8"}, {"\"\xed\xa0\x80\"", "UTF-8"}, {"\"\xc0\xaf\"", "UTF-8"},
		{`{} {}`, "after"}, {"\xef\xbb\xbf{}", "invalid value"},
		{deep(MaxDepth + 1), "deeper than 128"}, {deepObject(MaxDepth + 1), "deeper than 128"},
		{strings.Repeat("[", 100_000), "deeper than 128"},
	}
	for _, c := range invalid {
		err := CheckJSON([]byte(c.body))
		var je *JSONError
		if !errors.As(err, &je) || !strings.Contains(je.Error(), c.reason) {
			t.Errorf("CheckJSON(%.40q) = %v, want an error naming %q", c.body, err, c.reason)
		}
	}
}

// TestCheckJSONWords puts each kind of special byte at every position of
// the words that strings and indentation are read in, and checks that the
// answer and its offset are those of the byte-at-a-time reading.
func TestCheckJSONWords(t *testing.T) {
	for n := range 20 {
		pad := strings.Repeat("a", n)
		tail := strings.Repeat("b", 20-n)
		for _, c := range []struct {
			special, reason string // reason "" when the string is valid
			offset          int    // of the error, from the special byte
		}{
			{`\n`, "", 0}, {`\u00e9`, "", 0}, {"é", "", 0}, {"🚀", "", 0}, {"\x7f", "", 0},
			{"\x00", "control", 0}, {"\x1f", "control", 0}, {"\n", "control", 0},
			{"\xff", "UTF-8", 0}, {"\xc3(", "UTF-8", 0}, {`\x`, "invalid escape", 1}, {`\u0g00`, `\u`, 3},
			{`"`, "after the JSON value", 1},
		} {
			body := `"` + pad + c.special + tail + `"`
			err := CheckJSON([]byte(body))
			var je *JSONError
			switch {
			case c.reason == "" && err != nil:
				t.Errorf("CheckJSON(%q) = %v, want nil", body, err)
			case c.reason != "" && (!errors.As(err, &je) || !strings.Contains(je.Reason, c.reason) || je.Offset != 1+n+c.offset):
				t.Errorf("CheckJSON(%q) = %v, want %q at byte %d", body, err, c.reason, 1+n+c.offset)
			}
		}
		indent := "\n" + strings.Repeat(" ", n)
		body := "[" + indent + "1," + indent + "x]"
		var je *JSONError
		if err := CheckJSON([]byte(body)); !errors.As(err, &je) || je.Offset != len(body)-2 {
			t.Errorf("CheckJSON(%q) = %v, want an error at byte %d", body, err, len(body)-2)
		}
		if err := CheckJSON([]byte("[" + indent + "1" + indent + "]" + indent)); err != nil {
			t.Errorf("CheckJSON with %d spaces of indentation = %v", n, err)
		}
	}
}

// TestCheckJSONPayloads: every real provider payload passes.
func TestCheckJSONPayloads(t *testing.T) {
	for _, p := range providerPayloads(t) {
		if err := CheckJSON(p.body); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
	}
}

// TestCheckJSONAllocates nothing on a valid body.
func TestCheckJSONAllocates(t *testing.T) {
	body := []byte(`{"ref": "refs/heads/main", "commits": [{"id": "é", "n": [1, 2.5, null]}]}`)
	if n := testing.AllocsPerRun(100, func() { _ = CheckJSON(body) }); n != 0 {
		t.Errorf("CheckJSON allocates %.0f times per body", n)
	}
}

// FuzzCheckJSON: CheckJSON accepts exactly the bodies that
// encoding/json takes as valid, in valid UTF-8, nested at most MaxDepth.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, "x", null]}`, `[[[]]]`, "\"\xff\"", `{"a":1,}`, `1e+5`, `"\u00e9\n"`, `-0.0e-0`,
		"{\n  \"url\": \"https://api.github.com/repos/é/\\u00e9\",\n        \"n\": [0.5, \"0123456789abcdef\"]\n}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckJSON(b)
		want := json.Valid(b) && utf8.Valid(b)
		if err == nil && !want {
			t.Fatalf("CheckJSON(%q) = nil; json.Valid %v, utf8.Valid %v", b, json.Valid(b), utf8.Valid(b))
		}
		if err != nil && want && !strings.Contains(err.Error(), "deeper than") {
			t.Fatalf("CheckJSON(%q) = %v, but it is valid JSON in UTF-8", b, err)
		}
	})
}

// BenchmarkCheckJSON compares the one-pass check with the validity pass
// it replaces (gjson.ValidBytes, which checks neither UTF-8 nor depth),
// on GitHub's 8.8 KB push body.
func BenchmarkCheckJSON(b *testing.B) {
	body := githubPush(b)
	b.Run("CheckJSON", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if CheckJSON(body) != nil {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("gjson.ValidBytes", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !gjson.ValidBytes(body) {
				b.Fatal("invalid")
			}
		}
	})
}
