package main

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

type demoNonceKey struct{}

// demoNonce reads the nonce the tests put in the context, like headers' Web
// preset does for the real server.
func demoNonce(ctx context.Context) (string, bool) {
	n, ok := ctx.Value(demoNonceKey{}).(string)
	return n, ok
}

func withDemoNonce(r *http.Request, nonce string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), demoNonceKey{}, nonce))
}

func mustDemoHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := newDemoHandler("http://127.0.0.1:8080", demoNonce)
	if err != nil {
		t.Fatalf("newDemoHandler: %v", err)
	}
	return h
}

func TestDemoNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		origin string
		nonce  func(context.Context) (string, bool)
		want   string // substring of the error; "" means no error
	}{
		{"http origin", "http://127.0.0.1:8080", demoNonce, ""},
		{"https origin", "https://api.example.com", demoNonce, ""},
		{"nil nonce", "http://127.0.0.1:8080", nil, "nonce func is nil"},
		{"empty", "", demoNonce, `apiOrigin ""`},
		{"path", "http://127.0.0.1:8080/api", demoNonce, `apiOrigin "http://127.0.0.1:8080/api"`},
		{"trailing slash", "http://127.0.0.1:8080/", demoNonce, "not an origin"},
		{"query", "http://127.0.0.1:8080?x=1", demoNonce, "not an origin"},
		{"userinfo", "http://u:p@127.0.0.1:8080", demoNonce, "not an origin"},
		{"scheme", "javascript://127.0.0.1", demoNonce, "not an origin"},
		{"no scheme", "127.0.0.1:8080", demoNonce, "not an origin"},
		{"quote", `http://a"b`, demoNonce, "not an origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := newDemoHandler(tc.origin, tc.nonce)
			if tc.want == "" {
				if err != nil || h == nil {
					t.Fatalf("newDemoHandler(%q) = %v, %v; want a handler", tc.origin, h, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("newDemoHandler(%q) error = %v; want one containing %q", tc.origin, err, tc.want)
			}
		})
	}
}

func TestDemoPage(t *testing.T) {
	h := mustDemoHandler(t)
	const nonce = "bm9uY2Utb2YtdGhlLXRlc3Q"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, withDemoNonce(httptest.NewRequest(http.MethodGet, "/", nil), nonce))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d; want 200", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store (the nonce is per response)", got)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<script src="/app.js" nonce="` + nonce + `"></script>`,
		`<body data-api-origin="http://127.0.0.1:8080">`,
		`<link rel="stylesheet" href="/style.css">`,
		`<link rel="icon" href="/favicon.svg" type="image/svg+xml">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The ids the browser test and the script rely on.
	for _, id := range []string{"username", "password", "login", "login-form", "me", "admin", "refresh",
		"logout", "claims", "token-header", "session", "request", "status", "headers", "result",
		"dpop", "dpop-state", "dpop-jwk", "dpop-jkt", "cnf", "replay", "stolen", "dpop-result"} {
		if !strings.Contains(body, ` id="`+id+`"`) {
			t.Errorf("page lacks id %q", id)
		}
	}
}

// TestDemoPageFitsCSP fails when the page gains anything the strict CSP
// (nonce + strict-dynamic, style-src 'self') would block: a second or inline
// script, an inline handler, an inline style.
func TestDemoPageFitsCSP(t *testing.T) {
	h := mustDemoHandler(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, withDemoNonce(httptest.NewRequest(http.MethodGet, "/", nil), "n"))
	body := rec.Body.String()
	if n := strings.Count(body, "<script"); n != 1 {
		t.Errorf("page has %d <script> elements; want exactly one (app.js)", n)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`(?i)<script>`),
	} {
		if loc := re.FindStringIndex(body); loc != nil {
			t.Errorf("page contains %q, which the CSP blocks", body[loc[0]:loc[1]])
		}
	}
}

