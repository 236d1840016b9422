package jose

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// discTestOP is an identity provider for the tests: a real HTTP server that
// answers every request with the configured response (or hands it to
// handle), and counts the requests by path.
type discTestOP struct {
	srv *httptest.Server

	mu      sync.Mutex
	issuer  string // what body is given; the server's URL unless set
	status  int
	header  http.Header
	body    func(issuer string) string
	chunked bool          // send the body in two flushed parts, without Content-Length
	hang    chan struct{} // if set, wait for it (or the client) before answering
	hits    map[string]int
	handle  http.HandlerFunc // if set, answers instead of the above
}

func newDiscTestOP(t *testing.T, useTLS bool) *discTestOP {
	t.Helper()
	op := &discTestOP{status: http.StatusOK, body: discTestDoc, hits: map[string]int{},
		header: http.Header{"Content-Type": {"application/json"}}}
	h := http.HandlerFunc(op.serve)
	op.srv = httptest.NewUnstartedServer(h)
	op.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshakes a test fails on purpose
	if useTLS {
		op.srv.StartTLS()
	} else {
		op.srv.Start()
	}
	op.mu.Lock()
	op.issuer = op.srv.URL
	op.mu.Unlock()
	t.Cleanup(op.srv.Close)
	return op
}

func (op *discTestOP) serve(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.hits[r.URL.Path]++
	status, header, body, chunked, hang, handle := op.status, op.header, op.body(op.issuer), op.chunked, op.hang, op.handle
	op.mu.Unlock()
	if handle != nil {
		handle(w, r)
		return
	}
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	if _, ok := header["Content-Type"]; !ok {
		w.Header()["Content-Type"] = nil // no sniffing
	}
	w.WriteHeader(status)
	if chunked {
		half := len(body) / 2
		_, _ = w.Write([]byte(body[:half]))
		w.(http.Flusher).Flush()
		body = body[half:]
	}
	_, _ = w.Write([]byte(body))
}

// hold makes the provider wait before answering until the returned channel
// is closed.
func (op *discTestOP) hold() chan struct{} {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.hang = make(chan struct{})
	return op.hang
}

// set changes the response; a nil header or body keeps the current one.
func (op *discTestOP) set(status int, header http.Header, body func(string) string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.status = status
	if header != nil {
		op.header = header
	}
	if body != nil {
		op.body = body
	}
}

func (op *discTestOP) count(path string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.hits[path]
}

func (op *discTestOP) total() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	n := 0
	for _, v := range op.hits {
		n += v
	}
	return n
}

const discTestOIDCPath = "/.well-known/openid-configuration"

// discTestDoc is a good document for issuer, with members Discovery ignores.
func discTestDoc(issuer string) string {
	return `{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/keys","token_endpoint":"` + issuer + `/token",` +
		`"id_token_signing_alg_values_supported":["RS256","ES256"],` +
		`"response_types_supported":["code"],"x-vendor":{"a":[1,2.5,true,null]}}`
}

// discTestClock is a settable clock.
type discTestClock struct {
	mu sync.Mutex
	t  time.Time
}

var discTestT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newDiscTestClock() *discTestClock { return &discTestClock{t: discTestT0} }

