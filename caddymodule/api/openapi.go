package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
)

// openAPIDocument is the OpenAPI 3.1 document of every route of every
// dialect, with their request and answer schemas. It is written by hand;
// the API's tests validate every request and answer they make against it,
// and that it has exactly the routes the API serves, so it cannot drift.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIPath is where the document is served, without a token: it holds
// no data, and clients are generated from it.
const openAPIPath = "/openapi.json"

// serveOpenAPI answers GET /openapi.json: the document, its server the
// URL the API was called at (the mount point, a handle_path prefix
// included), so that a client generated from it calls the right URLs.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		return err
	}
	base := calledURL(r)
	base.Path, base.RawPath, base.RawQuery = strings.TrimSuffix(base.Path, openAPIPath), "", ""
	doc["servers"] = []any{map[string]any{"url": base.String(), "description": "this hookgate_api"}}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "\t")
	return enc.Encode(doc)
}
