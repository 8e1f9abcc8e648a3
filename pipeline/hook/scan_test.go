package hook

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// classifiers are the versions of classify this CPU runs.
var classifiers = map[string]func([]byte, []uint64) bool{"classify": classify, "classifyWords": classifyWords}

// TestClassify: each version of classify this CPU runs gives the same
// masks as a byte-at-a-time reading, for every byte value at every
// position of a block, and for random bodies.
func TestClassify(t *testing.T) {
	check := func(src []byte) {
		t.Helper()
		n := len(src) / blockSize
		want := make([]uint64, n*masksPerBlock)
		wantHigh := false
		for i, c := range src[:n*blockSize] {
			m := want[i/blockSize*masksPerBlock:]
			bit := uint64(1) << (i % blockSize)
			switch {
			case c == '"':
				m[quoteMask] |= bit
			case c == '\\':
				m[backslashMask] |= bit
			case c == '{' || c == '}' || c == '[' || c == ']':
				m[bracketMask] |= bit
			case c < 0x20:
				m[controlMask] |= bit
			}
			wantHigh = wantHigh || c >= utf8.RuneSelf
		}
		for blk := 0; blk < len(want); blk += masksPerBlock {
			want[blk+quoteParity] = prefixXor(want[blk+quoteMask])
		}
		for name, f := range classifiers {
			got := make([]uint64, len(want))
			if high := f(src, got); !slices.Equal(got, want) || high != wantHigh {
				t.Fatalf("%s(%q) = %x %v, want %x %v", name, src, got, high, want, wantHigh)
			}
		}
	}
	block := make([]byte, 3*blockSize)
	for c := range 256 {
		for i := range block {
			block[i] = 'a'
		}
		for pos := range len(block) {
			block[pos] = byte(c)
			if pos%7 == 0 || c < 0x80 {
				check(block)
			}
			block[pos] = 'a'
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		src := make([]byte, r.IntN(20)*blockSize)
		for i := range src {
			src[i] = `"\{}[]a 	\x00é`[r.IntN(14)]
		}
		check(src)
	}
}

func TestScanJSON(t *testing.T) {
	// Bodies that checkJSON takes: scanJSON takes them too, and notes the
	// same members.
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":{"b":[1,{"c":"}]\"{["}]},"d":"x\\","e":[]}`,
		`{"ref": "refs/heads/main", "commits": [{"id": "é", "n": [1, 2.5, null]}], "x": true, "y": null, "z": -1e5}`,
		`[1,2]`, `"text"`, `3`,
		`{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`,
		`{"k\"ey":{"a":1},"b":"` + strings.Repeat(`\\`, 100) + `","c":{"d":"` + strings.Repeat(`\"`, 70) + `"}}`,
	} {
		var want, got members
		if err := checkJSON([]byte(s), &want); err != nil {
			t.Fatalf("checkJSON(%.40q) = %v", s, err)
		}
		if _, err := scanJSON([]byte(s), &got); err != nil {
			t.Errorf("scanJSON(%.40q) = %v, want nil", s, err)
		} else if !sameMembers(got, want) {
			t.Errorf("scanJSON(%.40q) noted %+v, want %+v", s, got.at[:got.n], want.at[:want.n])
		}
	}
	// What scanJSON refuses, wherever it is in the body.
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	for _, c := range []struct{ body, reason string }{
		{``, "end"}, {`ref=x`, "invalid value"}, {`{`, "end"}, {`{"a":1,}`, "key"}, {`{"a" 1}`, ":"},
		{`{1:2}`, "key"}, {`{"a":1 "b":2}`, "want , or }"}, {`{"a":tru}`, "true"}, {`{"a":01}`, "want , or }"},
		{`{"a":1}x`, "after"}, {`{} {}`, "after"}, {`{"a":{"b":1]}`, "want , or }"}, {`{"a":[1}}`, "want , or ]"},
		{`{"a":{"b":[1,2]}`, "end"}, {`{"a":"x}`, "unterminated"}, {`{"a":{"b":"x}}`, "unterminated"},
		{`{"a":{"b":"\x"}}`, "escape"}, {`{"a":["\u12g4"]}`, `\u`}, {"{\"a\":{\"b\":\"x\ty\"}}", "control"},
		{"{\"a\":{\"b\":\"\xff\"}}", "UTF-8"}, {"{\"a\":[\"\xed\xa0\x80\"]}", "UTF-8"},
		{`{"a":` + deep + `}`, "deeper than 128"}, {`{"a":` + strings.Repeat("[", 100_000), "deeper than 128"},
		{`{"a":[]]}`, "want , or }"}, {`{"a":1}}`, "after"},
	} {
		var top members
		_, err := scanJSON([]byte(c.body), &top)
		var je *JSONError
		if !errors.As(err, &je) || !strings.Contains(je.Error(), c.reason) {
			t.Errorf("scanJSON(%.50q) = %v, want an error naming %q", c.body, err, c.reason)
		}
	}
	// What it leaves to the reading of a value: the grammar inside an
	// object or array member that it steps over (where it scans blocks).
	if !blockScan {
		t.Log("no block scan on this CPU: every body is checked whole")
		return
	}
	for _, s := range []string{`{"a":{"b":1,}}`, `{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"ref":"x","a":[tru]}`} {
		var top members
		if partial, err := scanJSON([]byte(s), &top); err != nil || !partial {
			t.Errorf("scanJSON(%q) = %v, %v, want a partial scan: the inside of a is checked when it is read", s, partial, err)
		}
	}
}

// sameMembers reports whether two notes hold the same members.
func sameMembers(a, b members) bool {
	return a.complete == b.complete && a.n == b.n && slices.Equal(a.at[:a.n], b.at[:b.n])
}

// TestScanJSONPayloads: every real provider payload passes, with the
// notes checkJSON takes.
func TestScanJSONPayloads(t *testing.T) {
	for _, f := range providerPayloads(t) {
		var want, got members
		if err := checkJSON(f.body, &want); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if _, err := scanJSON(f.body, &got); err != nil || !sameMembers(got, want) {
			t.Errorf("%s: scanJSON = %v, notes equal: %v", f.name, err, sameMembers(got, want))
		}
	}
}

// TestScanJSONAllocates nothing on a valid body.
func TestScanJSONAllocates(t *testing.T) {
	body := []byte(`{"ref": "refs/heads/main", "commits": [{"id": "é", "n": [1, 2.5, null]}]}`)
	var top members
	if n := testing.AllocsPerRun(100, func() { _, _ = scanJSON(body, &top) }); n != 0 {
		t.Errorf("scanJSON allocates %.0f times per body", n)
	}
}

// FuzzScanJSON: scanJSON takes every body checkJSON takes, with the same
// notes; a body it checks whole it takes only if checkJSON does; and a
// body it takes whose top-level members all pass CheckJSON
// passes CheckJSON too, so that what it steps over is exactly what the
// reading of a value checks. It never takes invalid UTF-8.
func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, "x", null]}`, `{"a":{"b":"}\\"{"}}`, "{\"a\":\"\xff\"}", `{"a":1,}`,
		`{"a":[1 2]}`, `{"a":"\\\\\\"}`, `{"k":"` + strings.Repeat(`\\`, 40) + `"}`,
		"{\n  \"url\": \"https://api.github.com/repos/é/\\u00e9\",\n        \"n\": [0.5, \"0123456789abcdef\"]\n}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got members
		full := checkJSON(b, &want)
		partial, scan := scanJSON(b, &got)
		switch {
		case full == nil && scan != nil:
			t.Fatalf("scanJSON(%q) = %v, but checkJSON takes it", b, scan)
		case !partial && scan == nil && full != nil:
			t.Fatalf("scanJSON(%q) checked it whole and took it, but checkJSON says %v", b, full)
		case full == nil && !sameMembers(got, want):
			t.Fatalf("scanJSON(%q) noted %+v, checkJSON %+v", b, got.at[:got.n], want.at[:want.n])
		case scan == nil && !utf8.Valid(b):
			t.Fatalf("scanJSON(%q) took invalid UTF-8", b)
		case scan == nil && full != nil && got.complete:
			for _, m := range got.at[:got.n] {
				if CheckJSON(b[m.start:m.end]) != nil {
					return // a value that its reading refuses
				}
			}
			if json.Valid(b) {
				return // valid, only nested deeper than MaxDepth
			}
			t.Fatalf("scanJSON(%q) took it and each member is valid, but checkJSON says %v", b, full)
		}
	})
}

