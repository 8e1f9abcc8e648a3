package hook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func ptr(s string) *string { return &s }

func TestExtractTypes(t *testing.T) {
	payload := []byte(`{"s":"text","n":42,"big":9007199254740993,"f":1.5,"b":true,"bs":"false","o":{"k":[1,2]},"nul":null,"ns":"17"}`)
	vars := []Variable{
		{Name: "s", Path: "s"},
		{Name: "n_as_string", Path: "n", Type: String},
		{Name: "n", Path: "n", Type: Int},
		{Name: "big", Path: "big", Type: Int},
		{Name: "ns", Path: "ns", Type: Int},
		{Name: "f", Path: "f", Type: Float},
		{Name: "b", Path: "b", Type: Bool},
		{Name: "bs", Path: "bs", Type: Bool},
		{Name: "o", Path: "o", Type: JSON},
		{Name: "first_k", Path: "o.k.0", Type: Int},
		{Name: "absent", Path: "nope", Default: ptr("main")},
		{Name: "nul", Path: "nul", Type: Int, Default: ptr("7")},
		{Name: "optional", Path: "nope", Type: Int},
		{Name: "ev", Path: "header:X-GitHub-Event"},
		{Name: "q", Path: "query:page", Type: Int},
	}
	e, err := NewExtractor(vars)
	if err != nil {
		t.Fatal(err)
	}
	if e.NeedsRemoteIP() {
		t.Error("NeedsRemoteIP without a request:remote_ip variable")
	}
	header := http.Header{"X-Github-Event": {"push"}}
	got, errs := e.Extract(&Request{Payload: payload, Header: header, Query: url.Values{"page": {"3"}}})
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]any{
		"s": "text", "n_as_string": "42", "n": int64(42), "big": int64(9007199254740993), "ns": int64(17),
		"f": 1.5, "b": true, "bs": false, "o": map[string]any{"k": []any{float64(1), float64(2)}},
		"first_k": int64(1), "absent": "main", "nul": int64(7), "optional": nil, "ev": "push", "q": int64(3),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestExtractErrors(t *testing.T) {
	e, err := NewExtractor([]Variable{
		{Name: "ref", Path: "ref", Required: true},
		{Name: "n", Path: "n", Type: Int},
		{Name: "f", Path: "f", Type: Float},
		{Name: "b", Path: "b", Type: Bool},
		{Name: "obj", Path: "obj"},
		{Name: "h", Path: "header:X-Count", Type: Int, Required: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := e.Extract(&Request{Payload: []byte(`{"n":1.5,"f":"x","b":3,"obj":{}}`), Header: http.Header{}})
	want := []VariableError{
		{Name: "ref", Reason: "missing"}, {Name: "n", Reason: "not int"}, {Name: "f", Reason: "not float"},
		{Name: "b", Reason: "not bool"}, {Name: "obj", Reason: "not string"}, {Name: "h", Reason: "missing"},
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("got %v, want %v", errs, want)
	}
}

func TestNewExtractorRejects(t *testing.T) {
	for _, c := range []struct {
		v    []Variable
		want string
	}{
		{[]Variable{{Name: "1x", Path: "a"}}, "name"},
		{[]Variable{{Name: "a-b", Path: "a"}}, "name"},
		{[]Variable{{Name: "a", Path: "a"}, {Name: "a", Path: "b"}}, "twice"},
		{[]Variable{{Name: "a", Path: "a", Type: "date"}}, "unknown type"},
		{[]Variable{{Name: "a", Path: "a..b"}}, "empty component"},
		{[]Variable{{Name: "a", Path: "header:"}}, "header name"},
		{[]Variable{{Name: "a", Path: "query:"}}, "parameter name"},
		{[]Variable{{Name: "a", Path: "a", Type: Int, Default: ptr("x")}}, "default"},
		{[]Variable{{Name: "a"}}, "no path and no default"},
		{[]Variable{{Name: "a", Path: "body:json"}}, "unknown source"},
		{[]Variable{{Name: "a", Path: "request:host"}}, "unknown source"},
		{[]Variable{{Name: "a", Path: "header:*", Type: Int}}, "json or string"},
		{[]Variable{{Name: "a", Path: "a", Type: Array, Default: ptr("{}")}}, "default"},
	} {
		_, err := NewExtractor(c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error about %q", c.v, err, c.want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"ref", "head_commit.id", "commits.0.id", "commits.#", `commits.#(id=="x").message`,
		"a\\.b", "friends.#(last=\"Murphy\")#.first", "@reverse", "[a,b]", "{a,b}", "a|b", "repository.owner.login"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a.#(b==1", "a)", "[a", `a.#(b=="x).c`, "a\\", "a||b", `"a"`} {
		if err := CheckPath(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestPayload(t *testing.T) {
	if got := string(Payload("application/json", []byte(`{"a":1}`))); got != `{"a":1}` {
		t.Errorf("json: %s", got)
	}
	form := "payload=" + url.QueryEscape(`{"ref":"main"}`)
	if got := string(Payload("application/x-www-form-urlencoded", []byte(form))); got != `{"ref":"main"}` {
		t.Errorf("form payload: %s", got)
	}
	if got := string(Payload("application/x-www-form-urlencoded; charset=utf-8", []byte("command=%2Fdeploy&text=now"))); got != `{"command":"/deploy","text":"now"}` {
		t.Errorf("form fields: %s", got)
	}
}

// BenchmarkExtractGitHubPush checks the 8.8 KB GitHub push payload and
// extracts the handler benchmark's three variables from it: with gjson
// searching the whole payload (CheckJSON, then Extract), through the
// notes of its top-level members that the whole check takes
// (checkJSON, then Extract), and through those of the block scan
// (ScanPayload, then Extract), as the handler does.
func BenchmarkExtractGitHubPush(b *testing.B) {
	payload := githubPush(b)
	e, err := NewExtractor([]Variable{
		{Name: "ref", Path: "ref", Required: true},
		{Name: "commit_hash", Path: "head_commit.id"},
		{Name: "repo", Path: "repository.full_name"},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("gjson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if CheckJSON(payload) != nil {
				b.Fatal("invalid")
			}
			if _, errs := e.Extract(&Request{Payload: payload}); errs != nil {
				b.Fatal(errs)
			}
		}
	})
	b.Run("notes", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			r := &Request{Payload: payload}
			if checkJSON(r.Payload, &r.top) != nil {
				b.Fatal("invalid")
			}
			if _, errs := e.Extract(r); errs != nil {
				b.Fatal(errs)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			r := &Request{Payload: payload}
			if r.ScanPayload() != nil {
				b.Fatal("invalid")
			}
			if _, errs := e.Extract(r); errs != nil || r.Invalid() != nil {
				b.Fatal(errs, r.Invalid())
			}
		}
	})
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","n":1,"o":{"a":[1,2]}}`), "ref")
	f.Add([]byte(`{"n":"x"}`), "n")
	f.Add([]byte(`not json`), "a.b")
	f.Add([]byte(`{"a":{"b":[{"c":true}]}}`), `a.b.#(c==true).c`)
	f.Fuzz(func(t *testing.T, payload []byte, path string) {
		if CheckPath(path) != nil {
			return
		}
		for _, typ := range Types {
			e, err := NewExtractor([]Variable{{Name: "v", Path: path, Type: typ}})
			if err != nil {
				t.Fatalf("a checked path was refused: %v", err)
			}
			vals, errs := e.Extract(&Request{Payload: payload, Body: payload})
			if errs == nil && len(vals) != 1 {
				t.Fatalf("no error and %d values", len(vals))
			}
		}
	})
}

func TestExtractSourcesAndNames(t *testing.T) {
	e, err := NewExtractor([]Variable{
		{Name: "type", Path: "type", Required: true},
		{Name: "count", Path: "count", Type: Int},
		{Name: "len", Path: "nope", Type: Int},
		{Name: "source_type", Default: ptr("branch")},
		{Name: "headers", Path: "header:*"},
		{Name: "query", Path: "query:*", Type: String},
		{Name: "raw", Path: "body:raw"},
		{Name: "method", Path: "request:method"},
		{Name: "ip", Path: "request:remote_ip"},
		{Name: "path", Path: "request:path"},
		{Name: "meta", Path: "meta", Type: JSON},
		{Name: "tags", Path: "tags", Type: Array},
		{Name: "tags_text", Path: "header:X-Tags", Type: Array},
		{Name: "nothing", Path: "nope", Type: JSON},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !e.NeedsRemoteIP() || !e.NeedsBody() {
		t.Errorf("NeedsRemoteIP %v, NeedsBody %v: both read", e.NeedsRemoteIP(), e.NeedsBody())
	}
	body := []byte(`{"type":"charge.succeeded","count":2,"meta":{"id":12345678901234567890,"f":1.5,"n":[-98765432109876543210,3]},"tags":["a"]}`)
	got, errs := e.Extract(&Request{
		Payload: body, Body: body, Method: "POST", RemoteIP: "192.0.2.1", Path: "/hooks/stripe",
		Header: http.Header{"X-Tags": {`[1,"b"]`}, "X-Event": {"x", "y"}, "Authorization": {"Bearer t"},
			"X-Hub-Signature-256": {"sha256=00"}, "X-Gitlab-Token": {"s"}, "Cookie": {"c=1"}},
		Query: url.Values{"a": {"1"}},
	})
	if errs != nil {
		t.Fatal(errs)
	}
	want := map[string]any{
		"type": "charge.succeeded", "count": int64(2), "len": nil, "source_type": "branch",
		"headers": map[string]any{"X-Tags": `[1,"b"]`, "X-Event": "x"}, "query": `{"a":"1"}`,
		"raw": string(body), "method": "POST", "ip": "192.0.2.1", "path": "/hooks/stripe",
		"meta": map[string]any{"id": json.Number("12345678901234567890"), "f": 1.5,
			"n": []any{json.Number("-98765432109876543210"), float64(3)}},
		"tags": []any{"a"}, "tags_text": []any{float64(1), "b"}, "nothing": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if b, _ := json.Marshal(got["meta"]); !strings.Contains(string(b), "12345678901234567890") {
		t.Errorf("big integer not exact: %s", b)
	}
	_, errs = e.Extract(&Request{Payload: []byte(`{"type":"x","tags":{"a":1}}`)})
	if !reflect.DeepEqual(errs, []VariableError{{Name: "tags", Reason: "not array"}}) {
		t.Errorf("array of an object: %v", errs)
	}
}

func TestPayloadMultipart(t *testing.T) {
	var b strings.Builder
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{\"ref\":\"main\"}\r\n")
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n\x00\x01\r\n--XyZ--\r\n")
	if got := string(Payload("multipart/form-data; boundary=XyZ", []byte(b.String()))); got != `{"ref":"main"}` {
		t.Errorf("multipart payload: %s", got)
	}
	fields := "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"x.txt\"\r\n\r\nnot a field\r\n--XyZ--\r\n"
	if got := string(Payload("multipart/form-data; boundary=XyZ", []byte(fields))); got != `{"text":"hello"}` {
		t.Errorf("multipart fields: %s", got)
	}
	if got := string(Payload("multipart/form-data; boundary=XyZ", []byte("garbage"))); got != "garbage" {
		t.Errorf("bad multipart: %s", got)
	}
}

func FuzzPayloadMultipart(f *testing.F) {
	f.Add("XyZ", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{\"a\":1}\r\n--XyZ--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n\r\n--b--"))
	f.Add("", []byte("--\r\n"))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		out := Payload("multipart/form-data; boundary="+strconv.Quote(boundary), body)
		if !bytes.Equal(out, body) && !gjson.ValidBytes(out) {
			t.Fatalf("neither the body nor JSON: %q", out)
		}
	})
}

func FuzzExtractSources(f *testing.F) {
	f.Add("X-Event", "push", "a=1&b=2", []byte(`{"a":1}`), "POST", "192.0.2.1")
	f.Add("", "", "%zz", []byte{0xff, 0xfe}, "", "::1")
	f.Fuzz(func(t *testing.T, header, value, query string, body []byte, method, ip string) {
		q, _ := url.ParseQuery(query)
		r := &Request{Header: http.Header{header: {value}}, Query: q, Body: body, Payload: body, Method: method, RemoteIP: ip}
		for _, path := range []string{"header:*", "query:*", "body:raw", "request:method", "request:remote_ip", "request:path", "header:" + header, "query:a"} {
			if header == "" && path == "header:" {
				continue
			}
			for _, typ := range Types {
				e, err := NewExtractor([]Variable{{Name: "v", Path: path, Type: typ}})
				if err != nil {
					continue
				}
				vals, errs := e.Extract(r)
				if errs == nil && len(vals) != 1 {
					t.Fatalf("%s %s: no error and %d values", path, typ, len(vals))
				}
				if _, err := json.Marshal(vals["v"]); err != nil {
					t.Fatalf("%s %s: value not JSON: %v", path, typ, err)
				}
			}
		}
	})
}

func TestPayloadFormCase(t *testing.T) {
	if got := string(Payload("Application/X-WWW-Form-Urlencoded", []byte("a=1"))); got != `{"a":"1"}` {
		t.Errorf("form in another case: %s", got)
	}
}
