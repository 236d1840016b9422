package headers

import (
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/unrolled/secure"
)

const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// common are the headers both presets send on every response.
var common = map[string]string{
	"X-Frame-Options":              "DENY",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"X-Xss-Protection":             "0",
}

const hsts = "max-age=63072000; includeSubDomains"

func mustNew(t testing.TB, o Options) *Headers {
	t.Helper()
	h, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

// status answers with code the way a downstream middleware would.
func status(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":"x"}`))
	})
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func newRequest(https bool) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
	if https {
		r.TLS = &tls.ConnectionState{}
	}
	return r
}

func TestPresetsOnEveryStatus(t *testing.T) {
	presets := []struct {
		name string
		opts Options
	}{{"API", API()}, {"Web", Web()}}
	codes := []int{200, 204, 400, 401, 403, 404, 429, 500, 503}
	for _, p := range presets {
		h := mustNew(t, p.opts)
		for _, https := range []bool{false, true} {
			for _, code := range codes {
				name := p.name + "/http/" + http.StatusText(code)
				if https {
					name = p.name + "/https/" + http.StatusText(code)
				}
				t.Run(name, func(t *testing.T) {
					rec := serve(h.Handler(status(code)), newRequest(https))
					if rec.Code != code {
						t.Fatalf("status %d, want %d", rec.Code, code)
					}
					got := rec.Header()
					for k, v := range common {
						if got.Get(k) != v {
							t.Errorf("%s = %q, want %q", k, got.Get(k), v)
						}
					}
					if pp := got.Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") ||
						!strings.Contains(pp, "microphone=()") || !strings.Contains(pp, "geolocation=()") {
						t.Errorf("Permissions-Policy = %q", pp)
					}
					if got.Get("Cache-Control") != "no-store" {
						t.Errorf("Cache-Control = %q, want no-store", got.Get("Cache-Control"))
					}
					wantHSTS := ""
					if https {
						wantHSTS = hsts
					}
					if v := got.Get("Strict-Transport-Security"); v != wantHSTS {
						t.Errorf("Strict-Transport-Security = %q, want %q", v, wantHSTS)
					}
					csp := got.Get("Content-Security-Policy")
					switch p.name {
					case "API":
						if csp != apiCSP {
							t.Errorf("CSP = %q, want %q", csp, apiCSP)
						}
					case "Web":
						for _, d := range []string{"default-src 'self'", "'strict-dynamic'", "object-src 'none'",
							"base-uri 'none'", "frame-ancestors 'none'", "upgrade-insecure-requests", "script-src 'nonce-"} {
							if !strings.Contains(csp, d) {
								t.Errorf("CSP %q lacks %q", csp, d)
							}
						}
					}
				})
			}
		}
	}
}

func TestForwardedProto(t *testing.T) {
	fromProxy := func(r *http.Request) bool { return r.RemoteAddr == "10.0.0.1:1234" }
	tests := []struct {
		name    string
		trusted func(*http.Request) bool
		remote  string
		xfp     []string
		want    bool
	}{
		{"no proxy configured", nil, "10.0.0.1:1234", []string{"https"}, false},
		{"untrusted peer", fromProxy, "203.0.113.9:1234", []string{"https"}, false},
		{"trusted proxy https", fromProxy, "10.0.0.1:1234", []string{"https"}, true},
		{"trusted proxy HTTPS upper case", fromProxy, "10.0.0.1:1234", []string{"HTTPS"}, true},
		{"trusted proxy http", fromProxy, "10.0.0.1:1234", []string{"http"}, false},
		{"trusted proxy, no header", fromProxy, "10.0.0.1:1234", nil, false},
		{"client-set https before proxy's http", fromProxy, "10.0.0.1:1234", []string{"https, http"}, false},
		{"client-set https line before proxy's http line", fromProxy, "10.0.0.1:1234", []string{"https", "http"}, false},
		{"proxy appended https", fromProxy, "10.0.0.1:1234", []string{"http, https"}, true},
		{"garbage", fromProxy, "10.0.0.1:1234", []string{"httpsx"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := API()
			o.TrustedProxy = tt.trusted
			h := mustNew(t, o)
			r := newRequest(false)
			r.RemoteAddr = tt.remote
			if tt.xfp != nil {
				r.Header["X-Forwarded-Proto"] = tt.xfp
			}
			rec := serve(h.Handler(status(200)), r)
			got := rec.Header().Get("Strict-Transport-Security") != ""
			if got != tt.want {
				t.Errorf("HSTS sent = %t, want %t", got, tt.want)
			}
			if h.IsHTTPS(r) != tt.want {
				t.Errorf("IsHTTPS = %t, want %t", !tt.want, tt.want)
			}
		})
	}
}

