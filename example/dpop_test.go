package main

import (
	"context"
	"crypto/ecdsa"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/jose"
	"golang.org/x/crypto/bcrypt"
)

// newTestAppErr builds the example's app from args and returns the error
// parseConfig or newApp gives.
func newTestAppErr(t *testing.T, args ...string) (*app, error) {
	t.Helper()
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		return nil, err
	}
	cfg.bcryptCost = bcrypt.MinCost
	a, err := newApp(context.Background(), cfg, io.Discard)
	if err == nil {
		t.Cleanup(a.Close)
	}
	return a, err
}

// dpopClient is a client holding a DPoP key (P-256, ES256), as the demo
// page does: it signs one proof per request.
type dpopClient struct {
	t   *testing.T
	key *ecdsa.PrivateKey
	jkt string // RFC 7638 thumbprint of the key, what cnf.jkt must be
}

func newDPoPClient(t *testing.T) *dpopClient {
	t.Helper()
	k := mustP256(t)
	jkt, err := jose.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopClient{t: t, key: k, jkt: jkt}
}

// proof signs a proof for method on ts's path (its URL without query: htu).
func (c *dpopClient) proof(ts *testServer, method, path string, opts ...dpoptest.Option) string {
	u, err := url.Parse(ts.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	u.RawQuery = ""
	return dpoptest.NewProof(c.key, "ES256", method, u.String(), opts...)
}

var aliceCreds = map[string]string{"username": "alice", "password": "alice-password"}

// login posts alice's credentials with a proof made with opts.
func (c *dpopClient) login(ts *testServer, opts ...dpoptest.Option) response {
	return ts.do("POST", "/auth/login", "", aliceCreds, "DPoP", c.proof(ts, "POST", "/auth/login", opts...))
}

// mustLogin logs alice in with a proof and checks the answer is a token
// pair bound to c's key.
func (c *dpopClient) mustLogin(ts *testServer, opts ...dpoptest.Option) tokens {
	c.t.Helper()
	res := c.login(ts, opts...)
	if res.status != http.StatusOK || res.body["token_type"] != "DPoP" {
		c.t.Fatalf("DPoP login: %d %s", res.status, res.raw)
	}
	return tokens{access: res.body["access_token"].(string), refresh: res.body["refresh_token"].(string)}
}

// call sends tok with the DPoP scheme and a fresh proof of c's key for it.
func (c *dpopClient) call(ts *testServer, method, path, tok string, opts ...dpoptest.Option) response {
	p := c.proof(ts, method, path, append([]dpoptest.Option{dpoptest.AccessToken(tok)}, opts...)...)
	return ts.do(method, path, "", nil, "Authorization", "DPoP "+tok, "DPoP", p)
}

// refresh spends rt with a proof of c's key.
func (c *dpopClient) refresh(ts *testServer, rt string, opts ...dpoptest.Option) response {
	return ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": rt}, "DPoP", c.proof(ts, "POST", "/auth/refresh", opts...))
}

// cnfJKT is the cnf.jkt claim of an access token ("" when absent).
func cnfJKT(t *testing.T, access string) string {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not JWS compact: %q", access)
	}
	cnf, _ := decodeSegment(t, parts[1])["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// dpopChallenge returns the DPoP challenge line of a response ("" when none).
func dpopChallenge(res response) string {
	for _, v := range res.header.Values("WWW-Authenticate") {
		if strings.HasPrefix(v, "DPoP ") {
			return v
		}
	}
	return ""
}

// TestDPoPLoginIssuesBoundTokens: a login with a proof gets token_type DPoP
// and an access token whose cnf.jkt is the proof key's thumbprint, which
// /api/me reports from the gate's claims; a login without one stays Bearer.
func TestDPoPLoginIssuesBoundTokens(t *testing.T) {
	ts := newTestServer(t)
	c := newDPoPClient(t)
	tok := c.mustLogin(ts)
	if got := cnfJKT(t, tok.access); got != c.jkt {
		t.Fatalf("cnf.jkt = %q, want the proof key's thumbprint %q", got, c.jkt)
	}
	res := c.call(ts, "GET", "/api/me", tok.access)
	if res.status != http.StatusOK {
		t.Fatalf("/api/me with a proof: %d %s", res.status, res.raw)
	}
	if cnf, _ := res.body["cnf"].(map[string]any); cnf["jkt"] != c.jkt {
		t.Errorf("/api/me cnf = %v, want jkt %q", res.body["cnf"], c.jkt)
	}

	bearer := ts.login("alice", "alice-password")
	if got := cnfJKT(t, bearer.access); got != "" {
		t.Errorf("a login without a proof got cnf.jkt %q", got)
	}
	if res := ts.do("GET", "/api/me", bearer.access, nil); res.status != http.StatusOK || res.body["cnf"] != nil {
		t.Errorf("Bearer /api/me: %d %s", res.status, res.raw)
	}
}

// TestDPoPTokenEndpointProofs: every bad proof at login is 400
// invalid_dpop_proof (RFC 9449 §5), before the password is looked at, and
// issues nothing.
func TestDPoPTokenEndpointProofs(t *testing.T) {
	ts := newTestServer(t)
	c := newDPoPClient(t)
	spent := c.proof(ts, "POST", "/auth/login")
	if res := ts.do("POST", "/auth/login", "", aliceCreds, "DPoP", spent); res.status != http.StatusOK {
		t.Fatalf("login with a fresh proof: %d %s", res.status, res.raw)
	}
	tests := []struct {
		name  string
		proof []string // DPoP header values
	}{
		{"replayed proof", []string{spent}},
		{"wrong htm", []string{c.proof(ts, "GET", "/auth/login")}},
		{"another path", []string{c.proof(ts, "POST", "/auth/refresh")}},
		{"another host", []string{dpoptest.NewProof(c.key, "ES256", "POST", "http://api.example/auth/login")}},
		{"no jti", []string{c.proof(ts, "POST", "/auth/login", dpoptest.Claim("jti", ""))}},
		{"wrong typ", []string{c.proof(ts, "POST", "/auth/login", dpoptest.Header("typ", `"JWT"`))}},
		{"alg none", []string{c.proof(ts, "POST", "/auth/login", dpoptest.Header("alg", `"none"`))}},
		{"two proofs", []string{c.proof(ts, "POST", "/auth/login"), c.proof(ts, "POST", "/auth/login")}},
		{"not a JWS", []string{"a.b.c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{}
			for _, p := range tt.proof {
				hdr = append(hdr, "DPoP", p)
			}
			res := ts.do("POST", "/auth/login", "", aliceCreds, hdr...)
			if res.status != http.StatusBadRequest || res.body["error"] != "invalid_dpop_proof" {
				t.Fatalf("login: %d %s; want 400 invalid_dpop_proof", res.status, res.raw)
			}
			if _, ok := res.body["access_token"]; ok {
				t.Fatal("a token was issued")
			}
		})
	}
	// A good proof with a wrong password is the password's 401.
	res := ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "nope"}, "DPoP", c.proof(ts, "POST", "/auth/login"))
	if res.status != http.StatusUnauthorized || res.body["error"] != "invalid_credentials" {
		t.Errorf("wrong password with a proof: %d %s", res.status, res.raw)
	}
}

