package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
)

var update = flag.Bool("update", false, "rewrite the adapt golden files from the adapter's output")

// goldenSeparator divides a golden file's Caddyfile from its JSON.
const goldenSeparator = "\n----------\n"

// TestAdaptGolden adapts each testdata/adapt/*.txt Caddyfile and compares
// the JSON with the one the file holds (the caddy-l4 convention).
func TestAdaptGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "adapt", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, want, ok := strings.Cut(string(raw), goldenSeparator)
			if !ok {
				t.Fatalf("no %q separator", strings.TrimSpace(goldenSeparator))
			}
			if *update {
				writeGolden(t, file, caddyfile)
				return
			}
			if !caddytest.CompareAdapt(t, file, caddyfile+"\n", "caddyfile", strings.TrimRight(want, "\n")) {
				t.Error("adapted JSON differs from the golden file")
			}
		})
	}
}

// TestAdaptExample adapts Caddyfile.example, the file `make run` serves.
func TestAdaptExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "Caddyfile.example.json")
	if *update {
		os.WriteFile(golden, adapt(t, string(raw)), 0o644)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !caddytest.CompareAdapt(t, "Caddyfile.example", string(raw), "caddyfile", strings.TrimRight(string(want), "\n")) {
		t.Error("Caddyfile.example adapts differently from its golden JSON")
	}
}

// adapt turns a Caddyfile into indented JSON.
func adapt(t *testing.T, caddyfile string) []byte {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	json.Indent(&buf, out, "", "\t")
	buf.WriteByte('\n')
	return buf.Bytes()
}

// writeGolden rewrites a golden file with the adapter's current output.
func writeGolden(t *testing.T, file, caddyfile string) {
	if err := os.WriteFile(file, append([]byte(caddyfile+goldenSeparator), adapt(t, caddyfile+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
}