func (c *discTestClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *discTestClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func discTestNew(t *testing.T, cfg DiscoveryConfig) *Discovery {
	t.Helper()
	d, err := NewDiscovery(cfg)
	if err != nil {
		t.Fatalf("NewDiscovery: %v", err)
	}
	return d
}

// discTestKind checks that err is a *DiscoveryError of kind.
func discTestKind(t *testing.T, err, kind error) *DiscoveryError {
	t.Helper()
	var de *DiscoveryError
	if !errors.As(err, &de) || !errors.Is(err, kind) {
		t.Fatalf("error %v, want a *DiscoveryError of %v", err, kind)
	}
	return de
}

// discTestWaiters waits until n callers wait for the fetch in flight.
func discTestWaiters(t *testing.T, d *Discovery, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		got := 0
		if d.call != nil {
			got = d.call.waiters
		}
		d.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for the fetch, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewDiscoveryConfig(t *testing.T) {
	ok := "https://op.example.com"
	tests := []struct {
		name string
		cfg  DiscoveryConfig
		want string // "" for no error, else a substring of the error
	}{
		{"https", DiscoveryConfig{Issuer: ok}, ""},
		{"https with path", DiscoveryConfig{Issuer: "https://op.example.com/tenant1/"}, ""},
		{"http on 127.0.0.1", DiscoveryConfig{Issuer: "http://127.0.0.1:8080"}, ""},
		{"http on 127.9.8.7", DiscoveryConfig{Issuer: "http://127.9.8.7/t"}, ""},
		{"http on ::1", DiscoveryConfig{Issuer: "http://[::1]:9000/t"}, ""},
		{"http on localhost", DiscoveryConfig{Issuer: "http://localhost:9000"}, ""},
		{"http on LocalHost", DiscoveryConfig{Issuer: "http://LocalHost"}, ""},
		{"bounds", DiscoveryConfig{Issuer: ok, MinRefresh: time.Hour, MaxAge: time.Hour, MaxSize: 64 << 10}, ""},

		{"empty", DiscoveryConfig{}, "DiscoveryConfig.Issuer is empty"},
		{"http elsewhere", DiscoveryConfig{Issuer: "http://op.example.com"}, `Issuer "http://op.example.com": uses http on a host that is not loopback`},
		{"http on 10.0.0.1", DiscoveryConfig{Issuer: "http://10.0.0.1"}, "not loopback"},
		{"http on 0.0.0.0", DiscoveryConfig{Issuer: "http://0.0.0.0"}, "not loopback"},
		{"http on ::2", DiscoveryConfig{Issuer: "http://[::2]"}, "not loopback"},
		{"http on localhost.example.com", DiscoveryConfig{Issuer: "http://localhost.example.com"}, "not loopback"},
		{"http on 127.0.0.1.example.com", DiscoveryConfig{Issuer: "http://127.0.0.1.example.com"}, "not loopback"},
		{"relative", DiscoveryConfig{Issuer: "/tenant1"}, `Issuer "/tenant1": is not an absolute URL`},
		{"no scheme", DiscoveryConfig{Issuer: "op.example.com"}, "is not an absolute URL"},
		{"no host", DiscoveryConfig{Issuer: "https:///tenant1"}, "is not an absolute URL"},
		{"opaque", DiscoveryConfig{Issuer: "https:op.example.com"}, "is not an absolute URL"},
		{"ftp", DiscoveryConfig{Issuer: "ftp://op.example.com"}, "is neither https nor http"},
		{"userinfo", DiscoveryConfig{Issuer: "https://u:p@op.example.com"}, "has userinfo"},
		{"query", DiscoveryConfig{Issuer: "https://op.example.com?a=1"}, `Issuer "https://op.example.com?a=1": has a query`},
		{"empty query", DiscoveryConfig{Issuer: "https://op.example.com?"}, "has a query"},
		{"fragment", DiscoveryConfig{Issuer: "https://op.example.com#x"}, "has a fragment"},
		{"empty fragment", DiscoveryConfig{Issuer: "https://op.example.com#"}, "has a fragment"},
		{"not a URL", DiscoveryConfig{Issuer: "https://op.example.com/%zz"}, "is not a URL"},
		{"negative Timeout", DiscoveryConfig{Issuer: ok, Timeout: -1}, "DiscoveryConfig.Timeout -1ns is negative"},
		{"negative MinRefresh", DiscoveryConfig{Issuer: ok, MinRefresh: -time.Second}, "DiscoveryConfig.MinRefresh -1s is negative"},
		{"negative MaxAge", DiscoveryConfig{Issuer: ok, MaxAge: -time.Second}, "DiscoveryConfig.MaxAge -1s is negative"},
		{"negative Grace", DiscoveryConfig{Issuer: ok, Grace: -time.Second}, "DiscoveryConfig.Grace -1s is negative"},
		{"MinRefresh above MaxAge", DiscoveryConfig{Issuer: ok, MinRefresh: 2 * time.Hour, MaxAge: time.Hour}, "DiscoveryConfig.MinRefresh 2h0m0s exceeds MaxAge 1h0m0s"},
		{"MinRefresh above default MaxAge", DiscoveryConfig{Issuer: ok, MinRefresh: 25 * time.Hour}, "exceeds MaxAge 24h0m0s"},
		{"MaxSize too large", DiscoveryConfig{Issuer: ok, MaxSize: 64<<10 + 1}, "DiscoveryConfig.MaxSize 65537 is not within"},
		{"negative MaxSize", DiscoveryConfig{Issuer: ok, MaxSize: -1}, "DiscoveryConfig.MaxSize -1 is not within"},
		{"unknown Protocol", DiscoveryConfig{Issuer: ok, Protocol: 7}, "DiscoveryConfig.Protocol 7 is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDiscovery(tt.cfg)
			if tt.want == "" {
				if err != nil || d == nil {
					t.Fatalf("NewDiscovery: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDiscoveryDefaults(t *testing.T) {
	d := discTestNew(t, DiscoveryConfig{Issuer: "https://op.example.com"})
	if d.timeout != 10*time.Second || d.minRefresh != time.Minute || d.maxAge != 24*time.Hour ||
		d.grace != 24*time.Hour || d.maxSize != 64<<10 || d.now == nil || d.client == nil {
		t.Fatalf("defaults: timeout %v, minRefresh %v, maxAge %v, grace %v, maxSize %d",
			d.timeout, d.minRefresh, d.maxAge, d.grace, d.maxSize)
	}
	// The caller's client is copied, not changed.
	c := &http.Client{}
	d = discTestNew(t, DiscoveryConfig{Issuer: "https://op.example.com", HTTPClient: c})
	if c.CheckRedirect != nil || d.client == c {
		t.Fatal("the caller's HTTPClient was modified or used as is")
	}
}

func TestDiscoveryWellKnownURLs(t *testing.T) {
	const (
		oidc  = "/.well-known/openid-configuration"
		oauth = "/.well-known/oauth-authorization-server"
	)
	tests := []struct {
		issuer    string
		protocol  DiscoveryProtocol
		want      []string
		wantFirst string
	}{
		{"https://host", DiscoveryOIDC, []string{"https://host" + oidc}, ""},
		{"https://host/", DiscoveryOIDC, []string{"https://host" + oidc}, ""},
		{"https://host/tenant1", DiscoveryOIDC, []string{"https://host/tenant1" + oidc}, ""},
		{"https://host/tenant1/", DiscoveryOIDC, []string{"https://host/tenant1" + oidc}, ""},
		{"https://host", DiscoveryOAuth, []string{"https://host" + oauth}, ""},
		{"https://host/", DiscoveryOAuth, []string{"https://host" + oauth}, ""},
		{"https://host:8443/tenant1", DiscoveryOAuth, []string{"https://host:8443" + oauth + "/tenant1"}, ""},
		{"https://host/tenant1/", DiscoveryOAuth, []string{"https://host" + oauth + "/tenant1"}, ""},
		{"https://host/a/b%2Fc", DiscoveryOAuth, []string{"https://host" + oauth + "/a/b%2Fc"}, ""},
		{"https://host/realms/x", DiscoveryAuto, []string{"https://host/realms/x" + oidc, "https://host" + oauth + "/realms/x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			d := discTestNew(t, DiscoveryConfig{Issuer: tt.issuer, Protocol: tt.protocol})
			if strings.Join(d.urls, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("urls %q, want %q", d.urls, tt.want)
			}
		})
	}
}

// TestDiscoveryRFC8414 fetches an issuer with a path through RFC 8414, alone
// and as the fallback of DiscoveryAuto.
func TestDiscoveryRFC8414(t *testing.T) {
	const (
		oidcPath  = "/tenant1/.well-known/openid-configuration"
		oauthPath = "/.well-known/oauth-authorization-server/tenant1"
	)
	newOP := func(t *testing.T) *discTestOP {
		op := newDiscTestOP(t, false)
		op.mu.Lock()
		op.issuer = op.srv.URL + "/tenant1"
		op.handle = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != oauthPath {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(discTestDoc(op.srv.URL + "/tenant1")))
		}
		op.mu.Unlock()
		return op
	}

	t.Run("oauth", func(t *testing.T) {
		op := newOP(t)
		d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL + "/tenant1", Protocol: DiscoveryOAuth})
		md, err := d.Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if md.JWKSURI != op.srv.URL+"/tenant1/keys" || op.count(oauthPath) != 1 || op.total() != 1 {
			t.Fatalf("jwks_uri %q, requests %v", md.JWKSURI, op.hits)
		}
	})
	t.Run("oidc only", func(t *testing.T) {
		op := newOP(t)
		d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL + "/tenant1", Protocol: DiscoveryOIDC})
		_, err := d.Metadata(context.Background())
		de := discTestKind(t, err, ErrDiscoveryInvalid)
		if de.URL != op.srv.URL+oidcPath || op.count(oidcPath) != 1 || op.total() != 1 {
			t.Fatalf("URL %q, requests %v", de.URL, op.hits)
		}
	})
	t.Run("auto", func(t *testing.T) {
		op := newOP(t)
		clock := newDiscTestClock()
		d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL + "/tenant1", Now: clock.now})
		if _, err := d.Metadata(context.Background()); err != nil {
			t.Fatal(err)
		}
		if op.count(oidcPath) != 1 || op.count(oauthPath) != 1 {
			t.Fatalf("requests %v, want one of each", op.hits)
		}
		// The next fetch goes straight to the document that was found.
		clock.set(discTestT0.Add(time.Minute))
		if _, err := d.Metadata(context.Background()); err != nil {
			t.Fatal(err)
		}
		if op.count(oidcPath) != 1 || op.count(oauthPath) != 2 {
			t.Fatalf("requests %v, want the RFC 8414 document only", op.hits)
		}
	})
}

