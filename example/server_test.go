package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// syncBuffer is a goroutine-safe log sink for the audit log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is the example's API handler behind httptest, built from args.
type testServer struct {
	t   *testing.T
	app *app
	srv *httptest.Server
	log *syncBuffer
}

func newTestServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	a, _, logs := newTestApp(t, args...)
	h, err := a.apiHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{t: t, app: a, srv: srv, log: logs}
}

// newTestApp builds the example's app from args as main does (bcrypt at its
// lowest cost, the audit log at debug into the returned buffer), closed when
// the test ends.
func newTestApp(t *testing.T, args ...string) (*app, *config, *syncBuffer) {
	t.Helper()
	cfg, err := parseConfig(append([]string{"-log-level", "debug"}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.bcryptCost = bcrypt.MinCost
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := newApp(ctx, cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, cfg, logs
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (ts *testServer) do(method, path, bearer string, body any, hdr ...string) response {
	ts.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.srv.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" { // net/http sends req.Host, never a Host header
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := ts.srv.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

type tokens struct{ access, refresh string }

func (ts *testServer) login(user, password string) tokens {
	ts.t.Helper()
	res := ts.do("POST", "/auth/login", "", map[string]string{"username": user, "password": password})
	if res.status != http.StatusOK {
		ts.t.Fatalf("login %s: %d %s", user, res.status, res.raw)
	}
	return tokens{access: res.body["access_token"].(string), refresh: res.body["refresh_token"].(string)}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExampleContract(t *testing.T) {
	ts := newTestServer(t)

	// Login: the token response of the contract, no-store.
	res := ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "alice-password"})
	if res.status != 200 || res.body["token_type"] != "Bearer" || res.body["expires_in"] != float64(900) {
		t.Fatalf("login: %d %s", res.status, res.raw)
	}
	if res.header.Get("Cache-Control") != "no-store" || res.header.Get("Pragma") != "no-cache" {
		t.Errorf("token response caching headers: %q %q", res.header.Get("Cache-Control"), res.header.Get("Pragma"))
	}
	alice := tokens{access: res.body["access_token"].(string), refresh: res.body["refresh_token"].(string)}
	parts := strings.Split(alice.access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not JWS compact: %q", alice.access)
	}
	hdr, claims := decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
	if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES256" || hdr["kid"] == nil || len(hdr) != 3 {
		t.Errorf("header = %v, want {alg, kid, typ: at+jwt}", hdr)
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "roles"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("claim %q missing from %v", c, claims)
		}
	}
	if strings.Count(alice.refresh, ".") != 0 || len(alice.refresh) < 43 {
		t.Errorf("refresh token %q should be an opaque 256-bit string, not a JWT", alice.refresh)
	}

	// Protected routes.
	if res := ts.do("GET", "/api/me", alice.access, nil); res.status != 200 || res.body["sub"] != "alice" || res.body["jti"] != claims["jti"] {
		t.Errorf("/api/me: %d %s", res.status, res.raw)
	}
	res = ts.do("GET", "/api/admin", alice.access, nil)
	if res.status != 403 || res.body["error"] != "insufficient_scope" ||
		!strings.Contains(res.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("/api/admin as alice: %d %v %s", res.status, res.header.Get("WWW-Authenticate"), res.raw)
	}
	admin := ts.login("admin", "admin-password")
	if res := ts.do("GET", "/api/admin", admin.access, nil); res.status != 200 {
		t.Errorf("/api/admin as admin: %d %s", res.status, res.raw)
	}

	// No credentials: 401 without an error attribute; a bad token: invalid_token.
	res = ts.do("GET", "/api/me", "", nil)
	// (resource_metadata: RFC 9728 §5.1, the document telling the client how
	// to get a token; the DPoP challenge follows on its own line.)
	if res.status != 401 || res.header.Get("WWW-Authenticate") != `Bearer realm="apiguard-example", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"` {
		t.Errorf("no token: %d %q", res.status, res.header.Get("WWW-Authenticate"))
	}
	res = ts.do("GET", "/api/me", alice.access[:len(alice.access)-4]+"AAAA", nil)
	if res.status != 401 || !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("forged signature: %d %q", res.status, res.header.Get("WWW-Authenticate"))
	}
	if res := ts.do("GET", "/api/me", "", nil, "Authorization", "Bearer a.b.c", "Authorization", "Bearer d.e.f"); res.status != 400 || res.body["error"] != "invalid_request" {
		t.Errorf("two Authorization headers: %d %s", res.status, res.raw)
	}

	// Refresh rotates; a spent token is invalid_grant and revokes the family.
	res = ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": alice.refresh})
	if res.status != 200 || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("refresh: %d %s", res.status, res.raw)
	}
	second := tokens{access: res.body["access_token"].(string), refresh: res.body["refresh_token"].(string)}
	if second.refresh == alice.refresh || second.access == alice.access {
		t.Fatal("refresh returned the same tokens")
	}
	// Within the retry window the spent token gets the same successor back;
	// once the successor is used, the spent token is reuse.
	if res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": alice.refresh}); res.status != 200 || res.body["refresh_token"] != second.refresh {
		t.Errorf("retried refresh: %d %s, want the same successor", res.status, res.raw)
	}
	res = ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": second.refresh})
	if res.status != 200 {
		t.Fatalf("refresh of the successor: %d %s", res.status, res.raw)
	}
	rotated := res.body["refresh_token"].(string)
	if res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": alice.refresh}); res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Errorf("reused refresh token: %d %s", res.status, res.raw)
	}
	if res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": rotated}); res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Errorf("after reuse the family must be revoked, got %d %s", res.status, res.raw)
	}
	for _, bad := range []any{map[string]string{"refresh_token": "nope"}, map[string]string{"refresh_token": strings.Repeat("A", 43)}} {
		if res := ts.do("POST", "/auth/refresh", "", bad); res.status != 400 || res.body["error"] != "invalid_grant" {
			t.Errorf("refresh %v: %d %s", bad, res.status, res.raw)
		}
	}
	if res := ts.do("POST", "/auth/refresh", "", "not an object"); res.status != 400 || res.body["error"] != "invalid_request" {
		t.Errorf("malformed refresh body: %d %s", res.status, res.raw)
	}

	// Logout revokes the access token and its family at once.
	third := ts.login("alice", "alice-password")
	if res := ts.do("POST", "/auth/logout", third.access, nil); res.status != 204 {
		t.Fatalf("logout: %d %s", res.status, res.raw)
	}
	if res := ts.do("GET", "/api/me", third.access, nil); res.status != 401 {
		t.Errorf("access token after logout: %d", res.status)
	}
	if res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": third.refresh}); res.status != 400 {
		t.Errorf("refresh token after logout: %d %s", res.status, res.raw)
	}

	// JWKS and health.
	res = ts.do("GET", "/.well-known/jwks.json", "", nil)
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Cache-Control"), "public, max-age=") {
		t.Errorf("jwks: %d %q", res.status, res.header.Get("Cache-Control"))
	}
	keys, _ := res.body["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks keys = %v", res.body)
	}
	k := keys[0].(map[string]any)
	if k["kid"] != hdr["kid"] || k["alg"] != "ES256" || k["use"] != "sig" || k["d"] != nil {
		t.Errorf("jwks key = %v", k)
	}
	if res := ts.do("GET", "/healthz", "", nil); res.status != 200 || res.raw != "ok" {
		t.Errorf("healthz: %d %q", res.status, res.raw)
	}
}