func TestNonce(t *testing.T) {
	h := mustNew(t, Web())
	var inHandler []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, ok := Nonce(r.Context())
		if !ok {
			t.Error("Nonce: not in context")
		}
		inHandler = append(inHandler, n)
	})
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		rec := serve(h.Handler(next), newRequest(true))
		csp := rec.Header().Get("Content-Security-Policy")
		n := inHandler[i]
		if raw, err := base64.StdEncoding.DecodeString(n); err != nil || len(raw) != 16 {
			t.Fatalf("nonce %q: %d bytes, %v; want 16 bytes of base64", n, len(raw), err)
		}
		if !strings.Contains(csp, "script-src 'nonce-"+n+"' 'strict-dynamic'") {
			t.Fatalf("CSP %q does not carry the handler's nonce %q", csp, n)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
	if _, ok := Nonce(newRequest(false).Context()); ok {
		t.Error("Nonce outside the handler: ok = true")
	}
	// The API preset has no nonce in its policy, so handlers see none.
	api := mustNew(t, API())
	serve(api.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, ok := Nonce(r.Context()); ok {
			t.Errorf("API preset: Nonce = %q, true", n)
		}
	})), newRequest(false))
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"handler writes nothing", func(w http.ResponseWriter, r *http.Request) {}, "no-store"},
		{"Write only", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) }, "no-store"},
		{"WriteHeader", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, "no-store"},
		{"own value kept", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write([]byte(`{"keys":[]}`))
		}, "public, max-age=300"},
		{"own value added, not doubled", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Cache-Control", "public, max-age=300")
			w.WriteHeader(200)
		}, "public, max-age=300"},
		{"flush", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
		}, "no-store"},
	}
	h := mustNew(t, API())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h.Handler(tt.handler), newRequest(true))
			if got := rec.Result().Header.Values("Cache-Control"); len(got) != 1 || got[0] != tt.want {
				t.Errorf("Cache-Control = %q, want [%q]", got, tt.want)
			}
		})
	}
	t.Run("early hints leave the decision open", func(t *testing.T) {
		// httptest.ResponseRecorder snapshots headers at the first
		// WriteHeader, 1xx included, so record the final one by hand.
		fw := &finalWriter{header: http.Header{}}
		h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(200)
		})).ServeHTTP(fw, newRequest(true))
		if got := fw.final.Values("Cache-Control"); len(got) != 1 || got[0] != "max-age=60" {
			t.Errorf("Cache-Control = %q, want [max-age=60]", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		o := API()
		o.CacheControl = ""
		rec := serve(mustNew(t, o).Handler(status(200)), newRequest(true))
		if v, ok := rec.Header()["Cache-Control"]; ok {
			t.Errorf("Cache-Control = %q, want none", v)
		}
	})
	t.Run("ResponseController reaches the writer", func(t *testing.T) {
		rec := serve(h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		})), newRequest(true))
		if !rec.Flushed {
			t.Error("not flushed")
		}
	})
}