// TestDiscoveryDocument serves one response per case and checks what
// Metadata makes of it.
func TestDiscoveryDocument(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	doc := func(issuer, jwks string) func(string) string {
		return func(iss string) string {
			return `{"issuer":"` + strings.ReplaceAll(issuer, "ISS", iss) + `","jwks_uri":"` + strings.ReplaceAll(jwks, "ISS", iss) + `"}`
		}
	}
	raw := func(s string) func(string) string {
		return func(iss string) string { return strings.ReplaceAll(s, "ISS", iss) }
	}
	pad := func(n int) func(string) string { // a good document of exactly n bytes
		return func(iss string) string {
			s := discTestDoc(iss)
			return s[:len(s)-1] + strings.Repeat(" ", n-len(s)) + "}"
		}
	}
	tests := []struct {
		name    string
		suffix  string // appended to the server's URL to make the issuer
		status  int    // 0: 200
		header  http.Header
		body    func(string) string
		chunked bool
		maxSize int64
		kind    error // nil: accepted
		cause   error // if set, errors.Is(err, cause)
	}{
		{name: "good", body: discTestDoc},
		{name: "good with path", suffix: "/tenant1", body: discTestDoc},
		{name: "good with trailing slash", suffix: "/tenant1/", body: doc("ISS", "ISSkeys")},
		{name: "escaped slashes decode to the issuer", body: func(iss string) string {
			return `{"issuer":"http:\/\/` + strings.TrimPrefix(iss, "http://") + `","jwks_uri":"` + iss + `/k"}`
		}},
		{name: "charset utf-8", header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}}, body: discTestDoc},
		{name: "+json", header: http.Header{"Content-Type": {"application/jrd+json"}}, body: discTestDoc},
		{name: "https jwks_uri elsewhere", body: doc("ISS", "https://keys.example.com/jwks?tenant=1")},
		{name: "http jwks_uri on localhost", body: doc("ISS", "http://localhost:1234/jwks")},
		{name: "http jwks_uri on ::1", body: doc("ISS", "http://[::1]:1234/jwks")},
		{name: "empty alg list", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","id_token_signing_alg_values_supported":[]}`)},

		{name: "issuer with a trailing slash", body: doc("ISS/", "ISS/k"), kind: ErrDiscoveryInvalid},
		{name: "issuer without the trailing slash", suffix: "/tenant1/", body: func(iss string) string {
			return discTestDoc(strings.TrimSuffix(iss, "/"))
		}, kind: ErrDiscoveryInvalid},
		{name: "issuer in another case", body: func(iss string) string {
			return `{"issuer":"` + strings.ToUpper(iss[:4]) + iss[4:] + `","jwks_uri":"` + iss + `/k"}`
		}, kind: ErrDiscoveryInvalid},
		{name: "issuer with a path", body: doc("ISS/tenant1", "ISS/k"), kind: ErrDiscoveryInvalid},
		{name: "issuer missing", body: raw(`{"jwks_uri":"ISS/k"}`), kind: ErrDiscoveryInvalid},
		{name: "issuer null", body: raw(`{"issuer":null,"jwks_uri":"ISS/k"}`), kind: ErrDiscoveryInvalid},
		{name: "issuer array", body: raw(`{"issuer":["ISS"],"jwks_uri":"ISS/k"}`), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri missing", body: raw(`{"issuer":"ISS"}`), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri empty", body: doc("ISS", ""), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri relative", body: doc("ISS", "/keys"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri without scheme", body: doc("ISS", "//keys.example.com/jwks"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri opaque", body: doc("ISS", "https:keys.example.com"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri http elsewhere", body: doc("ISS", "http://keys.example.com/jwks"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri ftp", body: doc("ISS", "ftp://keys.example.com/jwks"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri fragment", body: doc("ISS", "https://keys.example.com/jwks#a"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri userinfo", body: doc("ISS", "https://u:p@keys.example.com/jwks"), kind: ErrDiscoveryInvalid},
		{name: "jwks_uri number", body: raw(`{"issuer":"ISS","jwks_uri":5}`), kind: ErrDiscoveryInvalid},
		{name: "token_endpoint number", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","token_endpoint":5}`), kind: ErrDiscoveryInvalid},
		{name: "token_endpoint null", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","token_endpoint":null}`), kind: ErrDiscoveryInvalid},
		{name: "alg list null", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","id_token_signing_alg_values_supported":null}`), kind: ErrDiscoveryInvalid},
		{name: "alg list a string", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","id_token_signing_alg_values_supported":"RS256"}`), kind: ErrDiscoveryInvalid},
		{name: "alg list with null", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","id_token_signing_alg_values_supported":["RS256",null]}`), kind: ErrDiscoveryInvalid},
		{name: "alg list with a number", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","id_token_signing_alg_values_supported":[1]}`), kind: ErrDiscoveryInvalid},

		{name: "duplicate issuer", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","issuer":"ISS"}`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrDuplicate},
		{name: "duplicate jwks_uri escaped", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","jwks\u005furi":"https://evil.example.com/k"}`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrDuplicate},
		{name: "duplicate nested", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","x":{"a":1,"a":2}}`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrDuplicate},
		{name: "invalid UTF-8", body: raw("{\"issuer\":\"ISS\",\"jwks_uri\":\"ISS/k\",\"x\":\"\xff\"}"), kind: ErrDiscoveryInvalid, cause: strictjson.ErrUTF8},
		{name: "lone surrogate", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k","x":"\ud800"}`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrUTF8},
		{name: "array", body: raw(`[{"issuer":"ISS","jwks_uri":"ISS/k"}]`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrNotObject},
		{name: "string", body: raw(`"ISS"`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrNotObject},
		{name: "null", body: raw(`null`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrNotObject},
		{name: "empty", body: raw(``), kind: ErrDiscoveryInvalid, cause: strictjson.ErrNotObject},
		{name: "second object", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k"} {}`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrTrailing},
		{name: "trailing garbage", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k"}x`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrTrailing},
		{name: "truncated", body: raw(`{"issuer":"ISS","jwks_uri":"ISS/k"`), kind: ErrDiscoveryInvalid, cause: strictjson.ErrSyntax},

		{name: "exactly MaxSize", body: pad(512), maxSize: 512},
		{name: "exactly MaxSize chunked", body: pad(512), maxSize: 512, chunked: true},
		{name: "over MaxSize", body: pad(513), maxSize: 512, kind: ErrDiscoveryInvalid, cause: errDiscoveryTooLarge},
		{name: "over MaxSize chunked", body: pad(513), maxSize: 512, chunked: true, kind: ErrDiscoveryInvalid, cause: errDiscoveryTooLarge},
		{name: "over the default MaxSize", body: pad(64<<10 + 1), chunked: true, kind: ErrDiscoveryInvalid, cause: errDiscoveryTooLarge},

		{name: "text/html", header: http.Header{"Content-Type": {"text/html"}}, body: discTestDoc, kind: ErrDiscoveryInvalid},
		{name: "no Content-Type", header: http.Header{}, body: discTestDoc, kind: ErrDiscoveryInvalid},
		{name: "application/jsonx", header: http.Header{"Content-Type": {"application/jsonx"}}, body: discTestDoc, kind: ErrDiscoveryInvalid},
		{name: "text/x+json", header: http.Header{"Content-Type": {"text/x+json"}}, body: discTestDoc, kind: ErrDiscoveryInvalid},
		{name: "latin-1", header: http.Header{"Content-Type": {"application/json; charset=iso-8859-1"}}, body: discTestDoc, kind: ErrDiscoveryInvalid},

		{name: "500", status: 500, body: discTestDoc, kind: ErrDiscoveryUnavailable},
		{name: "503", status: 503, body: discTestDoc, kind: ErrDiscoveryUnavailable},
		{name: "429", status: 429, body: discTestDoc, kind: ErrDiscoveryUnavailable},
		{name: "408", status: 408, body: discTestDoc, kind: ErrDiscoveryUnavailable},
		{name: "404", status: 404, body: discTestDoc, kind: ErrDiscoveryInvalid},
		{name: "403", status: 403, body: discTestDoc, kind: ErrDiscoveryInvalid},
		{name: "204", status: 204, body: raw(""), kind: ErrDiscoveryInvalid},
		{name: "203", status: 203, body: discTestDoc, kind: ErrDiscoveryInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newDiscTestOP(t, false)
			issuer := op.srv.URL + tt.suffix
			header := tt.header
			if header == nil {
				header = json
			}
			op.mu.Lock()
			op.issuer = issuer
			op.chunked = tt.chunked
			op.mu.Unlock()
			op.set(cmpOr(tt.status, 200), header, tt.body)
			d := discTestNew(t, DiscoveryConfig{Issuer: issuer, Protocol: DiscoveryOIDC, MaxSize: tt.maxSize})
			md, err := d.Metadata(context.Background())
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Metadata: %v", err)
				}
				if md.Issuer != issuer || md.JWKSURI == "" {
					t.Fatalf("metadata %+v", md)
				}
				return
			}
			de := discTestKind(t, err, tt.kind)
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.cause)
			}
			if md != nil || de.URL != strings.TrimSuffix(issuer, "/")+discTestOIDCPath || de.Err == nil {
				t.Fatalf("metadata %+v, URL %q, cause %v", md, de.URL, de.Err)
			}
		})
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestDiscoveryMetadataMembers(t *testing.T) {
	op := newDiscTestOP(t, false)
	d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL})
	md, err := d.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{Issuer: op.srv.URL, JWKSURI: op.srv.URL + "/keys", TokenEndpoint: op.srv.URL + "/token",
		IDTokenSigningAlgValuesSupported: []string{"RS256", "ES256"}}
	if md.Issuer != want.Issuer || md.JWKSURI != want.JWKSURI || md.TokenEndpoint != want.TokenEndpoint ||
		strings.Join(md.IDTokenSigningAlgValuesSupported, ",") != "RS256,ES256" {
		t.Fatalf("metadata %+v, want %+v", md, want)
	}
	if op.count(discTestOIDCPath) != 1 {
		t.Fatalf("requests %v", op.hits)
	}
}

// TestDiscoveryTLS fetches over https with the caller's client.
func TestDiscoveryTLS(t *testing.T) {
	op := newDiscTestOP(t, true)
	d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL, HTTPClient: op.srv.Client()})
	md, err := d.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.JWKSURI, "https://127.0.0.1:") {
		t.Fatalf("jwks_uri %q", md.JWKSURI)
	}
	// Without the caller's client the test server's certificate is not trusted.
	d = discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL})
	_, err = d.Metadata(context.Background())
	discTestKind(t, err, ErrDiscoveryUnavailable)
}

func TestDiscoveryCacheControl(t *testing.T) {
	tests := []struct {
		name            string
		cacheControl    []string
		minRefresh, max time.Duration // 0: the defaults
		want            time.Duration
	}{
		{name: "none", want: time.Minute},
		{name: "max-age", cacheControl: []string{"max-age=300"}, want: 5 * time.Minute},
		{name: "with others", cacheControl: []string{"public, must-revalidate, max-age=7200"}, want: 2 * time.Hour},
		{name: "MAX-AGE", cacheControl: []string{"MAX-AGE = 120"}, want: 2 * time.Minute},
		{name: "quoted", cacheControl: []string{`max-age="600"`}, want: 10 * time.Minute},
		{name: "below MinRefresh", cacheControl: []string{"max-age=5"}, want: time.Minute},
		{name: "zero", cacheControl: []string{"max-age=0"}, want: time.Minute},
		{name: "above MaxAge", cacheControl: []string{"max-age=172800"}, want: 24 * time.Hour},
		{name: "huge", cacheControl: []string{"max-age=99999999999999999999999999"}, want: 24 * time.Hour},
		{name: "smallest of two", cacheControl: []string{"max-age=600", "max-age=300"}, want: 5 * time.Minute},
		{name: "smallest of two in a line", cacheControl: []string{"max-age=300, max-age=600"}, want: 5 * time.Minute},
		{name: "no-store", cacheControl: []string{"max-age=3600, no-store"}, want: time.Minute},
		{name: "no-cache", cacheControl: []string{"no-cache, max-age=3600"}, want: time.Minute},
		{name: "no-cache in another line", cacheControl: []string{"max-age=3600", "No-Cache"}, want: time.Minute},
		{name: "no-cache with fields", cacheControl: []string{`max-age=3600, no-cache="Set-Cookie"`}, want: time.Minute},
		{name: "not a number", cacheControl: []string{"max-age=1h"}, want: time.Minute},
		{name: "negative", cacheControl: []string{"max-age=-60"}, want: time.Minute},
		{name: "no value", cacheControl: []string{"max-age"}, want: time.Minute},
		{name: "one unreadable", cacheControl: []string{"max-age=3600, max-age=x"}, want: time.Minute},
		{name: "s-maxage ignored", cacheControl: []string{"s-maxage=3600"}, want: time.Minute},
		{name: "own MinRefresh", cacheControl: []string{"max-age=5"}, minRefresh: 10 * time.Second, want: 10 * time.Second},
		{name: "own MaxAge", cacheControl: []string{"max-age=7200"}, max: time.Hour, want: time.Hour},
		{name: "own bounds, within", cacheControl: []string{"max-age=30"}, minRefresh: 10 * time.Second, max: time.Hour, want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newDiscTestOP(t, false)
			op.set(200, http.Header{"Content-Type": {"application/json"}, "Cache-Control": tt.cacheControl}, nil)
			clock := newDiscTestClock()
			d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL, Now: clock.now, MinRefresh: tt.minRefresh, MaxAge: tt.max})
			get := func(at time.Duration, wantHits int) {
				t.Helper()
				clock.set(discTestT0.Add(at))
				if _, err := d.Metadata(context.Background()); err != nil {
					t.Fatal(err)
				}
				if n := op.total(); n != wantHits {
					t.Fatalf("at t0+%v: %d requests, want %d", at, n, wantHits)
				}
			}
			get(0, 1)
			get(tt.want-time.Nanosecond, 1)
			get(tt.want, 2)
		})
	}
}

// TestDiscoveryUnavailable: a provider that cannot be reached at the first
// fetch gives ErrDiscoveryUnavailable with a Retry-After.
func TestDiscoveryUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	issuer := srv.URL
	srv.Close()
	d := discTestNew(t, DiscoveryConfig{Issuer: issuer, MinRefresh: 30 * time.Second})
	md, err := d.Metadata(context.Background())
	de := discTestKind(t, err, ErrDiscoveryUnavailable)
	if md != nil || de.RetryAfter != 30*time.Second || de.URL != issuer+discTestOIDCPath {
		t.Fatalf("metadata %v, RetryAfter %v, URL %q", md, de.RetryAfter, de.URL)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("error %v does not keep the cause", err)
	}
}

// TestDiscoveryRetryAfterFailure: after a failure the provider is asked again
// only once MinRefresh has passed, and the callers in between get the error
// with the time left.
func TestDiscoveryRetryAfterFailure(t *testing.T) {
	op := newDiscTestOP(t, false)
	op.set(503, nil, nil)
	clock := newDiscTestClock()
	var reported atomic.Int32
	d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL, Now: clock.now, OnError: func(err error) {
		if errors.Is(err, ErrDiscoveryUnavailable) {
			reported.Add(1)
		}
	}})
	get := func(at time.Duration, wantHits int, wantRetry time.Duration) {
		t.Helper()
		clock.set(discTestT0.Add(at))
		_, err := d.Metadata(context.Background())
		de := discTestKind(t, err, ErrDiscoveryUnavailable)
		if n := op.total(); n != wantHits || de.RetryAfter != wantRetry {
			t.Fatalf("at t0+%v: %d requests, RetryAfter %v; want %d, %v", at, n, de.RetryAfter, wantHits, wantRetry)
		}
	}
	get(0, 1, time.Minute)
	get(0, 1, time.Minute)
	get(40*time.Second, 1, 20*time.Second)
	get(time.Minute-time.Nanosecond, 1, time.Nanosecond)
	get(time.Minute, 2, time.Minute)
	if reported.Load() != 2 {
		t.Fatalf("OnError called %d times, want 2 (once per fetch)", reported.Load())
	}
	op.set(200, nil, nil)
	clock.set(discTestT0.Add(2 * time.Minute))
	if _, err := d.Metadata(context.Background()); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestDiscoveryGrace: once a document was fetched, failed refreshes serve it
// until Grace after it went stale, then report the error.
func TestDiscoveryGrace(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   func(string) string
		kind   error
	}{
		{"provider down", 500, nil, ErrDiscoveryUnavailable},
		{"bad document", 200, func(iss string) string { return discTestDoc(iss + "/other") }, ErrDiscoveryInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newDiscTestOP(t, false)
			op.set(200, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=300"}}, nil)
			clock := newDiscTestClock()
			var reported []error
			var mu sync.Mutex
			d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL, Now: clock.now, Grace: time.Hour, OnError: func(err error) {
				mu.Lock()
				reported = append(reported, err)
				mu.Unlock()
			}})
			good, err := d.Metadata(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			op.set(tt.status, nil, tt.body)
			stale := 5 * time.Minute
			for _, step := range []struct {
				at       time.Duration
				wantHits int
			}{
				{stale, 2},                                             // refetch fails: the last good document
				{stale + 30*time.Second, 2},                            // within MinRefresh: not asked again
				{stale + time.Hour - time.Nanosecond, 3},               // refetch fails, still within Grace
				{stale + time.Hour - time.Nanosecond + time.Minute, 4}, // past Grace: the error
			} {
				clock.set(discTestT0.Add(step.at))
				md, err := d.Metadata(context.Background())
				if n := op.total(); n != step.wantHits {
					t.Fatalf("at t0+%v: %d requests, want %d", step.at, n, step.wantHits)
				}
				if step.wantHits < 4 {
					if err != nil || md != good {
						t.Fatalf("at t0+%v: %v, %v; want the last good document", step.at, md, err)
					}
					continue
				}
				discTestKind(t, err, tt.kind)
				if md != nil {
					t.Fatalf("at t0+%v: metadata %v with the error", step.at, md)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reported) != 3 || !errors.Is(reported[0], tt.kind) {
				t.Fatalf("OnError got %v, want 3 errors of %v", reported, tt.kind)
			}
		})
	}
}

// TestDiscoveryHanging: a provider that does not answer, or stops in the
// middle of the body, gives ErrDiscoveryUnavailable once Timeout has passed,
// although the client has no timeout of its own.
func TestDiscoveryHanging(t *testing.T) {
	for _, tt := range []struct {
		name string
		stop func(w http.ResponseWriter)
	}{
		{"before the headers", func(http.ResponseWriter) {}},
		{"in the body", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":`))
			w.(http.Flusher).Flush()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.stop(w)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer srv.Close()
			defer close(release)
			d := discTestNew(t, DiscoveryConfig{Issuer: srv.URL, Timeout: 100 * time.Millisecond})
			done := make(chan error, 1)
			go func() {
				_, err := d.Metadata(context.Background())
				done <- err
			}()
			select {
			case err := <-done:
				discTestKind(t, err, ErrDiscoveryUnavailable)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("error %v, want the deadline as its cause", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Metadata did not return")
			}
		})
	}
}

// TestDiscoveryConcurrent: callers that come while a fetch is in flight
// share it.
func TestDiscoveryConcurrent(t *testing.T) {
	op := newDiscTestOP(t, false)
	hang := op.hold()
	d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL})
	const n = 16
	var wg sync.WaitGroup
	docs := make([]*Metadata, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { docs[i], errs[i] = d.Metadata(context.Background()) })
	}
	discTestWaiters(t, d, n)
	close(hang)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || docs[i] == nil || docs[i] != docs[0] {
			t.Fatalf("caller %d: %p, %v; caller 0: %p", i, docs[i], errs[i], docs[0])
		}
	}
	if got := op.total(); got != 1 {
		t.Fatalf("%d requests, want 1", got)
	}
}

