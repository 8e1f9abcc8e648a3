package caddymodule

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/signature"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "hookgate",
		Usage: "sign|verify --preset <name> --secret <secret> [--url <url>]",
		Short: "Signs and verifies webhooks as providers do",
		Long: `
sign reads a body on stdin and prints the headers a provider would send
with it, one "Name: value" per line, ready for curl -H @file:

	caddy hookgate sign --preset github --secret S < body.json > headers.txt
	curl -H @headers.txt --data-binary @body.json http://127.0.0.1:8080/hooks/github

verify reads a captured HTTP/1.1 request (request line, headers, blank
line, body) on stdin and says whether its signature is valid; it exits 0
when it is and 1 when it is not:

	caddy hookgate verify --preset github --secret S < request.http

For a custom scheme use --preset hmac with --algorithm, --header,
--encoding and --prefix. --url is the public URL the provider posts to
(twilio signs it); --now sets the clock (unix seconds) for old captures.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(signCommand(), verifyCommand())
		},
	})
}

// cliFlags are the flags sign and verify share.
type cliFlags struct {
	config  signature.Config
	secrets []string
	url     string
	now     int64
}

func (f *cliFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config.Preset, "preset", "", "provider preset, or hmac (required)")
	cmd.Flags().StringArrayVar(&f.secrets, "secret", nil, "shared secret; repeat for several (required)")
	cmd.Flags().StringVar(&f.url, "url", "https://hooks.example.com/hook", "public URL the provider posts to")
	cmd.Flags().StringVar(&f.config.Algorithm, "algorithm", "", "hmac and devopness: sha1, sha256 or sha512")
	cmd.Flags().StringVar(&f.config.Header, "header", "", "hmac and devopness: the signature header")
	cmd.Flags().StringVar(&f.config.Encoding, "encoding", "", "hmac: hex or base64")
	cmd.Flags().StringVar(&f.config.Prefix, "prefix", "", "hmac: prefix before the digest")
	cmd.Flags().Int64Var(&f.now, "now", 0, "clock as unix seconds (default: now)")
	cmd.MarkFlagRequired("preset")
	cmd.MarkFlagRequired("secret")
}

// clock is the time the command signs or verifies at.
func (f *cliFlags) clock() time.Time {
	if f.now != 0 {
		return time.Unix(f.now, 0)
	}
	return time.Now()
}

func signCommand() *cobra.Command {
	var f cliFlags
	var deliveryID string
	cmd := &cobra.Command{
		Use:   "sign --preset <name> --secret <secret> [--url <url>] < body",
		Short: "Prints the headers a provider would send with the body on stdin",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return err
			}
			f.config.Secrets = f.secrets
			header, err := signature.Sign(f.config, &signature.Request{Method: http.MethodPost, URL: f.url, Body: body}, f.clock())
			if err != nil {
				return err
			}
			// The delivery id the provider sends alongside, unless the
			// signature already covers it (webhook-id).
			v, err := signature.New(f.config)
			if err != nil {
				return err
			}
			if name := v.DedupHeader(); name != "" && header.Get(name) == "" {
				if deliveryID == "" {
					deliveryID = action.NewUUID()
				}
				header[name] = []string{deliveryID}
			}
			names := make([]string, 0, len(header))
			for name := range header {
				names = append(names, name)
			}
			slices.Sort(names)
			out := bufio.NewWriter(cmd.OutOrStdout())
			for _, name := range names {
				for _, v := range header[name] {
					fmt.Fprintf(out, "%s: %s\n", name, v)
				}
			}
			return out.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&deliveryID, "delivery-id", "", "the delivery id header's value, for presets that send one (default: a random UUID)")
	return cmd
}

func verifyCommand() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:   "verify --preset <name> --secret <secret> [--url <url>] < request",
		Short: "Checks the signature of a captured HTTP request on stdin",
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := http.ReadRequest(bufio.NewReader(cmd.InOrStdin()))
			if err != nil {
				return fmt.Errorf("reading the captured request: %v", err)
			}
			body, err := io.ReadAll(req.Body)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("reading the captured body: %v", err)
			}
			f.config.Secrets = f.secrets
			v, err := signature.New(f.config)
			if err != nil {
				return err
			}
			target := f.url
			if !cmd.Flags().Changed("url") {
				target = "https://" + req.Host + req.RequestURI
			}
			err = v.Verify(&signature.Request{Method: req.Method, URL: target, Header: req.Header, Body: body}, f.clock())
			if err != nil {
				return fmt.Errorf("not valid: %v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "valid (%d bytes, %s)\n", len(body), f.config.Preset)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
