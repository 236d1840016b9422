package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
)

// demoFiles holds the demo page: the HTML template and the two static files
// it loads. It is read-only; everything derived from it is built once in
// newDemoHandler.
//
//go:embed web
var demoFiles embed.FS

// demoAsset is one static file of the demo page with its headers computed in
// advance, so serving it formats nothing.
type demoAsset struct {
	body          []byte
	contentType   []string
	contentLength []string
}

// demoPage serves the demo page on the app origin. The page itself carries a
// per-request CSP nonce, so it is rendered on every request; its static
// files are served from memory. Safe for concurrent use: nothing in it
// changes after newDemoHandler returns.
type demoPage struct {
	tmpl      *template.Template
	apiOrigin string
	nonce     func(context.Context) (string, bool)
	assets    map[string]demoAsset
}

// demoPageData is what index.html.tmpl is executed with.
type demoPageData struct {
	Nonce     string
	APIOrigin string
}

var (
	demoHTMLType = []string{"text/html; charset=utf-8"}
	demoTextType = []string{"text/plain; charset=utf-8"}
	demoNoStore  = []string{"no-store"}
	demoNoCache  = []string{"no-cache"}
	demoAllow    = []string{"GET, HEAD"}
)

// newDemoHandler returns the handler of the demo page for an API served at
// apiOrigin (scheme://host[:port], no path). nonce returns the request's CSP
// script nonce (headers' Web preset puts it in the context); a request
// without one is answered 500, because the page's script could not run.
//
// GET or HEAD / renders the page; /app.js, /style.css and /favicon.svg are
// its static files; any other path is 404 and any other method 405.
func newDemoHandler(apiOrigin string, nonce func(context.Context) (string, bool)) (http.Handler, error) {
	if nonce == nil {
		return nil, errors.New("demo: nonce func is nil")
	}
	if err := demoCheckOrigin(apiOrigin); err != nil {
		return nil, err
	}
	tmpl, err := template.ParseFS(demoFiles, "web/index.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("demo: parsing web/index.html.tmpl: %w", err)
	}
	p := &demoPage{tmpl: tmpl, apiOrigin: apiOrigin, nonce: nonce, assets: map[string]demoAsset{}}
	for path, ctype := range map[string]string{
		"/app.js":    "text/javascript; charset=utf-8",
		"/style.css": "text/css; charset=utf-8",
		// A real icon keeps the browser's automatic /favicon.ico request,
		// and its 404, out of the console.
		"/favicon.svg": "image/svg+xml",
	} {
		body, err := fs.ReadFile(demoFiles, "web"+path)
		if err != nil {
			return nil, fmt.Errorf("demo: reading web%s: %w", path, err)
		}
		p.assets[path] = demoAsset{
			body:          body,
			contentType:   []string{ctype},
			contentLength: []string{strconv.Itoa(len(body))},
		}
	}
	return p, nil
}

// demoCheckOrigin reports whether s is an http or https origin with nothing after
// the host and port.
func demoCheckOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		u.String() != s || !demoHostChars(u.Host) {
		return fmt.Errorf("demo: apiOrigin %q is not an origin (scheme://host[:port])", s)
	}
	return nil
}

// demoHostChars reports whether host holds only what a host name, an IP
// address literal and a port are made of.
func demoHostChars(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func (p *demoPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = demoAllow
		demoError(w, http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" {
		p.servePage(w, r)
		return
	}
	a, ok := p.assets[r.URL.Path]
	if !ok {
		demoError(w, http.StatusNotFound)
		return
	}
	h := w.Header()
	h["Content-Type"] = a.contentType
	h["Content-Length"] = a.contentLength
	// The files change only with the binary; no-cache keeps a rebuilt
	// server from running against a stale script.
	h["Cache-Control"] = demoNoCache
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body) // a failed write means the client went away
	}
}

func (p *demoPage) servePage(w http.ResponseWriter, r *http.Request) {
	nonce, ok := p.nonce(r.Context())
	if !ok || nonce == "" {
		// Without a nonce the CSP would block app.js: fail loudly rather
		// than serve a page that silently does nothing.
		demoError(w, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, demoPageData{Nonce: nonce, APIOrigin: p.apiOrigin}); err != nil {
		demoError(w, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = demoHTMLType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	// The nonce is per response: a cached copy would carry a spent one.
	h["Cache-Control"] = demoNoStore
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes()) // a failed write means the client went away
	}
}

// demoError writes the status text as a short plain-text body.
func demoError(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"] = demoTextType
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n")) // a failed write means the client went away
}