// TestDiscoveryCallerGivesUp: a caller whose context ends leaves, and the
// fetch goes on for the others.
func TestDiscoveryCallerGivesUp(t *testing.T) {
	op := newDiscTestOP(t, false)
	hang := op.hold()
	d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := d.Metadata(ctx)
		first <- err
	}()
	discTestWaiters(t, d, 1)
	second := make(chan error, 1)
	go func() {
		_, err := d.Metadata(context.Background())
		second <- err
	}()
	discTestWaiters(t, d, 2)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want context.Canceled", err)
	}
	close(hang)
	if err := <-second; err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if got := op.total(); got != 1 {
		t.Fatalf("%d requests, want 1", got)
	}
}

func TestDiscoveryRedirects(t *testing.T) {
	// other serves a good document for any issuer it is told.
	var otherIssuer atomic.Value
	otherIssuer.Store("")
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(discTestDoc(otherIssuer.Load().(string))))
	}))
	defer other.Close()

	refuse := func(*http.Request, []*http.Request) error { return errors.New("refused by the caller") }
	allow := func(*http.Request, []*http.Request) error { return nil }
	tests := []struct {
		name      string
		redirects int    // how many times the provider redirects to itself before serving
		to        string // "other": the last redirect goes to the other server
		check     func(*http.Request, []*http.Request) error
		kind      error // nil: accepted
		wantHits  int   // at the provider
		wantOther int32
	}{
		{name: "same host once", redirects: 1, wantHits: 2},
		{name: "same host three times", redirects: 3, wantHits: 4},
		{name: "same host four times", redirects: 4, kind: ErrDiscoveryInvalid, wantHits: 4},
		{name: "other host", redirects: 1, to: "other", kind: ErrDiscoveryInvalid, wantHits: 1},
		{name: "other host, caller allows all", redirects: 1, to: "other", check: allow, kind: ErrDiscoveryInvalid, wantHits: 1},
		{name: "same host, caller refuses", redirects: 1, check: refuse, kind: ErrDiscoveryInvalid, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			otherHits.Store(0)
			op := newDiscTestOP(t, false)
			otherIssuer.Store(op.srv.URL)
			op.mu.Lock()
			op.handle = func(w http.ResponseWriter, r *http.Request) {
				hop := 0
				if h := r.URL.Query().Get("hop"); h != "" {
					hop = int(h[0] - '0')
				}
				switch {
				case hop == tt.redirects:
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(discTestDoc(op.srv.URL)))
				case hop == tt.redirects-1 && tt.to == "other":
					http.Redirect(w, r, other.URL+"/doc", http.StatusFound)
				default:
					http.Redirect(w, r, "/next?hop="+string(rune('0'+hop+1)), http.StatusFound)
				}
			}
			op.mu.Unlock()
			var client *http.Client
			if tt.check != nil {
				client = &http.Client{CheckRedirect: tt.check}
			}
			d := discTestNew(t, DiscoveryConfig{Issuer: op.srv.URL, HTTPClient: client})
			_, err := d.Metadata(context.Background())
			if tt.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				discTestKind(t, err, tt.kind)
			}
			if op.total() != tt.wantHits || otherHits.Load() != tt.wantOther {
				t.Fatalf("%d requests at the provider, %d elsewhere; want %d, %d", op.total(), otherHits.Load(), tt.wantHits, tt.wantOther)
			}
		})
	}
}

