package api

import (
	_ "embed"
	"net/http"
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

// serveOpenAPI answers GET /openapi.json.
func serveOpenAPI(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(openAPIDocument)
	return err
}
