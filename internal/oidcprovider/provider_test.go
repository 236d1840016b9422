package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// --- a verifier of our own, standard library only, so the test does not
// trust zitadel's (or go-jose's) idea of what it signed ---

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	// Private RSA members; a JWKS must never carry them.
	D  string `json:"d"`
	P  string `json:"p"`
	Q  string `json:"q"`
	DP string `json:"dp"`
	DQ string `json:"dq"`
	QI string `json:"qi"`
}

type jwks struct {
	Keys []jwk `json:"keys"`
}

func (s jwks) kids() []string {
	var ids []string
	for _, k := range s.Keys {
		ids = append(ids, k.Kid)
	}
	return ids
}

func (k jwk) rsaPublicKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("kty %q", k.Kty)
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		return nil, fmt.Errorf("n: %w", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		return nil, fmt.Errorf("e: %w", err)
	}
	eInt := new(big.Int).SetBytes(e)
	if !eInt.IsInt64() || eInt.Int64() > 1<<31-1 {
		return nil, errors.New("e out of range")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eInt.Int64())}, nil
}

// rfc7638 computes the RSA JWK thumbprint from the members themselves.
func rfc7638(k jwk) string {
	sum := sha256.Sum256([]byte(`{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type accessClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      []string `json:"aud"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Jti      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
}

// verifyJWT checks an RS256 compact JWS against set and decodes it.
func verifyJWT(token string, set jwks) (jwtHeader, accessClaims, map[string]json.RawMessage, error) {
	var h jwtHeader
	var c accessClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, c, nil, fmt.Errorf("%d parts, want 3", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return h, c, nil, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, c, nil, fmt.Errorf("header: %w", err)
	}
	if h.Alg != "RS256" {
		return h, c, nil, fmt.Errorf("alg %q, want RS256", h.Alg)
	}
	var key *rsa.PublicKey
	for _, k := range set.Keys {
		if k.Kid == h.Kid {
			if key, err = k.rsaPublicKey(); err != nil {
				return h, c, nil, fmt.Errorf("key %s: %w", k.Kid, err)
			}
		}
	}
	if key == nil {
		return h, c, nil, fmt.Errorf("kid %q not in the JWKS", h.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return h, c, nil, fmt.Errorf("signature: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return h, c, nil, fmt.Errorf("signature: %w", err)
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return h, c, nil, fmt.Errorf("payload: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(pb, &raw); err != nil {
		return h, c, nil, fmt.Errorf("payload: %w", err)
	}
	if err := json.Unmarshal(pb, &c); err != nil {
		return h, c, nil, fmt.Errorf("payload: %w", err)
	}
	return h, c, raw, nil
}

// --- HTTP helpers ---

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, body)
	}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

// postToken sends a token request; basic, when not nil, is the client_secret_basic pair.
func postToken(t *testing.T, endpoint string, form url.Values, basic *[2]string) (int, tokenResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("POST %s: %d, not JSON: %s", endpoint, resp.StatusCode, body)
	}
	return resp.StatusCode, tr
}

type discovery struct {
	Issuer                string   `json:"issuer"`
	JwksURI               string   `json:"jwks_uri"`
	TokenEndpoint         string   `json:"token_endpoint"`
	GrantTypes            []string `json:"grant_types_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported       []string `json:"scopes_supported"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
}

// startRun starts the real command (flags, loopback listener, ready line) and
// stops it when the test ends.
func startRun(t *testing.T, args ...string) (issuer, stdout string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &out, ready) }()
	select {
	case issuer = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run exited before ready: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("provider not ready in 30s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run after shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("provider did not shut down in 10s")
		}
	})
	return issuer, out.String() // written before ready was sent
}

var (
	defaultBasic = &[2]string{"apiguard-e2e", "apiguard-e2e-secret"}
	ccForm       = url.Values{"grant_type": {"client_credentials"}}
)

