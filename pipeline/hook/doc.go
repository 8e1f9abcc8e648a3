// Package hook holds what an incoming hook does after its signature is
// verified: it finds the JSON payload in the raw body, extracts typed
// variables from it with gjson paths, headers and the query string, and
// decides with an expr condition whether to act. It knows nothing of Caddy.
package hook
