package caddymodule

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// TestREADMECaddyfiles loads every Caddyfile snippet of README.md the way
// `caddy validate` does: adapted, then every module provisioned (its
// conditions compiled, its variables and webhooks checked, its storage
// opened) without listening. A fragment (a directive or a step) is put
// into a site or a pipeline first, and `{ ... }` into a pipeline of one
// step, with the pipelines a fragment names. The environment variables a
// snippet reads are set (to a value that is also a Standard Webhooks
// secret), the database URL to a schema of the test PostgreSQL; without a
// server, that snippet is skipped, saying why.
func TestREADMECaddyfiles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets := readmeCaddyfiles(string(raw))
	if len(snippets) < 8 {
		t.Fatalf("found %d caddyfile snippets in README.md, want at least 8", len(snippets))
	}
	for _, s := range snippets {
		t.Run(fmt.Sprintf("line %d", s.line), func(t *testing.T) {
			t.Setenv("XDG_DATA_HOME", t.TempDir())
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			for _, name := range envNames.FindAllStringSubmatch(s.text, -1) {
				value := "whsec_cmVhZG1lLXNlY3JldC0wMTIzNDU2Nzg5" // "readme-secret-0123456789"
				if name[1] == "DATABASE_URL" {
					value = storetest.PostgresDSN(t)
				}
				t.Setenv(name[1]+name[2], value)
			}
			t.Setenv("PORT", "9980")
			adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(s.whole()), nil)
			if err != nil {
				t.Fatalf("adapting:\n%s\n%v", s.whole(), err)
			}
			for _, w := range warnings {
				t.Logf("warning: %s", w.String())
			}
			var cfg caddy.Config
			if err := json.Unmarshal(adapted, &cfg); err != nil {
				t.Fatal(err)
			}
			if err := caddy.Validate(&cfg); err != nil {
				t.Errorf("loading:\n%s\n%v", s.whole(), err)
			}
		})
	}
}

// envNames are the environment variables a snippet reads: {env.NAME}
// when it is provisioned, {$NAME} when it is parsed.
var envNames = regexp.MustCompile(`\{env\.([A-Z_][A-Z0-9_]*)\}|\{\$([A-Z_][A-Z0-9_]*)\}`)

// readmeSnippet is a ```caddyfile block of the README, at line.
type readmeSnippet struct {
	line int
	text string
}

// readmeCaddyfiles are the ```caddyfile blocks of a Markdown text.
func readmeCaddyfiles(md string) []readmeSnippet {
	var out []readmeSnippet
	var cur *readmeSnippet
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```caddyfile":
			cur = &readmeSnippet{line: i + 1}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}

// whole is the snippet as a Caddyfile of its own.
func (s readmeSnippet) whole() string {
	text := strings.ReplaceAll(s.text, "{ ... }", "{\n\t\t\tstep s exec /bin/true\n\t\t}")
	first := ""
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			first = l
			break
		}
	}
	word, _, _ := strings.Cut(first, " ")
	switch {
	case word == "{" || strings.ContainsAny(word, ".:"): // global options or a site
		return text
	case word == "step":
		return "{\n\thookgate {\n\t\tpipeline p {\n" + text + "\t\t}\n\t}\n}\n"
	}
	var pipelines strings.Builder
	for _, name := range pipelineNames.FindAllStringSubmatch(text, -1) {
		fmt.Fprintf(&pipelines, "\t\tpipeline %s {\n\t\t\tstep s exec /bin/true\n\t\t}\n", name[1])
	}
	return "{\n\thookgate {\n" + pipelines.String() + "\t}\n}\nhttp://localhost:9980 {\n" + text + "}\n"
}

// pipelineNames are the pipelines a hook of a fragment triggers.
var pipelineNames = regexp.MustCompile(`(?m)^\s*pipeline (\S+)\s*$`)