func TestDevelopment(t *testing.T) {
	tests := []struct {
		host      string
		loopback  bool
		https     bool
		wantHSTS  bool
		wantUpgIR bool
	}{
		{"localhost:8081", true, true, false, false},
		{"LOCALHOST", true, false, false, false},
		{"app.localhost:8081", true, true, false, false},
		{"127.0.0.1:8081", true, true, false, false},
		{"127.9.9.9", true, true, false, false},
		{"[::1]:8081", true, true, false, false},
		{"app.example.com", false, true, true, true},
		{"app.example.com", false, false, false, true},
		{"localhost.evil.test", false, true, true, true},
		{"evil-localhost", false, true, true, true},
		{"10.0.0.1:80", false, true, true, true},
		{"[::2]:80", false, true, true, true},
		{"[::1", false, true, true, true},
	}
	o := Web()
	o.Development = true
	h := mustNew(t, o)
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := isLoopbackHost(tt.host); got != tt.loopback {
				t.Errorf("isLoopbackHost = %t, want %t", got, tt.loopback)
			}
			r := newRequest(tt.https)
			r.Host = tt.host
			rec := serve(h.Handler(status(200)), r)
			if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tt.wantHSTS {
				t.Errorf("HSTS = %t, want %t", got, tt.wantHSTS)
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if got := strings.Contains(csp, "upgrade-insecure-requests"); got != tt.wantUpgIR {
				t.Errorf("upgrade-insecure-requests = %t, want %t (%q)", got, tt.wantUpgIR, csp)
			}
		})
	}
	t.Run("off: localhost gets HSTS", func(t *testing.T) {
		r := newRequest(true)
		r.Host = "localhost"
		rec := serve(mustNew(t, Web()).Handler(status(200)), r)
		if rec.Header().Get("Strict-Transport-Security") != hsts {
			t.Errorf("HSTS = %q", rec.Header().Get("Strict-Transport-Security"))
		}
	})
}

func TestOptions(t *testing.T) {
	t.Run("ConnectSrc", func(t *testing.T) {
		o := Web()
		o.ConnectSrc = []string{"https://api.example.com", "http://127.0.0.1:8080"}
		rec := serve(mustNew(t, o).Handler(status(200)), newRequest(true))
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "; connect-src 'self' https://api.example.com http://127.0.0.1:8080; upgrade-insecure-requests") {
			t.Errorf("CSP = %q", csp)
		}
	})
	t.Run("preload", func(t *testing.T) {
		o := API()
		o.STSPreload = true
		rec := serve(mustNew(t, o).Handler(status(200)), newRequest(true))
		if v := rec.Header().Get("Strict-Transport-Security"); v != hsts+"; preload" {
			t.Errorf("HSTS = %q", v)
		}
	})
	t.Run("zero value sends nothing", func(t *testing.T) {
		rec := serve(mustNew(t, Options{}).Handler(status(200)), newRequest(true))
		if len(rec.Header()) != 1 { // Content-Type from the handler
			t.Errorf("headers = %v", rec.Header())
		}
	})
	t.Run("overrides", func(t *testing.T) {
		o := API()
		o.FrameOptions = "SAMEORIGIN"
		o.ReferrerPolicy = "strict-origin-when-cross-origin"
		o.STSSeconds = 0
		rec := serve(mustNew(t, o).Handler(status(200)), newRequest(true))
		if v := rec.Header().Get("X-Frame-Options"); v != "SAMEORIGIN" {
			t.Errorf("X-Frame-Options = %q", v)
		}
		if v := rec.Header().Get("Referrer-Policy"); v != "strict-origin-when-cross-origin" {
			t.Errorf("Referrer-Policy = %q", v)
		}
		if v := rec.Header().Get("Strict-Transport-Security"); v != "" {
			t.Errorf("HSTS = %q with STSSeconds 0", v)
		}
	})
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"negative STSSeconds", func(o *Options) { o.STSSeconds = -1 }, "STSSeconds is -1"},
		{"preload too short", func(o *Options) { o.STSPreload = true; o.STSSeconds = 86400 }, "STSPreload"},
		{"preload without subdomains", func(o *Options) { o.STSPreload = true; o.STSIncludeSubdomains = false }, "STSPreload"},
		{"header injection", func(o *Options) { o.ContentSecurityPolicy = "default-src 'none'\r\nSet-Cookie: a=b" }, "ContentSecurityPolicy"},
		{"newline in cache control", func(o *Options) { o.CacheControl = "no-store\n" }, "CacheControl"},
		{"ConnectSrc injection", func(o *Options) { o.ConnectSrc = []string{"https://a.test; script-src *"} }, `ConnectSrc contains "https://a.test; script-src *"`},
		{"ConnectSrc quote", func(o *Options) { o.ConnectSrc = []string{"'unsafe-inline'"} }, "ConnectSrc contains"},
		{"ConnectSrc path", func(o *Options) { o.ConnectSrc = []string{"https://a.test/x"} }, "ConnectSrc contains"},
		{"ConnectSrc wildcard", func(o *Options) { o.ConnectSrc = []string{"*"} }, "ConnectSrc contains"},
		{"ConnectSrc without directive", func(o *Options) {
			o.ContentSecurityPolicy = "default-src 'self'"
			o.ConnectSrc = []string{"https://a.test"}
		}, "no connect-src directive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Web()
			tt.change(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestSharedValuesNotMutated checks that a handler adding to a header the
// middleware set does not write into the values shared by every response.
func TestSharedValuesNotMutated(t *testing.T) {
	h := mustNew(t, API())
	serve(h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Frame-Options", "SAMEORIGIN")
	})), newRequest(false))
	rec := serve(h.Handler(status(200)), newRequest(false))
	if v := rec.Header().Values("X-Frame-Options"); len(v) != 1 || v[0] != "DENY" {
		t.Errorf("X-Frame-Options = %q after another response added to it", v)
	}
}