// TestEndToEnd drives the provider as apiguard's e2e test will: discovery,
// JWKS, a client_credentials token checked with our own RS256 verifier, a key
// rotation, a second token under the new kid, and the old token still valid.
func TestEndToEnd(t *testing.T) {
	issuer, stdout := startRun(t, "-addr", "127.0.0.1:0")

	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*$`).MatchString(issuer) {
		t.Fatalf("issuer %q is not an http loopback URL with a port", issuer)
	}
	if want := "oidcprovider: issuer " + issuer + "\n"; stdout != want {
		t.Fatalf("stdout %q, want exactly %q", stdout, want)
	}

	var d discovery
	getJSON(t, issuer+"/.well-known/openid-configuration", &d)
	if d.Issuer != issuer {
		t.Fatalf("discovery issuer %q, want %q", d.Issuer, issuer)
	}
	if d.JwksURI != issuer+"/keys" || d.TokenEndpoint != issuer+"/oauth/token" {
		t.Fatalf("jwks_uri %q, token_endpoint %q", d.JwksURI, d.TokenEndpoint)
	}
	if !slices.Contains(d.GrantTypes, "client_credentials") {
		t.Fatalf("grant_types_supported %v lacks client_credentials", d.GrantTypes)
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post"} {
		if !slices.Contains(d.TokenAuthMethods, m) {
			t.Fatalf("token_endpoint_auth_methods_supported %v lacks %s", d.TokenAuthMethods, m)
		}
	}
	if !slices.Equal(d.SigningAlgs, []string{"RS256"}) {
		t.Fatalf("id_token_signing_alg_values_supported %v", d.SigningAlgs)
	}
	if !slices.Equal(d.ScopesSupported, []string{"e2e.read", "e2e.write"}) {
		t.Fatalf("scopes_supported %v", d.ScopesSupported)
	}

	var set1 jwks
	getJSON(t, d.JwksURI, &set1)
	if len(set1.Keys) != 1 {
		t.Fatalf("JWKS has %d keys before rotation, want 1", len(set1.Keys))
	}
	k1 := set1.Keys[0]
	if k1.Kty != "RSA" || k1.Alg != "RS256" || k1.Use != "sig" || k1.Kid == "" {
		t.Fatalf("JWKS key %+v", k1)
	}
	if k1.D+k1.P+k1.Q+k1.DP+k1.DQ+k1.QI != "" {
		t.Fatal("JWKS leaks private key members")
	}
	if got := rfc7638(k1); k1.Kid != got {
		t.Fatalf("kid %q is not the key's RFC 7638 thumbprint %q", k1.Kid, got)
	}
	pub1, err := k1.rsaPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if pub1.N.BitLen() != 2048 || pub1.E != 65537 {
		t.Fatalf("key is %d bits, e=%d; want RSA-2048, e=65537", pub1.N.BitLen(), pub1.E)
	}

	// Token 1: client_secret_basic, no scope asked, so all allowed scopes.
	status, tr1 := postToken(t, d.TokenEndpoint, ccForm, defaultBasic)
	if status != http.StatusOK || tr1.AccessToken == "" {
		t.Fatalf("token: %d %+v", status, tr1)
	}
	if tr1.TokenType != "Bearer" || tr1.ExpiresIn < 295 || tr1.ExpiresIn > 300 || tr1.Scope != "e2e.read e2e.write" {
		t.Fatalf("token response %+v", tr1)
	}
	before := time.Now().Unix()
	h1, c1, raw1, err := verifyJWT(tr1.AccessToken, set1)
	if err != nil {
		t.Fatalf("token 1 does not verify against the JWKS: %v", err)
	}
	if h1.Kid != k1.Kid || h1.Typ != "JWT" {
		t.Fatalf("header %+v; want kid %s, typ JWT (zitadel's op always sets typ JWT)", h1, k1.Kid)
	}
	if c1.Iss != issuer || c1.Sub != "apiguard-e2e" || c1.ClientID != "apiguard-e2e" {
		t.Fatalf("claims iss %q sub %q client_id %q", c1.Iss, c1.Sub, c1.ClientID)
	}
	if !slices.Equal(c1.Aud, []string{"apiguard-e2e-api"}) {
		t.Fatalf("aud %v, want [apiguard-e2e-api]", c1.Aud)
	}
	if c1.Exp-c1.Iat != 300 || c1.Nbf != c1.Iat {
		t.Fatalf("exp-iat = %d, nbf %d iat %d; want a 5-minute token valid from iat", c1.Exp-c1.Iat, c1.Nbf, c1.Iat)
	}
	if c1.Iat < before-60 || c1.Iat > before+60 {
		t.Fatalf("iat %d is not now (%d)", c1.Iat, before)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(c1.Jti) {
		t.Fatalf("jti %q", c1.Jti)
	}
	if c1.Scope != "e2e.read e2e.write" {
		t.Fatalf("scope claim %q", c1.Scope)
	}
	var wantClaims = []string{"aud", "client_id", "exp", "iat", "iss", "jti", "nbf", "scope", "sub"}
	var gotClaims []string
	for k := range raw1 {
		gotClaims = append(gotClaims, k)
	}
	slices.Sort(gotClaims)
	if !slices.Equal(gotClaims, wantClaims) {
		t.Fatalf("claims %v, want exactly %v", gotClaims, wantClaims)
	}

	// The verifier is not a rubber stamp: a changed payload must fail.
	parts := strings.Split(tr1.AccessToken, ".")
	forged := strings.Replace(string(mustB64(t, parts[1])), `"sub":"apiguard-e2e"`, `"sub":"someone-else"`, 1)
	if forged == string(mustB64(t, parts[1])) {
		t.Fatal("test could not forge the payload")
	}
	if _, _, _, err := verifyJWT(parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(forged))+"."+parts[2], set1); err == nil {
		t.Fatal("a token with a changed payload verified")
	}

	// Rotate.
	resp, err := http.Post(issuer+RotatePath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rot struct {
		KID string `json:"kid"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rot)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || rot.KID == "" {
		t.Fatalf("rotate: %d %v %+v", resp.StatusCode, err, rot)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("rotate Content-Type %q", ct)
	}
	if rot.KID == k1.Kid {
		t.Fatal("rotation kept the kid")
	}

	var set2 jwks
	getJSON(t, d.JwksURI, &set2)
	if !slices.Equal(set2.kids(), []string{k1.Kid, rot.KID}) {
		t.Fatalf("JWKS kids after rotation %v, want [%s %s]", set2.kids(), k1.Kid, rot.KID)
	}
	if set2.Keys[0] != k1 {
		t.Fatal("the old key changed in the JWKS")
	}
	if rfc7638(set2.Keys[1]) != rot.KID {
		t.Fatal("new kid is not the new key's thumbprint")
	}

	// Token 2: client_secret_post, one scope, signed by the new key.
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"apiguard-e2e"},
		"client_secret": {"apiguard-e2e-secret"},
		"scope":         {"e2e.read"},
	}
	status, tr2 := postToken(t, d.TokenEndpoint, form, nil)
	if status != http.StatusOK || tr2.Scope != "e2e.read" {
		t.Fatalf("token 2 (client_secret_post): %d %+v", status, tr2)
	}
	h2, c2, _, err := verifyJWT(tr2.AccessToken, set2)
	if err != nil {
		t.Fatalf("token 2 does not verify: %v", err)
	}
	if h2.Kid != rot.KID {
		t.Fatalf("token 2 kid %q, want the new %q", h2.Kid, rot.KID)
	}
	if c2.Scope != "e2e.read" || c2.Sub != "apiguard-e2e" || c2.Iss != issuer || !slices.Equal(c2.Aud, []string{"apiguard-e2e-api"}) {
		t.Fatalf("token 2 claims %+v", c2)
	}
	if c2.Jti == c1.Jti {
		t.Fatal("two tokens share a jti")
	}
	// Token 2 needs the new key: the pre-rotation JWKS must not verify it.
	if _, _, _, err := verifyJWT(tr2.AccessToken, set1); err == nil {
		t.Fatal("token 2 verified against the JWKS that lacks its key")
	}
	// Token 1 still verifies after the rotation, with the old key only.
	if _, _, _, err := verifyJWT(tr1.AccessToken, set2); err != nil {
		t.Fatalf("token 1 no longer verifies after rotation: %v", err)
	}
	onlyNew := jwks{Keys: []jwk{set2.Keys[1]}}
	onlyNew.Keys[0].Kid = k1.Kid // right kid, wrong key
	if _, _, _, err := verifyJWT(tr1.AccessToken, onlyNew); err == nil {
		t.Fatal("token 1 verified with the new key under the old kid")
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFlags: -client-id, -client-secret, -audience and -token-lifetime land
// in the token; the defaults no longer work.
func TestFlags(t *testing.T) {
	issuer, _ := startRun(t,
		"-addr", "127.0.0.1:0",
		"-client-id", "svc-a",
		"-client-secret", "s3cret",
		"-audience", "https://api.example,second-api",
		"-scopes", "orders:read,orders:write",
		"-token-lifetime", "90s",
	)
	status, tr := postToken(t, issuer+"/oauth/token", ccForm, &[2]string{"svc-a", "s3cret"})
	if status != http.StatusOK {
		t.Fatalf("token: %d %+v", status, tr)
	}
	var set jwks
	getJSON(t, issuer+"/keys", &set)
	_, c, _, err := verifyJWT(tr.AccessToken, set)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sub != "svc-a" || c.ClientID != "svc-a" || c.Iss != issuer {
		t.Fatalf("claims %+v", c)
	}
	if !slices.Equal(c.Aud, []string{"https://api.example", "second-api"}) {
		t.Fatalf("aud %v", c.Aud)
	}
	if c.Exp-c.Iat != 90 || c.Scope != "orders:read orders:write" {
		t.Fatalf("exp-iat %d, scope %q", c.Exp-c.Iat, c.Scope)
	}
	if status, tr := postToken(t, issuer+"/oauth/token", ccForm, defaultBasic); status != http.StatusUnauthorized || tr.Error != "invalid_client" {
		t.Fatalf("default credentials on a configured client: %d %+v", status, tr)
	}
}

// TestRefusals: what the provider must not do.
func TestRefusals(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	p, err := NewProvider(Config{
		Issuer: issuer, ClientID: "apiguard-e2e", ClientSecret: "apiguard-e2e-secret",
		Audience: []string{"apiguard-e2e-api"}, Scopes: []string{"e2e.read"}, TokenLifetime: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	defer srv.Close()
	tokenURL := issuer + "/oauth/token"

	cases := []struct {
		name   string
		form   url.Values
		basic  *[2]string
		status int
		errc   string
	}{
		{"wrong secret", ccForm, &[2]string{"apiguard-e2e", "nope"}, 401, "invalid_client"},
		{"unknown client", ccForm, &[2]string{"other", "apiguard-e2e-secret"}, 401, "invalid_client"},
		{"no credentials", ccForm, nil, 401, "invalid_client"},
		{"wrong secret, post", url.Values{"grant_type": {"client_credentials"}, "client_id": {"apiguard-e2e"}, "client_secret": {"x"}}, nil, 401, "invalid_client"},
		{"scope not allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {"e2e.read admin"}}, defaultBasic, 400, "invalid_scope"},
		{"authorization_code", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"http://127.0.0.1/cb"}}, defaultBasic, 0, ""},
		{"jwt-bearer", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}}, nil, 0, ""},
		{"refresh_token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, defaultBasic, 0, ""},
	}
	for _, tc := range cases {
		status, tr := postToken(t, tokenURL, tc.form, tc.basic)
		if tr.AccessToken != "" || status == http.StatusOK {
			t.Errorf("%s: issued a token (%d)", tc.name, status)
			continue
		}
		if tc.status != 0 && (status != tc.status || tr.Error != tc.errc) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, tr.Error, tc.status, tc.errc)
		}
	}

	kid := p.SigningKID()
	// GET is refused and rotates nothing.
	resp, err := http.Get(issuer + RotatePath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET rotate: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// A non-loopback peer is refused. In process only: the request never
	// leaves the test, RemoteAddr is just set.
	for _, remote := range []string{"192.0.2.10:5555", "[2001:db8::1]:5555", "garbage"} {
		req := httptest.NewRequest(http.MethodPost, issuer+RotatePath, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("rotate from %s: %d, want 403", remote, rec.Code)
		}
	}
	// A forwarding header does not make a remote peer local.
	req := httptest.NewRequest(http.MethodPost, issuer+RotatePath, nil)
	req.RemoteAddr = "192.0.2.10:5555"
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	req.Header.Set("Forwarded", "for=127.0.0.1")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("rotate with forwarding headers: %d, want 403", rec.Code)
	}
	if p.SigningKID() != kid {
		t.Fatal("a refused rotate request rotated the key")
	}
	var set jwks
	getJSON(t, issuer+"/keys", &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys after refused rotations", len(set.Keys))
	}
	// IPv4-mapped loopback counts as loopback.
	req = httptest.NewRequest(http.MethodPost, issuer+RotatePath, nil)
	req.RemoteAddr = "[::ffff:127.0.0.1]:5555"
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || p.SigningKID() == kid {
		t.Fatalf("rotate from mapped loopback: %d", rec.Code)
	}
}

// TestRunRefusesNonLoopback: the command never binds a non-loopback address.
func TestRunRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0", "example.com:0", "nonsense"} {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		var out bytes.Buffer
		err := run(ctx, []string{"-addr", addr}, &out, ready)
		cancel()
		if err == nil {
			t.Fatalf("-addr %s: run returned nil", addr)
		}
		if out.Len() != 0 || len(ready) != 0 {
			t.Fatalf("-addr %s: announced an issuer", addr)
		}
	}
}

func TestNewProviderValidates(t *testing.T) {
	good := Config{Issuer: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", Audience: []string{"a"}, TokenLifetime: time.Minute}
	if _, err := NewProvider(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.ClientID = "" },
		func(c *Config) { c.ClientSecret = "" },
		func(c *Config) { c.Audience = nil },
		func(c *Config) { c.Audience = []string{""} },
		func(c *Config) { c.TokenLifetime = 0 },
		func(c *Config) { c.Issuer = "" },
		func(c *Config) { c.Issuer = "http://127.0.0.1:1?x=1" },
	}
	for i, mutate := range bad {
		c := good
		mutate(&c)
		if _, err := NewProvider(c); err == nil {
			t.Errorf("bad config %d accepted: %+v", i, c)
		}
	}
}