// TestDPoPResourceRules: a bound token passes with a fresh proof of its key
// only; the Bearer scheme, a replayed proof, another key, another token's
// ath, another URL are each 401 with a DPoP challenge (RFC 9449 §7).
func TestDPoPResourceRules(t *testing.T) {
	ts := newTestServer(t)
	c, thief := newDPoPClient(t), newDPoPClient(t)
	tok := c.mustLogin(ts)
	other := c.mustLogin(ts) // another token bound to the same key
	bearer := ts.login("alice", "alice-password")

	used := c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(tok.access))
	if res := ts.do("GET", "/api/me", "", nil, "Authorization", "DPoP "+tok.access, "DPoP", used); res.status != http.StatusOK {
		t.Fatalf("first use of a proof: %d %s", res.status, res.raw)
	}

	tests := []struct {
		name string
		hdr  []string
		want int
	}{
		{"fresh proof", []string{"Authorization", "DPoP " + tok.access, "DPoP", c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(tok.access))}, 200},
		{"query left out of htu", nil, 200}, // built below: the request has a query, htu none
		{"replayed proof", []string{"Authorization", "DPoP " + tok.access, "DPoP", used}, 401},
		{"bound token as Bearer", []string{"Authorization", "Bearer " + tok.access}, 401},
		{"bound token as Bearer with a proof", []string{"Authorization", "Bearer " + tok.access, "DPoP", c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(tok.access))}, 401},
		{"proof from another key", []string{"Authorization", "DPoP " + tok.access, "DPoP", thief.proof(ts, "GET", "/api/me", dpoptest.AccessToken(tok.access))}, 401},
		{"ath of another token", []string{"Authorization", "DPoP " + tok.access, "DPoP", c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(other.access))}, 401},
		{"no ath", []string{"Authorization", "DPoP " + tok.access, "DPoP", c.proof(ts, "GET", "/api/me")}, 401},
		{"proof for another path", []string{"Authorization", "DPoP " + tok.access, "DPoP", c.proof(ts, "GET", "/api/admin", dpoptest.AccessToken(tok.access))}, 401},
		{"proof for another method", []string{"Authorization", "DPoP " + tok.access, "DPoP", c.proof(ts, "POST", "/api/me", dpoptest.AccessToken(tok.access))}, 401},
		{"DPoP scheme without a proof", []string{"Authorization", "DPoP " + tok.access}, 401},
		{"unbound token with the DPoP scheme", []string{"Authorization", "DPoP " + bearer.access, "DPoP", c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(bearer.access))}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/api/me"
			hdr := tt.hdr
			if hdr == nil {
				path = "/api/me?x=1"
				hdr = []string{"Authorization", "DPoP " + tok.access, "DPoP", c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(tok.access))}
			}
			res := ts.do("GET", path, "", nil, hdr...)
			if res.status != tt.want {
				t.Fatalf("status %d, want %d: %s %v", res.status, tt.want, res.raw, res.header.Values("WWW-Authenticate"))
			}
			if tt.want == 401 && !strings.Contains(dpopChallenge(res), `algs="`) {
				t.Errorf("401 without a DPoP challenge with algs: %q", res.header.Values("WWW-Authenticate"))
			}
		})
	}
	// The replay's refusal says why, on the DPoP challenge.
	res := ts.do("GET", "/api/me", "", nil, "Authorization", "DPoP "+tok.access, "DPoP", used)
	if ch := dpopChallenge(res); !strings.Contains(ch, `error="invalid_dpop_proof"`) {
		t.Errorf("replayed proof: challenge %q, want error=\"invalid_dpop_proof\"", ch)
	}
}