// BenchmarkScanJSON compares scanJSON with checkJSON on GitHub's 8.8 KB
// push body.
func BenchmarkScanJSON(b *testing.B) {
	body := githubPush(b)
	var top members
	for _, c := range []struct {
		name string
		f    func([]byte, *members) error
	}{{"scanJSON", func(b []byte, top *members) error { _, err := scanJSON(b, top); return err }}, {"checkJSON", checkJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := c.f(body, &top); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScanPayloadChecksWhatIsRead: after ScanPayload, a value that a
// variable or the condition reads is checked whole; one that is not JSON
// is read as absent and told by Invalid, with its offset in the body.
func TestScanPayloadChecksWhatIsRead(t *testing.T) {
	body := `{"ref":"main","a":{"ok":[1,2],"bad":[1 2]}}`
	e, err := NewExtractor([]Variable{{Name: "ref", Path: "ref"}, {Name: "ok", Path: "a.ok", Type: JSON}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Payload: []byte(body)}
	if err := r.ScanPayload(); err != nil {
		t.Fatalf("ScanPayload = %v: the bad value is inside a member", err)
	}
	if vars, errs := e.Extract(r); errs != nil || r.Invalid() != nil || vars["ref"] != "main" {
		t.Fatalf("Extract = %v %v, Invalid %v", vars, errs, r.Invalid())
	}

	cond, err := CompileCondition(`body.a.bad == nil`, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cond.Eval(r)
	var je *JSONError
	if !errors.As(r.Invalid(), &je) || je.Offset != strings.Index(body, "2]}}") {
		t.Errorf("after reading a.bad, Invalid = %v, want an error at byte %d", r.Invalid(), strings.Index(body, "2]}}"))
	}
}
