package api

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// uiFiles are the dashboard's files (SPEC 13): plain ES modules, one
// stylesheet and the page that loads them; nothing is built.
//
//go:embed ui
var uiFiles embed.FS

// uiContentSecurityPolicy lets the dashboard load its own files and call
// its own API, and nothing else: no inline script, no eval, no other
// origin, and (Trusted Types) no HTML parsed from strings.
const uiContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// uiFile is a dashboard file as served.
type uiFile struct {
	body        []byte
	contentType string
	etag        string
}

// uiAssets are the dashboard's files by path under ui/, read once.
var uiAssets = func() map[string]uiFile {
	assets := make(map[string]uiFile)
	err := fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) { // the system's MIME table may lack or differ on these
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".html":
			ctype = "text/html; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		assets[strings.TrimPrefix(p, "ui/")] = uiFile{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("hookgate_api: the embedded dashboard: " + err.Error())
	}
	return assets
}()

// serveUI serves the dashboard's files under /ui/, without a token (they
// hold no data; every data request of the page carries one). It reports
// false for a path that is not the dashboard's.
func (h *APIHandler) serveUI(w http.ResponseWriter, r *http.Request) bool {
	if h.UIOff || (r.URL.Path != "/ui" && !strings.HasPrefix(r.URL.Path, "/ui/")) {
		return false
	}
	header := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		header.Set("Allow", "GET, HEAD")
		_ = h.fail(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "the dashboard's files answer GET and HEAD only")
		return true
	}
	if r.URL.Path == "/ui" {
		// Relative, so that it holds under whatever prefix the API is
		// mounted (http.Redirect would make it absolute without it).
		header.Set("Location", "ui/")
		w.WriteHeader(http.StatusMovedPermanently)
		return true
	}
	name := strings.TrimPrefix(r.URL.Path, "/ui/")
	if name == "" {
		name = "index.html"
	}
	f, ok := uiAssets[name]
	if !ok {
		_ = h.fail(w, r, http.StatusNotFound, "not_found", "the dashboard has no file "+name)
		return true
	}
	header.Set("Content-Type", f.contentType)
	header.Set("ETag", f.etag)
	// Revalidated on every load (a 304 while the binary is the same), so
	// that a new hookgate never runs with an old page's modules.
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Referrer-Policy", "no-referrer")
	header.Set("Content-Security-Policy", uiContentSecurityPolicy)
	header.Set("Cross-Origin-Opener-Policy", "same-origin")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	header.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.body)
	}
	return true
}