// finalWriter keeps a copy of the headers sent with the final (non-1xx) status.
type finalWriter struct {
	header http.Header
	final  http.Header
}

func (f *finalWriter) Header() http.Header { return f.header }
func (f *finalWriter) Write(b []byte) (int, error) {
	if f.final == nil {
		f.WriteHeader(200)
	}
	return len(b), nil
}
func (f *finalWriter) WriteHeader(code int) {
	if code >= 200 && f.final == nil {
		f.final = f.header.Clone()
	}
}

// benchWriter is a ResponseWriter that costs nothing, so benchmarks measure
// the middleware and not httptest.ResponseRecorder's header snapshots.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

func benchmarkHandler(b *testing.B, h http.Handler, https bool) {
	r := newRequest(https)
	w := &benchWriter{h: make(http.Header, 16)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })

func BenchmarkBare(b *testing.B) { benchmarkHandler(b, okHandler, true) }

func BenchmarkAPI(b *testing.B) { benchmarkHandler(b, mustNew(b, API()).Handler(okHandler), true) }

func BenchmarkWeb(b *testing.B) { benchmarkHandler(b, mustNew(b, Web()).Handler(okHandler), true) }

// BenchmarkUnrolledSecure is the same API headers set by unrolled/secure's own
// per-request handler, for comparison with BenchmarkAPI (which uses secure
// to render the values once, in New).
func BenchmarkUnrolledSecure(b *testing.B) {
	s := secure.New(secure.Options{
		ContentSecurityPolicy: apiCSP, CustomFrameOptionsValue: "DENY", ContentTypeNosniff: true,
		ReferrerPolicy: "no-referrer", CrossOriginOpenerPolicy: "same-origin", CrossOriginResourcePolicy: "same-origin",
		PermissionsPolicy: permissionsPolicy, CustomBrowserXssValue: "0", STSSeconds: 63072000, STSIncludeSubdomains: true,
	})
	benchmarkHandler(b, s.Handler(okHandler), true)
}