func TestExampleLoginErrors(t *testing.T) {
	ts := newTestServer(t, "-login-attempts", "3/15m")
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"malformed", "x", 400, "invalid_request"},
		{"unknown field", map[string]string{"username": "alice", "password": "p", "admin": "1"}, 400, "invalid_request"},
		{"missing password", map[string]string{"username": "alice"}, 400, "invalid_request"},
		{"wrong password", map[string]string{"username": "alice", "password": "nope"}, 401, "invalid_credentials"},
		{"unknown user", map[string]string{"username": "mallory", "password": "nope"}, 401, "invalid_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do("POST", "/auth/login", "", tt.body, "User-Agent", "table-"+tt.name)
			if res.status != tt.status || res.body["error"] != tt.code {
				t.Fatalf("got %d %s, want %d %s", res.status, res.raw, tt.status, tt.code)
			}
		})
	}

	// Lockout: after 3 failures the client is refused before its password is
	// checked, even with the right one.
	for i := 0; i < 3; i++ {
		if res := ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "wrong"}, "User-Agent", "attacker"); res.status != 401 {
			t.Fatalf("failure %d: %d", i, res.status)
		}
	}
	res := ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "alice-password"}, "User-Agent", "attacker")
	if res.status != 429 || res.header.Get("Retry-After") == "" {
		t.Fatalf("locked out client: %d Retry-After=%q %s", res.status, res.header.Get("Retry-After"), res.raw)
	}
}

func TestExampleHeadersOnEveryResponse(t *testing.T) {
	ts := newTestServer(t, "-allowed-origins", "http://127.0.0.1:8081")
	origin := "http://127.0.0.1:8081"
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/api/me", 401},
		{"GET", "/nope", 404},
		{"POST", "/auth/login", 400},
	}
	for _, c := range cases {
		res := ts.do(c.method, c.path, "", nil, "Origin", origin)
		if res.status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, res.status, c.status)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "X-Request-Id"} {
			if res.header.Get(h) == "" {
				t.Errorf("%s %s: no %s", c.method, c.path, h)
			}
		}
		if res.header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("%s %s: Access-Control-Allow-Origin = %q", c.method, c.path, res.header.Get("Access-Control-Allow-Origin"))
		}
		if res.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", c.method, c.path)
		}
	}
	// A preflight from a disallowed origin is refused, and never reaches auth.
	res := ts.do("OPTIONS", "/api/me", "", nil, "Origin", "https://evil.test", "Access-Control-Request-Method", "GET")
	if res.status != 403 || res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed preflight: %d %q", res.status, res.header.Get("Access-Control-Allow-Origin"))
	}
	res = ts.do("OPTIONS", "/api/me", "", nil, "Origin", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	if res.status/100 != 2 || res.header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("allowed preflight: %d %q", res.status, res.header.Get("Access-Control-Allow-Origin"))
	}
}

// TestRedirectUsesConfiguredOrigin: the plain-HTTP listener's 301 points at
// the configured HTTPS origin, whatever Host the request names.
func TestRedirectUsesConfiguredOrigin(t *testing.T) {
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:443", "-tls-cert", "c.pem", "-tls-key", "k.pem", "-redirect-addr", "127.0.0.1:80"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg}
	for _, target := range []string{"/", "/api/me?x=1", "//evil.test/path"} {
		req := httptest.NewRequest("GET", "http://evil.test"+target, nil)
		req.Host = "evil.test"
		rec := httptest.NewRecorder()
		a.redirectHandler().ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		u, err := url.Parse(loc)
		if rec.Code != http.StatusMovedPermanently || err != nil || u.Scheme != "https" || u.Host != "127.0.0.1" {
			t.Errorf("GET %s: %d Location %q, want a 301 to https://127.0.0.1/...", target, rec.Code, loc)
		}
	}
}