// TestDemoPageEscapes fails if the template stops escaping what it is given:
// a nonce or origin that breaks out of its attribute must stay inside it.
func TestDemoPageEscapes(t *testing.T) {
	h := mustDemoHandler(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, withDemoNonce(httptest.NewRequest(http.MethodGet, "/", nil), `x" onload="alert(1)`))
	body := rec.Body.String()
	if strings.Contains(body, `onload="alert(1)`) {
		t.Fatalf("the nonce broke out of its attribute:\n%s", body)
	}
	if !strings.Contains(body, `nonce="x&#34; onload=&#34;alert(1)"`) {
		t.Errorf("the nonce was not escaped as expected:\n%s", body)
	}
}

func TestDemoPageWithoutNonce(t *testing.T) {
	h := mustDemoHandler(t)
	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"no nonce in context", httptest.NewRequest(http.MethodGet, "/", nil)},
		{"empty nonce", withDemoNonce(httptest.NewRequest(http.MethodGet, "/", nil), "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("GET / = %d; want 500", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "<script") {
				t.Errorf("a page was served without a nonce")
			}
		})
	}
}

func TestDemoRoutes(t *testing.T) {
	h := mustDemoHandler(t)
	appJS, err := fs.ReadFile(demoFiles, "web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	styleCSS, err := fs.ReadFile(demoFiles, "web/style.css")
	if err != nil {
		t.Fatal(err)
	}
	favicon, err := fs.ReadFile(demoFiles, "web/favicon.svg")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
		body         string // exact body; "-" means not checked
	}{
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", string(appJS)},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", string(styleCSS)},
		{"GET", "/favicon.svg", 200, "image/svg+xml", string(favicon)},
		{"HEAD", "/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/index.html.tmpl", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{"GET", "/web/app.js", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{"GET", "/app.js/", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{"GET", "/favicon.ico", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{"GET", "/index.html", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{"POST", "/", 405, "text/plain; charset=utf-8", "Method Not Allowed\n"},
		{"PUT", "/app.js", 405, "text/plain; charset=utf-8", "Method Not Allowed\n"},
		{"OPTIONS", "/", 405, "text/plain; charset=utf-8", "Method Not Allowed\n"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, withDemoNonce(httptest.NewRequest(tc.method, tc.path, nil), "n"))
			if rec.Code != tc.status {
				t.Fatalf("status = %d; want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q; want %q", got, tc.ctype)
			}
			if tc.body != "-" && rec.Body.String() != tc.body {
				t.Errorf("body = %.80q; want %.80q", rec.Body.String(), tc.body)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q; want \"GET, HEAD\"", rec.Header().Get("Allow"))
			}
			if tc.status >= 400 && rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("an error body without X-Content-Type-Options: nosniff")
			}
		})
	}
}

// TestDemoScriptRules fails when app.js gains a way to turn data into markup
// or to keep a token beyond the page's memory.
func TestDemoScriptRules(t *testing.T) {
	js, err := fs.ReadFile(demoFiles, "web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
		"eval(", "new Function", "localStorage", "sessionStorage", "document.cookie", "credentials: 'include'"} {
		if strings.Contains(string(js), banned) {
			t.Errorf("app.js uses %s", banned)
		}
	}
}

// TestDemoScriptDPoPKey fails when the page's DPoP key could leave it: the
// pair must be generated with extractable false (the private key then
// cannot be exported, by this script or any other), only the public key is
// ever exported, and proofs are ES256 dpop+jwt.
func TestDemoScriptDPoPKey(t *testing.T) {
	js, err := fs.ReadFile(demoFiles, "web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(js)
	gen := regexp.MustCompile(`crypto\.subtle\.generateKey\(([^;]*)\)`).FindAllStringSubmatch(src, -1)
	if len(gen) != 1 || gen[0][1] != "{ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']" {
		t.Errorf("generateKey calls %q; want exactly one, P-256, extractable false, usage sign", gen)
	}
	exp := regexp.MustCompile(`exportKey\(([^)]*)\)`).FindAllStringSubmatch(src, -1)
	if len(exp) != 1 || exp[0][1] != "'jwk', pair.publicKey" {
		t.Errorf("exportKey calls %q; want exactly one, of the public key", exp)
	}
	for _, want := range []string{"typ: 'dpop+jwt', alg: 'ES256'", "u.search = '';", "u.hash = '';", "claims.ath = await sha256(accessToken)"} {
		if !strings.Contains(src, want) {
			t.Errorf("app.js lacks %q", want)
		}
	}
}