// TestDPoPRefreshBoundToKey: a family started with a proof is refreshed with
// a proof of the same key only (RFC 9449 §5); another key, or none, is
// refused without spending the token, so its holder still refreshes.
func TestDPoPRefreshBoundToKey(t *testing.T) {
	ts := newTestServer(t)
	c, thief := newDPoPClient(t), newDPoPClient(t)
	tok := c.mustLogin(ts)

	if res := thief.refresh(ts, tok.refresh); res.status != http.StatusBadRequest || res.body["error"] != "invalid_grant" {
		t.Fatalf("refresh with another key: %d %s; want 400 invalid_grant", res.status, res.raw)
	}
	if res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": tok.refresh}); res.status != http.StatusBadRequest || res.body["error"] != "invalid_grant" {
		t.Fatalf("refresh without a proof: %d %s; want 400 invalid_grant", res.status, res.raw)
	}
	res := c.refresh(ts, tok.refresh)
	if res.status != http.StatusOK || res.body["token_type"] != "DPoP" {
		t.Fatalf("refresh with the family's key after the refusals: %d %s", res.status, res.raw)
	}
	next := tokens{access: res.body["access_token"].(string), refresh: res.body["refresh_token"].(string)}
	if got := cnfJKT(t, next.access); got != c.jkt {
		t.Errorf("refreshed cnf.jkt = %q, want %q", got, c.jkt)
	}
	if res := c.call(ts, "GET", "/api/me", next.access); res.status != http.StatusOK {
		t.Errorf("refreshed token with its key: %d %s", res.status, res.raw)
	}
	if res := thief.refresh(ts, next.refresh); res.status != http.StatusBadRequest {
		t.Errorf("the next refresh token with another key: %d %s", res.status, res.raw)
	}
	if res := c.refresh(ts, next.refresh); res.status != http.StatusOK {
		t.Errorf("the next refresh token with its key: %d %s", res.status, res.raw)
	}

	// A Bearer family refreshed with a proof is refused too (the proof
	// would bind a token the family never was), and stays usable.
	bearer := ts.login("alice", "alice-password")
	if res := c.refresh(ts, bearer.refresh); res.status != http.StatusBadRequest {
		t.Errorf("Bearer family refreshed with a proof: %d %s", res.status, res.raw)
	}
	if res := ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": bearer.refresh}); res.status != http.StatusOK || res.body["token_type"] != "Bearer" {
		t.Errorf("Bearer family refreshed without a proof: %d %s", res.status, res.raw)
	}
	// A bad proof at refresh is invalid_dpop_proof.
	if res := c.refresh(ts, next.refresh, dpoptest.Header("typ", `"JWT"`)); res.status != http.StatusBadRequest || res.body["error"] != "invalid_dpop_proof" {
		t.Errorf("refresh with a bad proof: %d %s", res.status, res.raw)
	}
}