// TestDiscoveryRedirectPolicy covers what two test servers cannot show: a
// redirect to the same host and port under another scheme.
func TestDiscoveryRedirectPolicy(t *testing.T) {
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const start = "https://op.example.com/.well-known/openid-configuration"
	tests := []struct {
		to   string
		via  int
		want bool
	}{
		{"https://op.example.com/other", 1, true},
		{"https://OP.example.com/other", 1, true},
		{"https://op.example.com/other", 3, true},
		{"https://op.example.com/other", 4, false},
		{"http://op.example.com/other", 1, false},
		{"http://op.example.com:443/other", 1, false},
		{"https://op.example.com:8443/other", 1, false},
		{"https://keys.example.com/other", 1, false},
	}
	for _, tt := range tests {
		via := []*http.Request{req(start)}
		for len(via) < tt.via {
			via = append(via, req("https://op.example.com/hop"))
		}
		err := discoveryCheckRedirect(req(tt.to), via)
		if (err == nil) != tt.want || err != nil && !errors.Is(err, errDiscoveryRedirect) {
			t.Errorf("redirect to %s after %d: %v, want allowed %v", tt.to, tt.via, err, tt.want)
		}
	}
}

// TestDiscoveryContentLength: a declared length over MaxSize is refused
// before the body is read, so a provider that then stalls is not waited for.
func TestDiscoveryContentLength(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "65537")
		_, _ = w.Write([]byte(`{"issuer":`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	d := discTestNew(t, DiscoveryConfig{Issuer: srv.URL, Timeout: 5 * time.Second})
	_, err := d.Metadata(context.Background())
	discTestKind(t, err, ErrDiscoveryInvalid)
	if !errors.Is(err, errDiscoveryTooLarge) {
		t.Fatalf("error %v, want %v", err, errDiscoveryTooLarge)
	}
}
