package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalAPICaddyfileErrors(t *testing.T) {
	for _, c := range []struct {
		input string
		line  int
		want  string
	}{
		{"hookgate_api", 1, "needs at least one `token <value> read|write`"},
		{"hookgate_api {\n token abc\n}", 2, "token: want <value> read|write"},
		{"hookgate_api {\n token abc admin\n}", 2, `token: access "admin": want read or write`},
		{"hookgate_api {\n user x\n}", 2, `unknown hookgate_api option "user"`},
		{"hookgate_api x {\n token a read\n}", 1, "wrong argument count"},
		{"hookgate_api {\n token a read\n organisation\n}", 3, "organisation: want <name>"},
		{"hookgate_api {\n token a read\n organisation a b\n}", 3, "organisation: want <name>"},
		{"hookgate_api {\n token a read\n ui on\n}", 3, "ui: want `ui off`"},
	} {
		err := new(APIHandler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
		at := fmt.Sprintf(", at Testfile:%d", c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), at) {
			t.Errorf("%q:\n got %v\nwant %s...%s", c.input, err, c.want, at)
		}
	}
}