// TestDPoPModes: -dpop off issues Bearer tokens whatever the client sends
// and refuses the DPoP scheme; -dpop required refuses a login without a
// proof and challenges with DPoP alone.
func TestDPoPModes(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		ts := newTestServer(t, "-dpop", "off")
		c := newDPoPClient(t)
		res := c.login(ts)
		if res.status != http.StatusOK || res.body["token_type"] != "Bearer" {
			t.Fatalf("login with a proof, DPoP off: %d %s", res.status, res.raw)
		}
		access := res.body["access_token"].(string)
		if got := cnfJKT(t, access); got != "" {
			t.Errorf("cnf.jkt %q with DPoP off", got)
		}
		if res := c.call(ts, "GET", "/api/me", access); res.status != http.StatusUnauthorized {
			t.Errorf("DPoP scheme with DPoP off: %d %s", res.status, res.raw)
		}
		if res := ts.do("GET", "/api/me", access, nil); res.status != http.StatusOK {
			t.Errorf("Bearer with DPoP off: %d %s", res.status, res.raw)
		}
	})
	t.Run("required", func(t *testing.T) {
		ts := newTestServer(t, "-dpop", "required")
		res := ts.do("POST", "/auth/login", "", aliceCreds)
		if res.status != http.StatusBadRequest || res.body["error"] != "invalid_dpop_proof" {
			t.Fatalf("login without a proof, DPoP required: %d %s", res.status, res.raw)
		}
		c := newDPoPClient(t)
		tok := c.mustLogin(ts)
		if res := c.call(ts, "GET", "/api/me", tok.access); res.status != http.StatusOK {
			t.Errorf("DPoP call, DPoP required: %d %s", res.status, res.raw)
		}
		res = ts.do("GET", "/api/me", "", nil)
		ch := res.header.Values("WWW-Authenticate")
		if res.status != http.StatusUnauthorized || len(ch) != 1 || !strings.HasPrefix(ch[0], "DPoP ") {
			t.Errorf("no token, DPoP required: %d %q; want a DPoP challenge alone", res.status, ch)
		}
		res = ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "x"}, "DPoP", c.proof(ts, "POST", "/auth/login"))
		ch = res.header.Values("WWW-Authenticate")
		if res.status != http.StatusUnauthorized || len(ch) != 1 || !strings.HasPrefix(ch[0], "DPoP ") {
			t.Errorf("wrong password, DPoP required: %d %q; want a DPoP challenge alone", res.status, ch)
		}
	})
}

// TestDPoPNonce: with -dpop-nonce a proof without the server's nonce gets
// use_dpop_nonce and a DPoP-Nonce to retry with (400 at the token endpoint,
// 401 at the API, RFC 9449 §8-9); instances sharing -client-secret accept
// each other's nonces, an instance with another secret does not.
func TestDPoPNonce(t *testing.T) {
	key := writeTestKey(t)
	args := []string{"-dpop-nonce", "-key", key, "-client-secret", strings.Repeat("s", 32)}
	one, two := newTestServer(t, args...), newTestServer(t, args...)
	stranger := newTestServer(t, "-dpop-nonce", "-key", key, "-client-secret", strings.Repeat("t", 32))
	c := newDPoPClient(t)

	res := c.login(one)
	nonce := res.header.Get("DPoP-Nonce")
	if res.status != http.StatusBadRequest || res.body["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("login without a nonce: %d %s (DPoP-Nonce %q); want 400 use_dpop_nonce with a nonce", res.status, res.raw, nonce)
	}
	tok := c.mustLogin(one, dpoptest.Nonce(nonce))
	if res := c.call(one, "GET", "/api/me", tok.access, dpoptest.Nonce(nonce)); res.status != http.StatusOK {
		t.Fatalf("call with the nonce: %d %s", res.status, res.raw)
	}
	res = c.call(one, "GET", "/api/me", tok.access)
	if res.status != http.StatusUnauthorized || !strings.Contains(dpopChallenge(res), `error="use_dpop_nonce"`) || res.header.Get("DPoP-Nonce") == "" {
		t.Errorf("call without a nonce: %d %q (DPoP-Nonce %q)", res.status, res.header.Values("WWW-Authenticate"), res.header.Get("DPoP-Nonce"))
	}
	if res := c.call(one, "GET", "/api/me", tok.access, dpoptest.Nonce(nonce+"x")); res.status != http.StatusUnauthorized {
		t.Errorf("call with a forged nonce: %d %s", res.status, res.raw)
	}
	if res := c.call(two, "GET", "/api/me", tok.access, dpoptest.Nonce(nonce)); res.status != http.StatusOK {
		t.Errorf("instance two refuses instance one's nonce: %d %s %q", res.status, res.raw, res.header.Values("WWW-Authenticate"))
	}
	if res := c.call(stranger, "GET", "/api/me", tok.access, dpoptest.Nonce(nonce)); res.status != http.StatusUnauthorized {
		t.Errorf("an instance with another secret accepts the nonce: %d %s", res.status, res.raw)
	}
}

// TestDPoPReplayAcrossInstances: with -redis, a proof used on one instance is
// a replay on another (real redis-server), and the instances agree on
// nonces through the client-key secret they share there.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	args := []string{"-redis", rs.URL(), "-key", writeTestKey(t), "-dpop-nonce"}
	one, two := newTestServer(t, args...), newTestServer(t, args...)
	c := newDPoPClient(t)
	nonce := c.login(one).header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce from a login without one")
	}
	tok := c.mustLogin(one, dpoptest.Nonce(nonce))

	// Instance two sees the request as sent to instance one's host: the
	// proof's htu matches there, so only the replay check can refuse it.
	host := strings.TrimPrefix(one.srv.URL, "http://")
	fresh := c.proof(one, "GET", "/api/me", dpoptest.AccessToken(tok.access), dpoptest.Nonce(nonce))
	if res := two.do("GET", "/api/me", "", nil, "Host", host, "Authorization", "DPoP "+tok.access, "DPoP", fresh); res.status != http.StatusOK {
		t.Fatalf("instance two, a fresh proof made for instance one's URL: %d %s %q", res.status, res.raw, res.header.Values("WWW-Authenticate"))
	}
	used := c.proof(one, "GET", "/api/me", dpoptest.AccessToken(tok.access), dpoptest.Nonce(nonce))
	if res := one.do("GET", "/api/me", "", nil, "Authorization", "DPoP "+tok.access, "DPoP", used); res.status != http.StatusOK {
		t.Fatalf("instance one: %d %s", res.status, res.raw)
	}
	res := two.do("GET", "/api/me", "", nil, "Host", host, "Authorization", "DPoP "+tok.access, "DPoP", used)
	if res.status != http.StatusUnauthorized || !strings.Contains(dpopChallenge(res), `error="invalid_dpop_proof"`) {
		t.Fatalf("the proof replayed on instance two: %d %q; want 401 invalid_dpop_proof", res.status, res.header.Values("WWW-Authenticate"))
	}
	// The same at the token endpoint: a login proof spent on one is spent
	// on two.
	login := c.proof(one, "POST", "/auth/login", dpoptest.Nonce(nonce))
	if res := one.do("POST", "/auth/login", "", aliceCreds, "DPoP", login); res.status != http.StatusOK {
		t.Fatalf("login on one: %d %s", res.status, res.raw)
	}
	if res := two.do("POST", "/auth/login", "", aliceCreds, "Host", host, "DPoP", login); res.status != http.StatusBadRequest || res.body["error"] != "invalid_dpop_proof" {
		t.Errorf("login proof replayed on two: %d %s", res.status, res.raw)
	}
}

// TestResourceMetadata: the RFC 9728 document is served at the well-known
// path (with the path inserted for a resource that has one) and named by
// every 401 challenge.
func TestResourceMetadata(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do("GET", "/.well-known/oauth-protected-resource", "", nil)
	if res.status != http.StatusOK || res.body["resource"] != "http://127.0.0.1:8080" {
		t.Fatalf("metadata: %d %s", res.status, res.raw)
	}
	if algs, _ := res.body["dpop_signing_alg_values_supported"].([]any); len(algs) == 0 {
		t.Errorf("metadata lists no DPoP algorithms: %s", res.raw)
	}
	if res.body["dpop_bound_access_tokens_required"] == true {
		t.Errorf("metadata says DPoP is required by default: %s", res.raw)
	}
	want := `resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
	for _, ch := range ts.do("GET", "/api/me", "", nil).header.Values("WWW-Authenticate") {
		if !strings.Contains(ch, want) {
			t.Errorf("challenge %q does not name the metadata", ch)
		}
	}

	ts = newTestServer(t, "-resource", "https://api.example/v1", "-dpop", "required")
	res = ts.do("GET", "/.well-known/oauth-protected-resource/v1", "", nil)
	if res.status != http.StatusOK || res.body["resource"] != "https://api.example/v1" || res.body["dpop_bound_access_tokens_required"] != true {
		t.Fatalf("metadata of a resource with a path: %d %s", res.status, res.raw)
	}
	if res := ts.do("GET", "/.well-known/oauth-protected-resource", "", nil); res.status != http.StatusNotFound {
		t.Errorf("the path-less well-known URL of a resource with a path: %d", res.status)
	}
	if _, err := newTestAppErr(t, "-resource", "ftp://api.example/"); err == nil {
		t.Error("-resource ftp://... was accepted")
	}
}

// TestStepUpRoute: /api/admin/stepup wants an authentication within 5
// minutes; the example's tokens carry no auth_time, so an admin gets 401
// insufficient_user_authentication with max_age, alice the role's 403.
func TestStepUpRoute(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.login("admin", "admin-password")
	res := ts.do("GET", "/api/admin/stepup", admin.access, nil)
	ch := res.header.Get("WWW-Authenticate")
	if res.status != http.StatusUnauthorized || !strings.Contains(ch, `error="insufficient_user_authentication"`) || !strings.Contains(ch, `max_age="300"`) {
		t.Errorf("stepup as admin: %d %q %s", res.status, ch, res.raw)
	}
	alice := ts.login("alice", "alice-password")
	if res := ts.do("GET", "/api/admin/stepup", alice.access, nil); res.status != http.StatusForbidden {
		t.Errorf("stepup as alice: %d %s", res.status, res.raw)
	}
}
